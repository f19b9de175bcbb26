import { Logger } from '@nestjs/common';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { FakeRetryEnvironment, FakeTransport } from '../testing/fake-transport';
import { RetryPolicy } from '../retry/retry.policy';
import { ErrorBodyParser } from '../upstream/map-axios-error';
import {
  UpstreamError,
  UpstreamNotFoundError,
  UpstreamTransientError,
} from '../upstream/upstream.error';
import { UpstreamHttp, UpstreamHttpOptions } from './upstream-http';

const parseErrorBody: ErrorBodyParser = (body) => {
  const wire = (body ?? {}) as { message?: string };
  return { message: wire.message };
};

const retry: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  maxTotalMs: 60_000,
};

/** A body that sends `chunks` then drops the connection the way Node's socket does. */
function brokenBody(chunks: string[], code = 'ECONNRESET'): Readable {
  return Readable.from(
    (async function* () {
      for (const chunk of chunks) {
        yield Buffer.from(chunk);
      }
      await Promise.resolve();
      throw Object.assign(new Error('aborted'), { code });
    })(),
  );
}

function body(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}

describe('UpstreamHttp', () => {
  let transport: FakeTransport;
  let env: FakeRetryEnvironment;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    transport = new FakeTransport();
    env = new FakeRetryEnvironment();
  });

  function create(overrides: Partial<UpstreamHttpOptions> = {}): UpstreamHttp {
    return new UpstreamHttp({
      service: 'mlflow',
      baseUrl: 'http://mlflow:5000/',
      timeoutMs: 5000,
      retry,
      parseErrorBody,
      adapter: transport.adapter,
      retryEnvironment: env,
      ...overrides,
    });
  }

  describe('request', () => {
    it('sends method, path, query, body and headers, and returns the body', async () => {
      const sut = create();
      transport.reply(200, { ok: true });

      const result = await sut.request<{ ok: boolean }>({
        method: 'POST',
        path: '/api/thing',
        query: { a: 'x', skipped: undefined, list: ['p', 'q'] },
        body: { name: 'm' },
        headers: { 'X-Trace': 't1' },
        timeoutMs: 1234,
      });

      expect(result).toEqual({ ok: true });
      const [sent] = transport.requests;
      expect(sent.method).toBe('POST');
      expect(sent.fullUrl).toBe('http://mlflow:5000/api/thing?a=x&list=p&list=q');
      expect(sent.params).toEqual({ a: 'x', list: ['p', 'q'] });
      expect(sent.body).toEqual({ name: 'm' });
      expect(sent.headers['x-trace']).toBe('t1');
      expect(sent.headers.accept).toBe('application/json');
      expect(sent.timeout).toBe(1234);
    });

    it('uses the configured timeout when the request sets none', async () => {
      const sut = create();
      transport.reply(200, {});

      await sut.request({ method: 'GET', path: '/x' });

      expect(transport.requests[0].timeout).toBe(5000);
    });

    it('asks authorize for the credentials headers before every attempt', async () => {
      let asked = 0;
      const sut = create({
        authorize: () => Promise.resolve({ Authorization: `Bearer token-${++asked}` }),
      });
      transport.reply(503, {}).reply(200, { ok: true });

      await sut.request({ method: 'GET', path: '/x' });

      expect(transport.requests.map((r) => r.headers.authorization)).toEqual([
        'Bearer token-1',
        'Bearer token-2',
      ]);
    });

    it('sends no credentials when the request opts out', async () => {
      const sut = create({ authorize: () => Promise.resolve({ Authorization: 'Bearer t' }) });
      transport.reply(200, {});

      await sut.request({ method: 'GET', path: '/health', authenticate: false });

      expect(transport.requests[0].headers.authorization).toBeUndefined();
    });

    it('retries a transient failure of a GET until it succeeds', async () => {
      const sut = create();
      transport.reply(503, {}).fail('ECONNRESET').reply(200, { ok: true });

      await expect(sut.request({ method: 'GET', path: '/x' })).resolves.toEqual({ ok: true });
      expect(transport.requests).toHaveLength(3);
      expect(env.sleeps).toHaveLength(2);
    });

    it('does not retry a failure that is not transient', async () => {
      const sut = create();
      transport.reply(404, { message: 'no such thing' });

      await expect(sut.request({ method: 'GET', path: '/x' })).rejects.toBeInstanceOf(
        UpstreamNotFoundError,
      );
      expect(transport.requests).toHaveLength(1);
    });

    it('gives up after maxRetries and records the attempts on the error', async () => {
      const sut = create({ retry: { ...retry, maxRetries: 2 } });
      transport.reply(503, {}).reply(503, {}).reply(503, { message: 'still down' });

      const error = (await sut
        .request({ method: 'GET', path: '/x' })
        .catch((e: unknown) => e)) as UpstreamError;

      expect(error).toBeInstanceOf(UpstreamTransientError);
      expect(error.details.attempts).toBe(3);
      expect(error.message).toContain('still down');
      expect(transport.requests).toHaveLength(3);
    });

    it('waits as long as a 429 Retry-After asks, within the maximum delay', async () => {
      const sut = create();
      transport.reply(429, {}, { 'retry-after': '0.7' }).reply(200, {});

      await sut.request({ method: 'GET', path: '/x' });

      expect(env.sleeps).toEqual([700]);
    });

    it.each(['ECONNREFUSED', 'ENOTFOUND'])(
      'retries a non-idempotent POST after %s, which never reached the server',
      async (code) => {
        const sut = create();
        transport.fail(code).reply(200, { created: true });

        await expect(sut.request({ method: 'POST', path: '/create', body: {} })).resolves.toEqual({
          created: true,
        });
        expect(transport.requests).toHaveLength(2);
      },
    );

    it('does not retry a non-idempotent POST answered 503', async () => {
      const sut = create();
      transport.reply(503, {}).reply(200, {});

      const error = (await sut
        .request({ method: 'POST', path: '/create', body: {} })
        .catch((e: unknown) => e)) as UpstreamError;

      expect(error).toBeInstanceOf(UpstreamTransientError);
      expect(error.details.attempts).toBe(1);
      expect(transport.requests).toHaveLength(1);
    });

    it('does not retry a non-idempotent POST whose connection was reset', async () => {
      const sut = create();
      transport.fail('ECONNRESET').reply(200, {});

      await expect(
        sut.request({ method: 'POST', path: '/create', body: {} }),
      ).rejects.toBeInstanceOf(UpstreamTransientError);
      expect(transport.requests).toHaveLength(1);
    });

    it('retries a POST marked idempotent like a GET', async () => {
      const sut = create();
      transport.reply(503, {}).reply(200, {});

      await sut.request({ method: 'POST', path: '/search', body: {}, idempotent: true });

      expect(transport.requests).toHaveLength(2);
    });

    it('gives the whole response from send', async () => {
      const sut = create();
      transport.reply(201, { id: 1 }, { location: '/things/1' });

      const response = await sut.send({ method: 'PUT', path: '/things/1', body: {} });

      expect(response.status).toBe(201);
      expect(response.headers.location).toBe('/things/1');
    });
  });

  describe('download', () => {
    let dir: string;

    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'upstream-http-spec-'));
    });

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('streams the body into the file and returns its size', async () => {
      const sut = create({ authorize: () => Promise.resolve({ Authorization: 'Bearer t' }) });
      transport.replyWith(() => ({ status: 200, data: body('hello world') }));
      const file = path.join(dir, 'out.bin');

      const bytes = await sut.download({ path: '/files/out.bin', timeoutMs: 99_000 }, file, 11);

      expect(bytes).toBe(11);
      await expect(readFile(file, 'utf8')).resolves.toBe('hello world');
      const [sent] = transport.requests;
      expect(sent.method).toBe('GET');
      expect(sent.url).toBe('/files/out.bin');
      expect(sent.responseType).toBe('stream');
      expect(sent.timeout).toBe(99_000);
      expect(sent.headers.authorization).toBe('Bearer t');
    });

    it('retries the whole file when the body is shorter than expected', async () => {
      const sut = create();
      transport
        .replyWith(() => ({ status: 200, data: body('hello') }))
        .replyWith(() => ({ status: 200, data: body('hello world') }));
      const file = path.join(dir, 'out.bin');

      await expect(sut.download({ path: '/f' }, file, 11)).resolves.toBe(11);
      await expect(readFile(file, 'utf8')).resolves.toBe('hello world');
      expect(transport.requests).toHaveLength(2);
    });

    it('retries the whole file when the connection drops mid-body with ECONNRESET', async () => {
      const sut = create();
      transport
        .replyWith(() => ({ status: 200, data: brokenBody(['hello ']) }))
        .replyWith(() => ({ status: 200, data: body('hello world') }));
      const file = path.join(dir, 'out.bin');

      await expect(sut.download({ path: '/f' }, file)).resolves.toBe(11);
      await expect(readFile(file, 'utf8')).resolves.toBe('hello world');
      expect(transport.requests).toHaveLength(2);
    });

    it('fails as a transient error once a body keeps breaking past maxRetries', async () => {
      const sut = create({ retry: { ...retry, maxRetries: 1 } });
      transport
        .replyWith(() => ({ status: 200, data: brokenBody(['a']) }))
        .replyWith(() => ({ status: 200, data: brokenBody(['a']) }));

      const error = (await sut
        .download({ path: '/f' }, path.join(dir, 'out.bin'))
        .catch((e: unknown) => e)) as UpstreamError;

      expect(error).toBeInstanceOf(UpstreamTransientError);
      expect(error.reason).toBe('connection_reset');
      expect(error.details.attempts).toBe(2);
    });

    it('does not retry a failure to write the file', async () => {
      const sut = create();
      transport.replyWith(() => ({ status: 200, data: body('x') }));

      await expect(
        sut.download({ path: '/f' }, path.join(dir, 'missing-dir', 'out.bin')),
      ).rejects.toMatchObject({ code: 'ENOENT' });
      expect(transport.requests).toHaveLength(1);
    });

    it('maps a 404 for the file to not found', async () => {
      const sut = create();
      transport.reply(404, { message: 'no such file' });

      await expect(sut.download({ path: '/f' }, path.join(dir, 'out.bin'))).rejects.toBeInstanceOf(
        UpstreamNotFoundError,
      );
    });
  });
});
