import Fastify, { FastifyInstance } from 'fastify';
import { ANONYMOUS, Principal, attachPrincipal } from '../auth/principal';
import { ClusterConfig } from '../config/cluster.config';
import { MemoryStateStore } from './memory-state-store';
import { RateLimiter, registerRateLimit } from './rate-limit';
import { StateStore, StoreUnavailableError } from './state-store';

const WINDOW_MS = 60_000;

function limiter(store: StateStore, limit = 3): RateLimiter {
  return new RateLimiter(store, { rateLimit: { limit, windowMs: WINDOW_MS } } as ClusterConfig);
}

describe(RateLimiter.name, () => {
  const start = 1_800_000_000_000; // a window boundary: a multiple of 60 s

  it('allows `limit` requests per client per window, then refuses until the window ends', async () => {
    const sut = limiter(new MemoryStateStore(() => start));

    const decisions = [];
    for (let n = 0; n < 4; n++) decisions.push(await sut.take('10.0.0.1', start + 1000));

    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(decisions.map((d) => d.remaining)).toEqual([2, 1, 0, 0]);
    expect(decisions[3].resetSeconds).toBe(59);
    expect((await sut.take('10.0.0.1', start + WINDOW_MS)).allowed).toBe(true);
  });

  it('counts each client on its own', async () => {
    const sut = limiter(new MemoryStateStore(() => start), 1);

    expect((await sut.take('10.0.0.1', start)).allowed).toBe(true);
    expect((await sut.take('10.0.0.2', start)).allowed).toBe(true);
    expect((await sut.take('10.0.0.1', start)).allowed).toBe(false);
  });

  it('shares the count between instances using one store', async () => {
    const store = new MemoryStateStore(() => start);
    const [a, b] = [limiter(store), limiter(store)];

    await a.take('10.0.0.1', start);
    await b.take('10.0.0.1', start);
    await a.take('10.0.0.1', start);

    expect((await b.take('10.0.0.1', start)).allowed).toBe(false);
  });

  it('counts in this process while the store is unreachable, and never fails the request', async () => {
    const down = {
      increment: () => Promise.reject(new StoreUnavailableError('redis://r:6379/0', 'lost')),
    } as unknown as StateStore;
    const sut = limiter(down, 2);

    const allowed = [];
    for (let n = 0; n < 3; n++) allowed.push((await sut.take('10.0.0.1', Date.now())).allowed);

    expect(allowed).toEqual([true, true, false]);
    await sut.onModuleDestroy();
  });
});

describe(registerRateLimit.name, () => {
  const LIMIT = 2;
  const PROBES = ['/health/live', '/health/ready', '/ping', '/v2/health/live', '/metrics'];

  async function appWith(
    options: { trustProxy?: false | string[]; principal?: Principal } = {},
  ): Promise<FastifyInstance> {
    const app = Fastify({ trustProxy: options.trustProxy ?? false });
    if (options.principal) {
      const principal = options.principal;
      app.addHook('onRequest', (request, _reply, done) => {
        attachPrincipal(request, principal);
        done();
      });
    }
    registerRateLimit(app, limiter(new MemoryStateStore(), LIMIT));
    // A body parser that fails the test if a refused request ever reaches it.
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) =>
      done(null, JSON.parse(body as string)),
    );
    for (const url of PROBES.concat(['/v1/models', '/invocations', '/v2/models/:name/infer']))
      app.all(url, () => ({ ok: true }));
    await app.ready();
    return app;
  }

  const from = (remoteAddress: string, headers: Record<string, string> = {}) => ({
    method: 'GET' as const,
    url: '/v1/models',
    remoteAddress,
    headers,
  });

  it('answers 429 with Retry-After in each route protocol, before the body is parsed', async () => {
    const sut = await appWith();
    for (let n = 0; n < LIMIT; n++)
      expect((await sut.inject(from('10.0.0.1'))).statusCode).toBe(200);

    const api = await sut.inject(from('10.0.0.1'));
    const notJson = { 'content-type': 'application/json' };
    const mlflow = await sut.inject({
      method: 'POST',
      url: '/invocations',
      remoteAddress: '10.0.0.1',
      headers: notJson,
      payload: '{ not json',
    });
    const oip = await sut.inject({
      method: 'POST',
      url: '/v2/models/iris/infer',
      remoteAddress: '10.0.0.1',
      headers: notJson,
      payload: '{ not json',
    });

    expect(api.statusCode).toBe(429);
    expect(api.json()).toMatchObject({ statusCode: 429, error: 'REQUEST_LIMIT_EXCEEDED' });
    expect(api.json().message).toMatch(/at most 2 requests per 60 s/);
    expect(Number(api.headers['retry-after'])).toBeGreaterThan(0);
    expect(api.headers['ratelimit-remaining']).toBe('0');
    // Had the body been parsed, these would be 400s.
    expect(mlflow.statusCode).toBe(429);
    expect(mlflow.json()).toMatchObject({ error_code: 'REQUEST_LIMIT_EXCEEDED' });
    expect(oip.statusCode).toBe(429);
    expect(oip.json().error).toMatch(/rate limit exceeded/);
    await sut.close();
  });

  it.each(PROBES)('never limits %s', async (url) => {
    const sut = await appWith();
    for (let n = 0; n < LIMIT + 2; n++) {
      const reply = await sut.inject({ url, remoteAddress: '10.0.0.1' });
      expect(reply.statusCode).toBe(200);
      expect(reply.headers['ratelimit-limit']).toBeUndefined();
    }
    await sut.close();
  });

  it('keys an authenticated caller by its key name, whatever address it calls from', async () => {
    const principal: Principal = { name: 'ci', kind: 'api-key', scopes: new Set(['read']) };
    const sut = await appWith({ principal });

    const statuses = [];
    for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
      statuses.push((await sut.inject(from(address))).statusCode);

    expect(statuses).toEqual([200, 200, 429]);
    await sut.close();
  });

  it('keys callers by address when authentication is off (everyone is anonymous)', async () => {
    const sut = await appWith({ principal: ANONYMOUS });

    const statuses = [];
    for (const address of ['10.0.0.1', '10.0.0.1', '10.0.0.2'])
      statuses.push((await sut.inject(from(address))).statusCode);

    expect(statuses).toEqual([200, 200, 200]);
    await sut.close();
  });

  it('does not let a client outside API_TRUST_PROXY choose its address with X-Forwarded-For', async () => {
    const sut = await appWith({ trustProxy: ['127.0.0.1'] });

    const statuses = [];
    for (let n = 0; n < LIMIT + 1; n++) {
      const reply = await sut.inject(from('203.0.113.9', { 'x-forwarded-for': `198.51.100.${n}` }));
      statuses.push(reply.statusCode);
    }

    expect(statuses).toEqual([200, 200, 429]);
    await sut.close();
  });

  it('believes X-Forwarded-For from a listed proxy', async () => {
    const sut = await appWith({ trustProxy: ['127.0.0.1'] });

    const statuses = [];
    for (let n = 0; n < LIMIT + 1; n++) {
      const reply = await sut.inject(from('127.0.0.1', { 'x-forwarded-for': `198.51.100.${n}` }));
      statuses.push(reply.statusCode);
    }

    expect(statuses).toEqual([200, 200, 200]);
    await sut.close();
  });
});
