import { parseModelReference } from '../common/model-reference';
import { Logger } from '@nestjs/common';
import Fastify, { FastifyInstance, FastifyRequest } from 'fastify';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { parseApiKeys } from '../config/api-keys.parser';
import { AuthConfig } from '../config/auth.config';
import { ModelsConfig } from '../config/models.config';
import { registerAuthentication } from './authentication.hook';
import { Authenticator } from './authenticator.service';
import { principalOf } from './principal';

const ADMIN = 'mg_admin-0123456789abcdefghij';
const READER = 'mg_reader-0123456789abcdefghij';
const IRIS_ONLY = 'mg_iris-only-0123456789abcdefghij';
const METRICS_TOKEN = 'metrics-token-0123456789';
/** Three base64url parts: a JWT as far as its shape goes. */
const JWT_SHAPED = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';

function config(overrides: Partial<AuthConfig> = {}): AuthConfig {
  return {
    enabled: true,
    apiKeys: parseApiKeys(
      `ops:admin=${ADMIN};dash:read=${READER};iris:predict+read+reload:iris*=${IRIS_ONLY}`,
      'API_KEYS',
    ),
    jwt: undefined,
    metricsToken: undefined,
    docs: 'open',
    ...overrides,
  };
}

/** Fastify with the real hook, and routes shaped as the app's, each answering its caller's name. */
function appWith(auth: AuthConfig, parsed: string[] = []): FastifyInstance {
  const fastify = Fastify();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    parsed.push('body read');
    payload.resume();
    payload.on('end', () => done(null, {}));
  });
  registerAuthentication(
    fastify,
    new Authenticator(auth, {
      models: [parseModelReference('models:/iris@champion')],
    } as ModelsConfig),
  );
  const handler = (request: FastifyRequest) => ({
    caller: principalOf(request)?.name ?? null,
  });
  for (const url of ['/health/live', '/ping', '/v2/health/ready', '/v2/models/:name/ready']) {
    fastify.get(url, handler);
  }
  for (const url of ['/', '/v1/cluster', '/v1/models/:name', '/v2/models/:name', '/metrics']) {
    fastify.get(url, handler);
  }
  fastify.get('/docs/openapi.json', handler);
  for (const url of [
    '/invocations',
    '/v1/models/:ref/invocations',
    '/v2/models/:name/infer',
    '/v1/models/:name/reload',
    '/v1/training/runs',
    '/v1/hooks/airflow',
  ]) {
    fastify.post(url, handler);
  }
  return fastify;
}

const POST_BODY = { payload: '{}', headers: { 'content-type': 'application/json' } };

describe('registerAuthentication', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  let sut: FastifyInstance;
  beforeEach(() => {
    sut = appWith(config());
  });
  afterEach(() => sut.close());

  it.each([
    ['/v1/cluster', 'GET', { statusCode: 401, error: 'UNAUTHENTICATED' }],
    ['/invocations', 'POST', { error_code: 'UNAUTHENTICATED' }],
    ['/v2/models/iris/infer', 'POST', { error: expect.stringContaining('credentials required') }],
  ] as const)(
    'refuses %s without credentials: 401, a Bearer challenge, the route’s error format',
    async (url, method, body) => {
      const reply = await sut.inject({ method, url, ...(method === 'POST' ? POST_BODY : {}) });

      expect(reply.statusCode).toBe(401);
      expect(reply.headers['www-authenticate']).toBe('Bearer realm="modelgate"');
      expect(reply.json()).toEqual(expect.objectContaining(body));
    },
  );

  it('refuses a wrong key with 401, and a JWT-looking one with error="invalid_token"', async () => {
    const wrong = await sut.inject({ url: '/v1/cluster', headers: { 'x-api-key': `${ADMIN}x` } });
    const jwt = await sut.inject({
      url: '/v1/cluster',
      headers: { authorization: `Bearer ${JWT_SHAPED}` },
    });

    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().message).toBe('the API key or token is not valid');
    expect(jwt.statusCode).toBe(401);
    expect(jwt.headers['www-authenticate']).toBe('Bearer realm="modelgate", error="invalid_token"');
  });

  it('admits a key sent as X-API-Key or as a bearer token, and attaches its principal', async () => {
    const byHeader = await sut.inject({ url: '/v1/cluster', headers: { 'x-api-key': READER } });
    const byBearer = await sut.inject({
      url: '/v1/cluster',
      headers: { authorization: `bearer ${READER}` },
    });

    expect([byHeader.statusCode, byBearer.statusCode]).toEqual([200, 200]);
    expect(byHeader.json()).toEqual({ caller: 'dash' });
    expect(byBearer.json()).toEqual({ caller: 'dash' });
  });

  it('refuses a key without the route’s scope with 403 naming the scope', async () => {
    const api = await sut.inject({
      method: 'POST',
      url: '/v1/training/runs',
      ...POST_BODY,
      headers: { ...POST_BODY.headers, 'x-api-key': READER },
    });
    const mlflow = await sut.inject({
      method: 'POST',
      url: '/invocations',
      ...POST_BODY,
      headers: { ...POST_BODY.headers, 'x-api-key': READER },
    });

    expect(api.statusCode).toBe(403);
    expect(api.json()).toEqual({
      statusCode: 403,
      error: 'PERMISSION_DENIED',
      message: 'this route needs the "train" scope',
    });
    expect(mlflow.statusCode).toBe(403);
    expect(mlflow.json()).toEqual({
      error_code: 'PERMISSION_DENIED',
      message: 'this route needs the "predict" scope',
    });
  });

  it('lets admin call every route', async () => {
    const headers = { 'x-api-key': ADMIN };
    const reload = await sut.inject({ method: 'POST', url: '/v1/models/wine/reload', headers });
    const cluster = await sut.inject({ url: '/v1/cluster', headers });

    expect([reload.statusCode, cluster.statusCode]).toEqual([200, 200]);
  });

  it('holds a key limited to some models to those, on predictions, metadata and reloads', async () => {
    const send = (method: 'GET' | 'POST', url: string) =>
      sut.inject({
        method,
        url,
        headers: { 'x-api-key': IRIS_ONLY, 'content-type': 'application/json' },
        payload: method === 'POST' ? '{}' : undefined,
      });

    const allowed = await Promise.all([
      send('POST', '/invocations'), // the default model, iris
      send('POST', '/v1/models/iris-classifier@champion/invocations'),
      send('POST', '/v2/models/iris/infer'),
      send('GET', '/v1/models/iris'),
      send('POST', '/v1/models/iris/reload'),
    ]);
    const refused = await Promise.all([
      send('POST', '/v1/models/wine@champion/invocations'),
      send('POST', '/v1/models/models:%2Fwine%2F3/invocations'),
      send('POST', '/v2/models/wine/infer'),
      send('GET', '/v2/models/wine'),
      send('POST', '/v1/models/wine/reload'),
    ]);

    expect(allowed.map((r) => r.statusCode)).toEqual([200, 200, 200, 200, 200]);
    expect(refused.map((r) => r.statusCode)).toEqual([403, 403, 403, 403, 403]);
    expect(refused[0].json().message).toBe('this credential may not use the model "wine"');
  });

  it('leaves probes and the Airflow hook open', async () => {
    for (const url of ['/health/live', '/ping', '/v2/health/ready', '/v2/models/wine/ready']) {
      expect((await sut.inject({ url })).statusCode).toBe(200);
    }
    expect(
      (await sut.inject({ method: 'POST', url: '/v1/hooks/airflow', ...POST_BODY })).statusCode,
    ).toBe(200);
  });

  it('leaves an unknown route to the router: 404, not 401', async () => {
    expect((await sut.inject({ url: '/no/such/route' })).statusCode).toBe(404);
  });

  it('keeps /metrics open without METRICS_TOKEN, and behind it when set', async () => {
    expect((await sut.inject({ url: '/metrics' })).statusCode).toBe(200);

    const guarded = appWith(config({ metricsToken: METRICS_TOKEN }));
    const without = await guarded.inject({ url: '/metrics' });
    const withKey = await guarded.inject({ url: '/metrics', headers: { 'x-api-key': ADMIN } });
    const withToken = await guarded.inject({
      url: '/metrics',
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });

    expect([without.statusCode, withKey.statusCode, withToken.statusCode]).toEqual([401, 401, 200]);
    expect(without.headers['www-authenticate']).toBe('Bearer realm="modelgate"');
    await guarded.close();
  });

  it.each([
    ['open', undefined, 200],
    ['auth', undefined, 401],
    ['auth', READER, 200],
    ['off', ADMIN, 404],
  ] as const)('with API_DOCS=%s and key %s answers /docs with %i', async (docs, key, status) => {
    const app = appWith(config({ docs }));

    const reply = await app.inject({
      url: '/docs/openapi.json',
      headers: key ? { 'x-api-key': key } : {},
    });

    expect(reply.statusCode).toBe(status);
    await app.close();
  });

  it('with API_AUTH=off lets anyone in as "anonymous"', async () => {
    const open = appWith(config({ enabled: false, apiKeys: [] }));

    const reply = await open.inject({ method: 'POST', url: '/v1/training/runs', ...POST_BODY });

    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ caller: 'anonymous' });
    await open.close();
  });

  it('answers JWT callers 503 while the JWKS is unreachable, and API keys keep working', async () => {
    const app = appWith(
      config({
        jwt: {
          jwksUrl: 'http://127.0.0.1:9/jwks.json', // discard port: nothing listens
          issuer: 'https://idp.test/',
          audience: 'modelgate',
          scopesClaim: undefined,
          algorithms: ['RS256'],
          clockToleranceSeconds: 30,
          jwksTimeoutMs: 1000,
          jwksCooldownMs: 0,
        },
      }),
    );

    const jwt = await app.inject({
      url: '/v1/cluster',
      headers: { authorization: `Bearer ${JWT_SHAPED}` },
    });
    const key = await app.inject({
      url: '/v1/cluster',
      headers: { authorization: `Bearer ${READER}` },
    });

    expect(jwt.statusCode).toBe(503);
    expect(jwt.headers['retry-after']).toBe('5');
    expect(jwt.json().error).toBe('TEMPORARILY_UNAVAILABLE');
    expect(key.statusCode).toBe(200);
    await app.close();
  });

  it('refuses a request before reading its body: a body that never ends still gets 401', async () => {
    const parsed: string[] = [];
    const app = appWith(config(), parsed);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;

    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/invocations',
        headers: { 'content-type': 'application/json', 'content-length': String(1024 ** 3) },
      });
      req.on('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', reject);
      req.write(Buffer.alloc(64 * 1024, 0x20)); // 64 KB of a 1 GB body, and no more, ever
    });

    expect(status).toBe(401);
    expect(parsed).toEqual([]);
    await app.close();
  });
});
