import { stackEnv } from './support/app';
import { request } from './support/http';
import { Instance, startInstance } from './support/instances';
import { RedisServer, startRedisServer } from './support/redis';
import { sharedStack } from './support/shared-stack';

/**
 * Rate limits shared through real Redis: two instances (own processes) count
 * one client's requests against one budget, and refuse in each route's own
 * protocol once it is spent.
 */
describe('Rate limits shared by instances through Redis', () => {
  const LIMIT = 6;
  let redis: RedisServer;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    redis = await startRedisServer();
    const env = {
      ...stackEnv(sharedStack()),
      API_ENABLE_DISTRIBUTED: 'true',
      API_REDIS_URL: redis.url,
      API_REDIS_PREFIX: `mg-ratelimit-${Date.now()}:`,
      API_RATE_LIMIT: String(LIMIT),
      API_RATE_LIMIT_WINDOW: '3600',
      MODEL_REFRESH_INTERVAL: '0',
    };
    [a, b] = await Promise.all([startInstance('rl-a', env), startInstance('rl-b', env)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.stop();
  });

  it('counts one client against one budget across instances, then answers 429 in each protocol', async () => {
    const spent = [];
    for (let n = 0; n < LIMIT; n++) {
      const reply = await request(`${(n % 2 ? a : b).url}/v1/models`);
      spent.push({ status: reply.status, remaining: reply.headers.get('ratelimit-remaining') });
    }
    expect(spent.map((s) => s.status)).toEqual(Array(LIMIT).fill(200));
    expect(spent.map((s) => s.remaining)).toEqual(['5', '4', '3', '2', '1', '0']);

    const api = await request<{ statusCode: number; error: string; message: string }>(
      `${a.url}/v1/models`,
    );
    const mlflow = await request<{ error_code: string; message: string }>(`${b.url}/invocations`, {
      body: { inputs: [[1, 2, 3, 4]] },
    });
    const oip = await request<{ error: string }>(`${a.url}/v2/models/iris/infer`, {
      body: { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [1] }] },
    });

    expect(api.status).toBe(429);
    expect(api.body).toMatchObject({ statusCode: 429, error: 'REQUEST_LIMIT_EXCEEDED' });
    expect(api.body.message).toMatch(/at most 6 requests per 3600 s/);
    expect(Number(api.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(mlflow.status).toBe(429);
    expect(mlflow.body.error_code).toBe('REQUEST_LIMIT_EXCEEDED');
    expect(oip.status).toBe(429);
    expect(oip.body.error).toMatch(/rate limit exceeded/);
  });

  it('never limits probes or metrics', async () => {
    for (const path of ['/health/live', '/health/ready', '/metrics']) {
      expect((await request(`${a.url}${path}`)).status).toBe(200);
    }
  });
});
