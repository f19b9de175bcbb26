import { JWK, KeyLike, SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ROUTE_SCOPES } from '../src/auth/route-scopes';
import { RunningServer, startServer, stackEnv } from './support/app';
import { TEST_API_KEY, TEST_API_KEYS } from './support/credentials';
import { Reply, request, waitFor } from './support/http';
import { registerDemoModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const ISSUER = 'https://idp.modelgate.test/';
const AUDIENCE = 'modelgate-e2e';
const METRICS_TOKEN = 'metrics-token-for-the-e2e-test';
const CALLBACK_TOKEN = 'callback-token-for-the-e2e-test';

/** One key per scope (and one limited to other models), as `npm run key` would make them. */
const KEYS = {
  predict: 'mg_e2e-predict-0123456789abcdefghijkl',
  read: 'mg_e2e-read-0123456789abcdefghijklmnop',
  reload: 'mg_e2e-reload-0123456789abcdefghijklmn',
  train: 'mg_e2e-train-0123456789abcdefghijklmno',
  others: 'mg_e2e-others-0123456789abcdefghijklmn',
};
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const API_KEYS = [
  TEST_API_KEYS,
  `p:predict=sha256:${sha256(KEYS.predict)}`,
  `r:read=sha256:${sha256(KEYS.read)}`,
  `l:reload=sha256:${sha256(KEYS.reload)}`,
  `t:train=sha256:${sha256(KEYS.train)}`,
  `o:predict+read+reload:other-*=sha256:${sha256(KEYS.others)}`,
].join(';');

type Scope = 'predict' | 'read' | 'reload' | 'train';
type Protocol = 'mlflow' | 'open-inference' | 'api';

interface Route {
  method: 'GET' | 'POST';
  path: string;
  scope: Scope;
  protocol: Protocol;
  body?: unknown;
  /** What the route answers a caller holding its scope (topology: 503 while a dependency is down). */
  status: number | number[];
  /** Uses the model named in the URL (or the default model): keys limited to other models get 403. */
  model?: boolean;
}

/** A key that holds some scope, but not this one. */
const WRONG_SCOPE: Record<Scope, keyof typeof KEYS> = {
  predict: 'read',
  read: 'predict',
  reload: 'read',
  train: 'predict',
};

interface TokenOptions {
  iss?: string;
  aud?: string;
  exp?: string | number;
  key?: { kid: string; privateKey: KeyLike };
}

/** A JWKS endpoint on 127.0.0.1, as an identity provider serves it; the test rotates its keys. */
class IdentityProvider {
  keys: { kid: string; privateKey: KeyLike; jwk: JWK }[] = [];
  down = false;
  private readonly server = http.createServer((_req, res) => {
    if (this.down) return void res.writeHead(503).end();
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ keys: this.keys.map((k) => k.jwk) }));
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  async rotate(kid: string): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    this.keys = [{ kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256' } }];
  }

  token(
    claims: Record<string, unknown>,
    { iss = ISSUER, aud = AUDIENCE, exp = '5m', key = this.keys[0] }: TokenOptions = {},
  ): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setSubject('e2e-client')
      .setIssuer(iss)
      .setAudience(aud)
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(key.privateKey);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('Authentication and scopes on the real app', () => {
  const MODEL = `auth-iris-${Date.now()}`;
  let stack: StackInfo;
  let cacheDir: string;
  let server: RunningServer;
  let idp: IdentityProvider;
  const url = (p: string) => `${server.url}${p}`;

  const ROW = [5.1, 3.5, 1.4, 0.2];
  const OIP = { inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 4], data: ROW }] };
  const routes = (): Route[] => [
    {
      method: 'POST',
      path: '/invocations',
      scope: 'predict',
      protocol: 'mlflow',
      body: { inputs: [ROW] },
      status: 200,
      model: true,
    },
    {
      method: 'POST',
      path: `/v1/models/${MODEL}@champion/invocations`,
      scope: 'predict',
      protocol: 'mlflow',
      body: { inputs: [ROW] },
      status: 200,
      model: true,
    },
    {
      method: 'POST',
      path: `/v1/models/${MODEL}/versions/1/invocations`,
      scope: 'predict',
      protocol: 'mlflow',
      body: { inputs: [ROW] },
      status: 200,
      model: true,
    },
    {
      method: 'POST',
      path: `/v2/models/${MODEL}/infer`,
      scope: 'predict',
      protocol: 'open-inference',
      body: OIP,
      status: 200,
      model: true,
    },
    { method: 'GET', path: '/v1/models', scope: 'read', protocol: 'api', status: 200 },
    {
      method: 'GET',
      path: `/v1/models/${MODEL}`,
      scope: 'read',
      protocol: 'api',
      status: 200,
      model: true,
    },
    { method: 'GET', path: '/v2', scope: 'read', protocol: 'open-inference', status: 200 },
    {
      method: 'GET',
      path: `/v2/models/${MODEL}`,
      scope: 'read',
      protocol: 'open-inference',
      status: 200,
      model: true,
    },
    { method: 'GET', path: '/v1/cluster', scope: 'read', protocol: 'api', status: 200 },
    { method: 'GET', path: '/health/topology', scope: 'read', protocol: 'api', status: [200, 503] },
    { method: 'GET', path: '/status', scope: 'read', protocol: 'api', status: 200 },
    { method: 'GET', path: '/', scope: 'read', protocol: 'api', status: 200 },
    { method: 'GET', path: '/version', scope: 'read', protocol: 'mlflow', status: 200 },
    {
      method: 'POST',
      path: `/v1/models/${MODEL}/reload`,
      scope: 'reload',
      protocol: 'api',
      body: {},
      status: 200,
      model: true,
    },
    // A body the route's validation refuses: no DAG run is started, and the 400 proves auth let it through.
    {
      method: 'POST',
      path: '/v1/training/runs',
      scope: 'train',
      protocol: 'api',
      body: { dagId: 'not a dag id!' },
      status: 400,
    },
    {
      method: 'GET',
      path: '/v1/training/runs/modelgate_retrain/no-such-run-auth-e2e',
      scope: 'train',
      protocol: 'api',
      status: 404,
    },
  ];

  const call = (route: Route, init: { apiKey?: string | null; headers?: Record<string, string> }) =>
    request<Record<string, unknown>>(url(route.path), {
      method: route.method,
      body: route.body,
      ...init,
    });

  /** The message of an error in any of the three formats. */
  const messageOf = (reply: Reply<Record<string, unknown>>) =>
    reply.body.message ?? reply.body.error;

  const expectFormat = (
    reply: Reply<Record<string, unknown>>,
    protocol: Protocol,
    code: string,
  ) => {
    if (protocol === 'mlflow') expect(reply.body).toMatchObject({ error_code: code });
    if (protocol === 'open-inference') expect(reply.body).toEqual({ error: expect.any(String) });
    if (protocol === 'api')
      expect(reply.body).toMatchObject({ statusCode: reply.status, error: code });
  };

  beforeAll(async () => {
    stack = sharedStack();
    await registerDemoModel(stack.mlflowUrl, {
      name: MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    idp = new IdentityProvider();
    await idp.rotate('key-1');
    const jwksUrl = await idp.start();
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-auth-'));
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${MODEL}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
      API_KEYS,
      API_CALLBACK_TOKEN: CALLBACK_TOKEN,
      API_JWT_JWKS_URL: jwksUrl,
      API_JWT_ISSUER: ISSUER,
      API_JWT_AUDIENCE: AUDIENCE,
      // The rotation test must not wait out a cooldown; production keeps the default.
      API_JWT_JWKS_COOLDOWN: '0',
      API_JWT_JWKS_TIMEOUT: '2',
    });
    await waitFor(
      () => request(url('/ping'), { apiKey: null }),
      (r) => r.status === 200,
      120_000,
    );
  });

  afterAll(async () => {
    await server?.app.close();
    await idp?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  describe('every route × credentials', () => {
    it('refuses no credentials and a wrong key with 401 and a Bearer challenge, in the route’s format', async () => {
      for (const route of routes()) {
        for (const apiKey of [null, 'mg_not-a-key-0123456789abcdefghij']) {
          const reply = await call(route, { apiKey });

          expect({ route: route.path, status: reply.status }).toEqual({
            route: route.path,
            status: 401,
          });
          expect(reply.headers.get('www-authenticate')).toBe('Bearer realm="modelgate"');
          expectFormat(reply, route.protocol, 'UNAUTHENTICATED');
        }
      }
    });

    it('refuses a key without the route’s scope with 403 naming the scope', async () => {
      for (const route of routes()) {
        const reply = await call(route, { apiKey: KEYS[WRONG_SCOPE[route.scope]] });

        expect({ route: route.path, status: reply.status }).toEqual({
          route: route.path,
          status: 403,
        });
        expect(messageOf(reply)).toBe(`this route needs the "${route.scope}" scope`);
        expectFormat(reply, route.protocol, 'PERMISSION_DENIED');
      }
    });

    it('admits a key with the route’s scope, as X-API-Key and as a bearer token', async () => {
      for (const route of routes()) {
        const key = KEYS[route.scope];
        const byHeader = await call(route, { apiKey: key });
        const byBearer = await call(route, {
          apiKey: null,
          headers: { authorization: `Bearer ${key}` },
        });

        const expected = ([] as number[]).concat(route.status);
        expect({ route: route.path, ok: expected.includes(byHeader.status) }).toEqual({
          route: route.path,
          ok: true,
        });
        expect({ route: route.path, ok: expected.includes(byBearer.status) }).toEqual({
          route: route.path,
          ok: true,
        });
      }
    });

    it('refuses a key limited to other models on the routes that use this one', async () => {
      for (const route of routes().filter((r) => r.model)) {
        const reply = await call(route, { apiKey: KEYS.others });

        expect({ route: route.path, status: reply.status }).toEqual({
          route: route.path,
          status: 403,
        });
        expect(messageOf(reply)).toBe(`this credential may not use the model "${MODEL}"`);
      }
      expect((await request(url('/v1/models'), { apiKey: KEYS.others })).status).toBe(200);
    });

    it('lists every documented route in the route table', async () => {
      const doc = await request<{ paths: Record<string, Record<string, unknown>> }>(
        url('/docs/openapi.json'),
        { apiKey: null },
      );

      expect(doc.status).toBe(200);
      const unlisted = Object.entries(doc.body.paths).flatMap(([p, operations]) =>
        Object.keys(operations)
          .map((method) => `${method.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)
          .filter((route) => ROUTE_SCOPES[route] === undefined),
      );
      expect(unlisted).toEqual([]);
    });
  });

  describe('what stays open', () => {
    it('answers load-balancer probes without credentials', async () => {
      for (const probe of [
        '/health/live',
        '/health/ready',
        '/ping',
        '/v2/health/live',
        '/v2/health/ready',
        `/v2/models/${MODEL}/ready`,
      ]) {
        expect({ probe, status: (await request(url(probe), { apiKey: null })).status }).toEqual({
          probe,
          status: 200,
        });
      }
    });

    it('leaves the Airflow hook to its own token, and an unknown route to the router', async () => {
      const hook = await request<{ message: string }>(url('/v1/hooks/airflow'), {
        body: {},
        apiKey: null,
      });
      const unknown = await request(url('/no/such/route'), { apiKey: null });

      expect(hook.status).toBe(401);
      expect(hook.body.message).toContain('callback token');
      expect(unknown.status).toBe(404);
    });

    it('keeps /metrics open when METRICS_TOKEN is unset', async () => {
      expect((await request(url('/metrics'), { apiKey: null })).status).toBe(200);
    });

    it('refuses a body that never ends with 401, before reading it', async () => {
      const { hostname, port } = new URL(server.url);
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({
          host: hostname,
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
        req.write(`{"inputs": [${'1,'.repeat(30_000)}`); // the start of a 1 GB body, and nothing more
      });

      expect(status).toBe(401);
    });
  });

  describe('JWTs from the identity provider', () => {
    const bearer = async (token: string, p = '/v1/models') =>
      request<Record<string, unknown>>(url(p), {
        apiKey: null,
        headers: { authorization: `Bearer ${token}` },
      });

    it('admits a valid token with the route’s scope, and refuses one without it with 403', async () => {
      const reader = await bearer(await idp.token({ scope: 'openid read' }));
      const predictor = await bearer(await idp.token({ scp: ['predict'] }));

      expect(reader.status).toBe(200);
      expect(predictor.status).toBe(403);
    });

    it.each([
      ['expired', { exp: Math.floor(Date.now() / 1000) - 3600 }],
      ['for another audience', { aud: 'another-api' }],
      ['from another issuer', { iss: 'https://evil.test/' }],
    ])('refuses a token %s with 401 invalid_token', async (_what, options) => {
      const reply = await bearer(await idp.token({ scope: 'read' }, options));

      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toBe(
        'Bearer realm="modelgate", error="invalid_token"',
      );
    });

    it('refuses a token whose signature does not verify', async () => {
      const token = await idp.token({ scope: 'read' });
      const [header, payload] = token.split('.');
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'admin' })).toString('base64url')}.${token.split('.')[2]}`;

      const reply = await bearer(forged, '/v1/cluster');

      expect(reply.status).toBe(401);
      expect(reply.headers.get('www-authenticate')).toContain('error="invalid_token"');
    });

    it('accepts a token signed by a rotated key once the JWKS is read again', async () => {
      const old = await idp.token({ scope: 'read' });
      expect((await bearer(old)).status).toBe(200);

      await idp.rotate('key-2');
      const rotated = await bearer(await idp.token({ scope: 'read' }));

      expect(rotated.status).toBe(200);
    });

    it('answers JWT callers 503 while the JWKS is down, and API keys keep working', async () => {
      await idp.rotate('key-3'); // a kid the server has not seen: it must fetch the JWKS
      idp.down = true;
      try {
        const jwt = await bearer(await idp.token({ scope: 'read' }));
        const key = await request(url('/v1/models'), { apiKey: KEYS.read });

        expect(jwt.status).toBe(503);
        expect(jwt.headers.get('retry-after')).toEqual(expect.any(String));
        expect(key.status).toBe(200);
      } finally {
        idp.down = false;
      }
    });
  });

  describe('other settings', () => {
    it('puts /metrics behind METRICS_TOKEN when set', async () => {
      const guarded = await startServer({
        ...stackEnv(stack),
        MODEL_REFRESH_INTERVAL: '0',
        METRICS_TOKEN,
      });
      try {
        const without = await request(`${guarded.url}/metrics`, { apiKey: null });
        const withToken = await request(`${guarded.url}/metrics`, {
          apiKey: null,
          headers: { authorization: `Bearer ${METRICS_TOKEN}` },
        });

        expect(without.status).toBe(401);
        expect(withToken.status).toBe(200);
      } finally {
        await guarded.app.close();
      }
    });

    it('with API_AUTH=off opens every route and says so in /health/topology', async () => {
      const open = await startServer({
        ...stackEnv(stack),
        MODEL_REFRESH_INTERVAL: '0',
        API_AUTH: 'off',
      });
      try {
        const topology = await request<{ details: { api: { auth: { mode: string } } } }>(
          `${open.url}/health/topology`,
          { apiKey: null },
        );
        const models = await request(`${open.url}/v1/models`, { apiKey: null });
        const on = await request<{ details: { api: { auth: { mode: string } } } }>(
          url('/health/topology'),
          {
            apiKey: TEST_API_KEY,
          },
        );

        expect(topology.body.details.api.auth).toEqual({ mode: 'off' });
        expect(models.status).toBe(200);
        expect(on.body.details.api.auth).toEqual({ mode: 'on' });
      } finally {
        await open.app.close();
      }
    });
  });
});
