import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stackEnv } from './support/app';
import { CountingProxy } from './support/counting-proxy';
import { request, sleep, waitFor } from './support/http';
import { Instance, startInstance } from './support/instances';
import { metricValue } from './support/metrics-text';
import { RollbackModels, registerRollbackModels } from './support/python';
import { RedisServer, startRedisServer } from './support/redis';
import { StackInfo, sharedStack } from './support/shared-stack';

const ROOT = path.resolve(__dirname, '..');
const LOGS = path.resolve(__dirname, '../.cache/rollback-logs');
/** Requests sent to the bad version at most: far more than ROLLOUT_MIN_REQUESTS on each instance. */
const MAX_BAD_REQUESTS = 400;

interface LoadedModelsBody {
  models: { reference: string; version?: string; state: string }[];
}

interface WireVersion {
  model_version: { version: string; run_id: string; tags?: { key: string; value: string }[] };
}

interface WireRun {
  run: { data: { metrics?: { key: string; value: number }[] } };
}

/**
 * One watched instance of `reference`: the leader polls every 2 s (a
 * promotion made in MLflow reaches it so, and the others by broadcast), the
 * pyfunc versions run in .venv, the instances share one real Redis, and the
 * watch judges after 10 requests. v1 stays loaded while v2 is watched, so a
 * rollback swaps back without a Python start.
 */
function watchedInstanceEnv(
  stack: StackInfo,
  reference: string,
  shared: { cacheDir: string; redisUrl: string; redisPrefix: string },
): Record<string, string> {
  return {
    ...stackEnv(stack),
    MODELS: `models:/${reference}`,
    MODEL_CACHE_DIR: shared.cacheDir,
    MODEL_REFRESH_INTERVAL: '2',
    MODEL_ONNX_ACCELERATE: 'off',
    PYFUNC_ENV: 'local',
    PYFUNC_PYTHON: path.join(ROOT, '.venv/bin/python'),
    PYFUNC_WORKERS: '1',
    PYFUNC_START_TIMEOUT: '240',
    API_ENABLE_DISTRIBUTED: 'true',
    API_REDIS_URL: shared.redisUrl,
    API_REDIS_PREFIX: shared.redisPrefix,
    CLUSTER_HEARTBEAT_INTERVAL: '0.5',
    CLUSTER_LEASE_TTL: '2',
    ROLLOUT_WATCH_SECONDS: '300',
    ROLLOUT_MIN_REQUESTS: '10',
    ROLLOUT_KEEP_REPLACED: 'true',
    SHUTDOWN_DRAIN_DELAY: '0',
    LOG_LEVEL: 'log',
  };
}

/** The version the champion alias names in MLflow now. */
async function championVersion(stack: StackInfo, model: string): Promise<string> {
  const reply = await request<WireVersion>(
    `${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias?name=${model}&alias=champion`,
  );
  return reply.body.model_version.version;
}

/** Each instance's output, in .cache/rollback-logs/, for reading after a failure. */
async function keepLogs(instances: Instance[]): Promise<void> {
  await mkdir(LOGS, { recursive: true });
  for (const instance of instances) {
    await writeFile(path.join(LOGS, `${instance.id}.log`), instance.output());
  }
}

/**
 * Automatic rollback (issue 13 part 3) with the real parts: the shared real
 * MLflow, real Redis, and two API servers, each its own `node dist/main.js`.
 * Version 1 is good; version 2 loads and passes its warm-up but fails on real
 * rows. It is promoted with MLflow's REST API (the leader's polling brings it
 * in), traffic goes to both instances, and the watch must move the alias back
 * in MLflow, tag both versions, log the figures to v2's run, and bring every
 * instance back to v1.
 */
describe('Automatic rollback of a bad promotion, two instances sharing Redis', () => {
  const suffix = Date.now();
  const MODEL = `rollback-${suffix}`;
  const REFERENCE = `${MODEL}@champion`;
  let stack: StackInfo;
  let models: RollbackModels;
  let redis: RedisServer;
  let dir: string;
  let instances: Instance[] = [];

  const env = (id: string): Record<string, string> => ({
    ...watchedInstanceEnv(stack, REFERENCE, {
      cacheDir: path.join(dir, id),
      redisUrl: redis.url,
      redisPrefix: `mg-rollback-${suffix}:`,
    }),
    ROLLOUT_MAX_ERROR_RATE: '0.05',
    ROLLOUT_COOLDOWN_SECONDS: '120',
    ROLLOUT_KEEP_REPLACED: process.env.ROLLBACK_E2E_KEEP_REPLACED ?? 'true',
  });

  const body = () => ({ dataframe_split: { columns: models.columns, data: models.rows } });

  const predict = (instance: Instance) =>
    request<{ predictions: unknown }>(`${instance.url}/v1/models/${REFERENCE}/invocations`, {
      body: body(),
    });

  /** The version an instance serves the reference with, by its own models view. */
  const servedVersion = async (instance: Instance): Promise<string | undefined> => {
    const reply = await request<LoadedModelsBody>(`${instance.url}/v1/models`);
    return reply.body.models?.find((m) => m.reference === REFERENCE)?.version;
  };

  const aliasVersion = () => championVersion(stack, MODEL);

  const versionTags = async (version: string): Promise<Record<string, string>> => {
    const reply = await request<WireVersion>(
      `${stack.mlflowUrl}/api/2.0/mlflow/model-versions/get?name=${MODEL}&version=${version}`,
    );
    return Object.fromEntries((reply.body.model_version.tags ?? []).map((t) => [t.key, t.value]));
  };

  beforeAll(async () => {
    stack = sharedStack();
    models = await registerRollbackModels(stack.mlflowUrl, MODEL);
    dir = await mkdtemp(path.join(tmpdir(), 'mg-rollback-'));
    redis = await startRedisServer();
    instances = await Promise.all([
      startInstance('api-1', env('api-1')),
      startInstance('api-2', env('api-2')),
    ]);
    for (const instance of instances) {
      await waitFor(
        () => servedVersion(instance),
        (v) => v === models.good.version,
        300_000,
        1000,
      );
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await redis?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await keepLogs(instances);
  });

  it('moves the alias back in MLflow, tags both versions, logs the figures, and every instance serves v1 again', async () => {
    // The good version's record before the promotion: the baseline each instance keeps.
    for (let i = 0; i < 10; i++) {
      for (const instance of instances) expect((await predict(instance)).status).toBe(200);
    }

    const promoted = performance.now();
    const set = await request(`${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias`, {
      body: { name: MODEL, alias: 'champion', version: models.bad.version },
    });
    expect(set.status).toBe(200);
    for (const instance of instances) {
      await waitFor(
        () => servedVersion(instance),
        (v) => v === models.bad.version,
        300_000,
        250,
      );
    }
    const allOnBad = performance.now();

    // Real traffic to both instances, until the alias is back (bounded).
    let sent = 0;
    let failed = 0;
    let aliasBackAt: number | undefined;
    while (sent < MAX_BAD_REQUESTS && aliasBackAt === undefined) {
      for (const instance of instances) {
        const reply = await predict(instance);
        sent++;
        if (reply.status >= 500) failed++;
      }
      if (sent % 10 === 0 && (await aliasVersion()) === models.good.version) {
        aliasBackAt = performance.now();
      }
    }
    if (aliasBackAt === undefined) {
      await waitFor(aliasVersion, (v) => v === models.good.version, 30_000, 200);
      aliasBackAt = performance.now();
    }
    expect(await aliasVersion()).toBe(models.good.version);
    expect(failed).toBeGreaterThanOrEqual(10);

    for (const instance of instances) {
      await waitFor(
        () => servedVersion(instance),
        (v) => v === models.good.version,
        60_000,
        100,
      );
    }
    const allBack = performance.now();
    const figures = {
      promotionToAllOnV2Ms: Math.round(allOnBad - promoted),
      promotionToAliasBackMs: Math.round(aliasBackAt - promoted),
      promotionToAllInstancesOnV1Ms: Math.round(allBack - promoted),
      // Without the load of v2 (a pyfunc start): what the watch and the rollback themselves take.
      allOnV2ToAliasBackMs: Math.round(aliasBackAt - allOnBad),
      aliasBackToAllInstancesOnV1Ms: Math.round(allBack - aliasBackAt),
      keepReplaced: env('api-1').ROLLOUT_KEEP_REPLACED,
      requestsSentToV2: sent,
      failedOfThem: failed,
    };
    console.log(`rollback figures: ${JSON.stringify(figures)}`);
    await mkdir(path.dirname(LOGS), { recursive: true });
    await writeFile(
      path.resolve(LOGS, '../rollback-figures.json'),
      JSON.stringify(figures, null, 2),
    );

    // Tags on both versions, and the figures on v2's run: written by the instance that acted,
    // after the alias (the polling leader may have moved every instance back before it is done).
    const runMetrics = async (): Promise<Record<string, number>> => {
      const run = await request<WireRun>(
        `${stack.mlflowUrl}/api/2.0/mlflow/runs/get?run_id=${models.bad.run_id}`,
      );
      return Object.fromEntries((run.body.run.data.metrics ?? []).map((m) => [m.key, m.value]));
    };
    const metrics = await waitFor(
      runMetrics,
      (m) => m['modelgate.rollback.error_rate'] !== undefined,
      30_000,
      200,
    );
    const badTags = await versionTags(models.bad.version);
    const goodTags = await versionTags(models.good.version);
    expect(badTags).toMatchObject({
      'modelgate.rolled_back_to': models.good.version,
      'modelgate.rollback_reason': expect.stringContaining('error rate'),
      'modelgate.rolled_back_at': expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(goodTags).toMatchObject({
      'modelgate.rolled_back_from': models.bad.version,
      'modelgate.rollback_reason': badTags['modelgate.rollback_reason'],
    });
    expect(metrics['modelgate.rollback.error_rate']).toBe(1);
    expect(metrics['modelgate.rollback.requests']).toBeGreaterThanOrEqual(10);
    expect(metrics['modelgate.rollback.baseline_error_rate']).toBe(0);

    // Both instances answer real rows with v1 again.
    for (const instance of instances) {
      const reply = await predict(instance);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-model-version')).toBe(models.good.version);
    }

    // One rollback, counted once across the two instances (the one that acted).
    const counted = await Promise.all(
      instances.map(async (instance) =>
        metricValue(
          (await request(`${instance.url}/metrics`)).text,
          'modelgate_model_rollbacks_total',
          {
            model: MODEL,
            outcome: 'rolled_back',
          },
        ),
      ),
    );
    expect(counted.reduce((a, b) => a + b, 0)).toBe(1);
  });

  it('does not bring the bad version back: polling finds the alias on v1 and the cool-down holds', async () => {
    await sleep(5_000); // two polls and more
    expect(await aliasVersion()).toBe(models.good.version);
    for (const instance of instances) {
      expect(await servedVersion(instance)).toBe(models.good.version);
    }
  });
});

/**
 * The same bad promotion, but Modelgate's MLflow credentials may only read:
 * it reaches the real MLflow through a front that answers registry writes 403
 * (PERMISSION_DENIED). The alias stays on v2 in MLflow, and every instance —
 * one started after the veto included — serves v1, polling or not.
 */
describe('Vetoing a bad promotion it may not roll back (read-only MLflow credentials)', () => {
  const suffix = Date.now();
  const MODEL = `veto-${suffix}`;
  const REFERENCE = `${MODEL}@champion`;
  let stack: StackInfo;
  let models: RollbackModels;
  let redis: RedisServer;
  let readOnly: CountingProxy;
  let readOnlyUrl: string;
  let dir: string;
  let instances: Instance[] = [];

  const env = (id: string): Record<string, string> => ({
    ...watchedInstanceEnv(stack, REFERENCE, {
      cacheDir: path.join(dir, id),
      redisUrl: redis.url,
      redisPrefix: `mg-veto-${suffix}:`,
    }),
    MLFLOW_TRACKING_URI: readOnlyUrl,
  });

  const predict = (instance: Instance) =>
    request(`${instance.url}/v1/models/${REFERENCE}/invocations`, {
      body: { dataframe_split: { columns: models.columns, data: models.rows } },
    });

  const view = async (instance: Instance) => {
    const reply = await request<{
      models: {
        reference: string;
        version?: string;
        veto?: { version: string; fallback: string };
      }[];
    }>(`${instance.url}/v1/models`);
    return reply.body.models?.find((m) => m.reference === REFERENCE);
  };

  const aliasVersion = () => championVersion(stack, MODEL);

  beforeAll(async () => {
    stack = sharedStack();
    models = await registerRollbackModels(stack.mlflowUrl, MODEL);
    readOnly = new CountingProxy(stack.mlflowUrl);
    readOnly.forbidden = (method) => method !== 'GET';
    readOnlyUrl = await readOnly.start();
    dir = await mkdtemp(path.join(tmpdir(), 'mg-veto-'));
    redis = await startRedisServer();
    instances = await Promise.all([
      startInstance('veto-1', env('veto-1')),
      startInstance('veto-2', env('veto-2')),
    ]);
    for (const instance of instances) {
      await waitFor(
        () => view(instance),
        (m) => m?.version === models.good.version,
        300_000,
        1000,
      );
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.stop()));
    await redis?.stop();
    await readOnly?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    await keepLogs(instances);
  });

  it('stops serving the bad version on every instance, keeps the alias where MLflow has it, and says so', async () => {
    for (let i = 0; i < 10; i++) {
      for (const instance of instances) expect((await predict(instance)).status).toBe(200);
    }
    const set = await request(`${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias`, {
      body: { name: MODEL, alias: 'champion', version: models.bad.version },
    });
    expect(set.status).toBe(200);
    for (const instance of instances) {
      await waitFor(
        () => view(instance),
        (m) => m?.version === models.bad.version,
        300_000,
        250,
      );
    }
    const allOnBad = performance.now();

    let sent = 0;
    let vetoed = false;
    while (sent < MAX_BAD_REQUESTS && !vetoed) {
      for (const instance of instances) {
        await predict(instance);
        sent++;
      }
      if (sent % 10 === 0) {
        const views = await Promise.all(instances.map(view));
        vetoed = views.every((m) => m?.version === models.good.version);
      }
    }
    for (const instance of instances) {
      await waitFor(
        () => view(instance),
        (m) => m?.version === models.good.version,
        60_000,
        100,
      );
    }
    console.log(
      `veto figures: ${JSON.stringify({ allOnV2ToAllOnV1Ms: Math.round(performance.now() - allOnBad), requestsSentToV2: sent })}`,
    );

    // MLflow still names v2 (the writes were refused), and nothing was tagged.
    expect(await aliasVersion()).toBe(models.bad.version);
    expect(readOnly.paths).toContain('POST /api/2.0/mlflow/registered-models/alias');
    for (const instance of instances) {
      expect(await view(instance)).toMatchObject({
        version: models.good.version,
        veto: { version: models.bad.version, fallback: models.good.version },
      });
      const reply = await predict(instance);
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-model-version')).toBe(models.good.version);
    }
    const counted = await Promise.all(
      instances.map(async (instance) =>
        metricValue(
          (await request(`${instance.url}/metrics`)).text,
          'modelgate_model_rollbacks_total',
          { model: MODEL, outcome: 'vetoed' },
        ),
      ),
    );
    expect(counted.reduce((a, b) => a + b, 0)).toBe(1);
    expect(instances.map((i) => i.output()).join('')).toContain('move the alias in MLflow');
  });

  it('keeps the veto through polling and for an instance started after it', async () => {
    await sleep(5_000); // two polls and more, with the alias still on v2
    for (const instance of instances) {
      expect((await view(instance))?.version).toBe(models.good.version);
    }

    const late = await startInstance('veto-3', env('veto-3'));
    instances.push(late);
    const first = await waitFor(
      () => view(late),
      (m) => m?.version !== undefined,
      300_000,
      500,
    );

    expect(first).toMatchObject({
      version: models.good.version,
      veto: { version: models.bad.version },
    });
  });

  it('lets the veto lapse once the alias names another version, so moving it back serves v2 again', async () => {
    const moveAlias = (version: string) =>
      request(`${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias`, {
        body: { name: MODEL, alias: 'champion', version },
      });
    expect((await moveAlias(models.good.version)).status).toBe(200);
    // The leader's poll resolves v1: the veto lapses there, and the lift reaches the peers.
    for (const instance of instances) {
      await waitFor(
        () => view(instance),
        (m) => m !== undefined && m.veto === undefined,
        60_000,
        250,
      );
    }

    expect((await moveAlias(models.bad.version)).status).toBe(200);
    for (const instance of instances) {
      await waitFor(
        () => view(instance),
        (m) => m?.version === models.bad.version,
        60_000,
        250,
      );
    }
    expect(instances.map((i) => i.output()).join('')).toContain(
      `the veto of v${models.bad.version} is lifted (the reference names v${models.good.version} now)`,
    );

    // Nothing left to lift: 404 in the API's error shape.
    const lift = await request<{ error?: { code?: string } }>(
      `${instances[0].url}/v1/models/${MODEL}/vetoes/champion`,
      { method: 'DELETE' },
    );
    expect(lift.status).toBe(404);
    expect(JSON.stringify(lift.body)).toContain('no veto stands for');
  });
});
