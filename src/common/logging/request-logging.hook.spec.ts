import { Logger } from '@nestjs/common';
import Fastify, { FastifyInstance } from 'fastify';
import { JsonLogger } from './json.logger';
import { registerRequestLogging } from './request-logging.hook';

// Both ways a line can go: through Nest's Logger (to whatever logger Nest
// has), and straight to the app's JsonLogger (main.ts); the lines are the same.
describe.each([
  ['through Nest’s Logger', false],
  ['straight to the JsonLogger', true],
])('registerRequestLogging, %s', (_way, direct) => {
  let lines: Record<string, unknown>[];
  let json: JsonLogger;
  let sut: FastifyInstance;

  async function app(
    requestBodies = false,
    sampling: { accessSample?: number; random?: () => number } = {},
  ): Promise<FastifyInstance> {
    const fastify = Fastify();
    registerRequestLogging(fastify, {
      requestBodies,
      ...sampling,
      log: direct ? json : undefined,
    });
    fastify.post('/v1/models/:ref/invocations', (_request, reply) => {
      new Logger('Handler').log('predicting');
      void reply
        .header('x-model-name', 'iris')
        .header('x-model-version', '3')
        .header('x-modelgate-variant', 'challenger');
      return { ok: true };
    });
    fastify.get('/health/ready', () => ({ status: 'ok' }));
    fastify.get('/fails', (_request, reply) => reply.status(503).send({ down: true }));
    fastify.get('/refuses', (_request, reply) => reply.status(400).send({ bad: true }));
    await fastify.ready();
    return fastify;
  }

  beforeEach(async () => {
    lines = [];
    json = new JsonLogger({
      format: 'json',
      level: 'debug',
      write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    Logger.overrideLogger(json);
    sut = await app();
  });

  afterEach(async () => {
    await sut.close();
    Logger.overrideLogger(false);
  });

  const requestLines = () => lines.filter((l) => l.msg === 'request');

  it('returns the caller’s X-Request-Id and logs every line of the request with it', async () => {
    const reply = await sut.inject({
      method: 'POST',
      url: '/v1/models/iris@champion/invocations?token=secret-q',
      headers: { 'x-request-id': 'abc-1', authorization: 'Bearer very-secret-token' },
      payload: { inputs: [[1, 2, 3, 4]] },
    });

    expect(reply.headers['x-request-id']).toBe('abc-1');
    expect(lines.find((l) => l.msg === 'predicting')).toMatchObject({ requestId: 'abc-1' });
    expect(requestLines()).toEqual([
      expect.objectContaining({
        level: 'info',
        context: 'Http',
        requestId: 'abc-1',
        method: 'POST',
        route: '/v1/models/:ref/invocations',
        path: '/v1/models/iris@champion/invocations',
        status: 200,
        ms: expect.any(Number),
        model: 'iris',
        version: '3',
        variant: 'challenger',
      }),
    ]);
    const all = JSON.stringify(lines);
    expect(all).not.toContain('very-secret-token');
    expect(all).not.toContain('secret-q');
    expect(all).not.toContain('inputs');
  });

  it('makes an id when the caller sends none', async () => {
    const reply = await sut.inject({ method: 'GET', url: '/health/ready' });

    expect(reply.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(requestLines()[0]).toMatchObject({
      level: 'debug',
      requestId: reply.headers['x-request-id'],
    });
  });

  it('logs a request to no route under the route "unmatched"', async () => {
    await sut.inject({ method: 'GET', url: '/no/such/thing' });

    expect(requestLines()[0]).toMatchObject({ route: 'unmatched', status: 404 });
  });

  it('redacts a credential the caller put in the path, and never logs the query string', async () => {
    await sut.inject({
      method: 'POST',
      url: '/v1/models/token=s3cr3t-in-path/invocations?api_key=in-query',
      payload: {},
    });

    const [line] = requestLines();
    expect(line.path).toBe('/v1/models/token=[redacted]');
    expect(JSON.stringify(lines)).not.toMatch(/s3cr3t-in-path|in-query/);
  });

  it('adds the body, redacted, when LOG_REQUEST_BODIES is on', async () => {
    const withBodies = await app(true);
    try {
      await withBodies.inject({
        method: 'POST',
        url: '/v1/models/iris/invocations',
        payload: { inputs: [[1]], password: 'pw-in-body' },
      });
    } finally {
      await withBodies.close();
    }

    expect(requestLines()[0].body).toEqual({ inputs: [[1]], password: '[redacted]' });
  });

  it('logs only the sampled share of answers below 400 with LOG_ACCESS_SAMPLE', async () => {
    // Draws alternate below and above the sample of 0.5: every other 200 is logged.
    let draw = 0;
    const sampled = await app(false, {
      accessSample: 0.5,
      random: () => (draw++ % 2 === 0 ? 0.25 : 0.75),
    });
    try {
      for (let i = 0; i < 4; i++) await sampled.inject({ method: 'GET', url: '/health/ready' });
    } finally {
      await sampled.close();
    }

    expect(requestLines()).toHaveLength(2);
    expect(draw).toBe(4);
  });

  it('always logs 4xx and 5xx answers, whatever the sample', async () => {
    const none = await app(false, { accessSample: 0, random: () => 0.5 });
    try {
      await none.inject({ method: 'GET', url: '/health/ready' });
      await none.inject({ method: 'GET', url: '/refuses' });
      await none.inject({ method: 'GET', url: '/fails' });
    } finally {
      await none.close();
    }

    expect(requestLines().map((l) => l.status)).toEqual([400, 503]);
  });
});

describe('registerRequestLogging with a log given', () => {
  it('writes its lines there, not to Nest’s logger', async () => {
    const given: Record<string, unknown>[] = [];
    const nest: string[] = [];
    Logger.overrideLogger(
      new JsonLogger({ format: 'json', level: 'debug', write: (line) => nest.push(line) }),
    );
    const fastify = Fastify();
    registerRequestLogging(fastify, {
      requestBodies: false,
      log: new JsonLogger({
        format: 'json',
        level: 'debug',
        write: (line) => given.push(JSON.parse(line) as Record<string, unknown>),
      }),
    });
    fastify.get('/fails', (_request, reply) => reply.status(503).send({}));
    try {
      await fastify.inject({ method: 'GET', url: '/fails' });
    } finally {
      await fastify.close();
      Logger.overrideLogger(false);
    }

    expect(given).toEqual([
      expect.objectContaining({ msg: 'request', level: 'warn', status: 503 }),
    ]);
    expect(nest).toEqual([]);
  });
});
