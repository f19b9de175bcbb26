import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stackEnv } from './support/app';
import { TEST_API_KEYS } from './support/credentials';
import { Reply, request, waitFor } from './support/http';
import { Instance, startInstance } from './support/instances';
import { registerDemoModel } from './support/python';
import { RedisServer, startRedisServer } from './support/redis';
import { StackInfo, sharedStack } from './support/shared-stack';

interface Entry {
  name: string;
  version?: string;
  state: string;
  reason: string;
}

const READ_KEY = 'mg_e2e-repo-read-0123456789abcdefghijk';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const INFER = {
  inputs: [
    {
      name: 'float_input',
      shape: [1, 4],
      datatype: 'FP32',
      data: [5.1, 3.5, 1.4, 0.2],
    },
  ],
};

/**
 * The model repository extension over REST on two real instances (each its
 * own `node dist/main.js`, sharing a real Redis) and the shared real MLflow:
 * what one instance is asked to load or unload, the other follows.
 */
describe('Model repository API (index, load, unload) on two instances', () => {
  const suffix = Date.now();
  const PINNED = `repo-pinned-${suffix}`;
  const LOADABLE = `repo-loadable-${suffix}`;
  let stack: StackInfo;
  let redis: RedisServer;
  let dir: string;
  let first: Instance;
  let second: Instance;
  let loadableVersion: string;

  const index = (instance: Instance, body?: unknown): Promise<Reply<Entry[]>> =>
    request<Entry[]>(`${instance.url}/v2/repository/index`, { method: 'POST', body });
  const post = (instance: Instance, action: string, name: string, body: unknown = {}) =>
    request<Record<string, unknown>>(
      `${instance.url}/v2/repository/models/${encodeURIComponent(name)}/${action}`,
      { method: 'POST', body },
    );
  const entriesOf = async (instance: Instance, name: string) =>
    ((await index(instance)).body ?? []).filter((e) => e.name === name);

  beforeAll(async () => {
    stack = sharedStack();
    const [pinned, loadable] = await Promise.all([
      registerDemoModel(stack.mlflowUrl, { name: PINNED, signature: 'tensor', alias: 'champion' }),
      registerDemoModel(stack.mlflowUrl, {
        name: LOADABLE,
        signature: 'tensor',
        alias: 'champion',
      }),
    ]);
    expect(pinned.version).toBeDefined();
    loadableVersion = loadable.version;
    redis = await startRedisServer();
    dir = await mkdtemp(path.join(tmpdir(), 'mg-repo-'));
    const env = (id: string): Record<string, string> => ({
      ...stackEnv(stack),
      API_KEYS: `${TEST_API_KEYS};reader:read=sha256:${sha256(READ_KEY)}`,
      MODELS: `models:/${PINNED}@champion`,
      MODEL_CACHE_DIR: path.join(dir, id),
      MODEL_REFRESH_INTERVAL: '3600',
      MODEL_DRAIN_TIMEOUT: '2',
      API_ENABLE_DISTRIBUTED: 'true',
      API_REDIS_URL: redis.url,
      API_REDIS_PREFIX: `mg-repo-${suffix}:`,
      CLUSTER_HEARTBEAT_INTERVAL: '0.5',
      SHUTDOWN_DRAIN_DELAY: '0',
      LOG_LEVEL: 'log',
    });
    [first, second] = await Promise.all([
      startInstance('repo-1', env('repo-1')),
      startInstance('repo-2', env('repo-2')),
    ]);
    for (const instance of [first, second]) {
      await waitFor(
        () => request(`${instance.url}/v2/health/ready`),
        (r) => r.status === 200,
        120_000,
      );
    }
  });

  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists the model of MODELS as READY with its version, and names the extension in GET /v2', async () => {
    const reply = await index(first);

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual([{ name: PINNED, version: '1', state: 'READY', reason: '' }]);
    const server = await request<{ extensions: string[] }>(`${first.url}/v2`);
    expect(server.body.extensions).toContain('model_repository');
  });

  it('answers the index with an empty body, and refuses a ready flag that is not a boolean', async () => {
    const empty = await fetch(`${first.url}/v2/repository/index`, {
      method: 'POST',
      headers: { 'x-api-key': READ_KEY },
    });
    expect(empty.status).toBe(200);
    expect(((await empty.json()) as Entry[]).map((e) => e.name)).toContain(PINNED);

    const bad = await index(first, { ready: 'yes' });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ error: "'ready' must be a boolean, got a string" });
  });

  it('loads a model on one instance, and the other loads it too', async () => {
    const reply = await post(first, 'load', LOADABLE);

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({});
    expect(await entriesOf(first, LOADABLE)).toEqual([
      { name: LOADABLE, version: loadableVersion, state: 'READY', reason: '' },
    ]);
    const followed = await waitFor(
      () => entriesOf(second, LOADABLE),
      (entries) => entries.some((e) => e.state === 'READY'),
      60_000,
    );
    expect(followed).toEqual([
      { name: LOADABLE, version: loadableVersion, state: 'READY', reason: '' },
    ]);
    const infer = await request<{ model_name: string }>(
      `${second.url}/v2/models/${LOADABLE}/infer`,
      { body: INFER },
    );
    expect(infer.status).toBe(200);
    expect(infer.body.model_name).toBe(LOADABLE);
  });

  it('keeps the loaded version serving when a new one fails to load, answering the load error', async () => {
    const broken = await registerDemoModel(stack.mlflowUrl, {
      name: LOADABLE,
      signature: 'tensor',
      alias: 'champion',
      broken: true,
    });

    const reply = await post(first, 'load', LOADABLE);

    expect(reply.status).toBe(503);
    expect(reply.body.error).toContain(`cannot load ${LOADABLE} version ${broken.version}`);
    expect(await entriesOf(first, LOADABLE)).toEqual([
      { name: LOADABLE, version: loadableVersion, state: 'READY', reason: '' },
    ]);
    const alias = await request(`${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias`, {
      body: { name: LOADABLE, alias: 'champion', version: loadableVersion },
    });
    expect(alias.status).toBe(200);
  });

  it('unloads a model on one instance, and the other unloads it too', async () => {
    const reply = await post(first, 'unload', LOADABLE, {
      parameters: { unload_dependents: false },
    });

    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({});
    expect(await entriesOf(first, LOADABLE)).toEqual([]);
    await waitFor(
      () => entriesOf(second, LOADABLE),
      (entries) => entries.length === 0,
      30_000,
    );
    const ready = await request(`${second.url}/v2/models/${LOADABLE}/ready`);
    expect(ready.status).toBe(400);
    // Log lines are written in batches (a tenth of a second at most): wait for it.
    const said = new RegExp(`${LOADABLE}: unloaded, as peer repo-1`);
    await waitFor(
      () => Promise.resolve(second.output()),
      (output) => said.test(output),
      5_000,
      50,
    );
  });

  it('refuses to unload a model of MODELS with a 409, and it keeps serving', async () => {
    const reply = await post(second, 'unload', PINNED);

    expect(reply.status).toBe(409);
    expect(reply.body.error).toMatch(/listed in MODELS/);
    expect(await entriesOf(second, PINNED)).toEqual([
      { name: PINNED, version: '1', state: 'READY', reason: '' },
    ]);
    expect((await request(`${second.url}/v2/health/ready`)).status).toBe(200);
  });

  it('answers 404 for a model MLflow does not have, and 400 for a reference that is not a name', async () => {
    const missing = await post(first, 'load', `repo-missing-${suffix}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: expect.stringContaining(`repo-missing-${suffix}`) });

    const alias = await post(first, 'load', `${LOADABLE}@champion`);
    expect(alias.status).toBe(400);
    expect(alias.body.error).toMatch(/without an alias or a version/);

    const config = await post(first, 'load', LOADABLE, { parameters: { config: '{}' } });
    expect(config.status).toBe(400);
    expect(config.body.error).toMatch(/parameters.config/);
  });

  it('lets a read-only key list the repository but not load or unload', async () => {
    const listed = await request(`${first.url}/v2/repository/index`, {
      method: 'POST',
      body: { ready: true },
      apiKey: READ_KEY,
    });
    expect(listed.status).toBe(200);

    for (const action of ['load', 'unload']) {
      const refused = await request<{ error: string }>(
        `${first.url}/v2/repository/models/${LOADABLE}/${action}`,
        { method: 'POST', body: {}, apiKey: READ_KEY },
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatch(/reload/);
    }
  });
});
