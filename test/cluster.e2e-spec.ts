import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { stackEnv } from './support/app';
import { TEST_AUTH_HEADER } from './support/credentials';
import { request, sleep, waitFor } from './support/http';
import { CountingProxy } from './support/counting-proxy';
import { Instance, startInstance } from './support/instances';
import { LoadBalancer, startLoadBalancer } from './support/load-balancer';
import { RegisteredDemoModel, registerDemoModel } from './support/python';
import { RedisServer, startRedisServer } from './support/redis';
import { StackInfo, sharedStack } from './support/shared-stack';

const TOKEN = 'cluster-e2e-callback-token-0123456789';
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];
const PREDICTION = {
  dataframe_split: {
    columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    data: ROWS,
  },
};
const FIGURES = path.resolve(__dirname, '../.cache/cluster-figures.json');
const LOGS = path.resolve(__dirname, '../.cache/cluster-logs');

interface ClusterBody {
  mode: string;
  fresh: boolean;
  leader?: string;
  store: { kind: string; connected: boolean };
  instances: {
    id: string;
    address: string;
    uptimeSeconds: number;
    status: string;
    models: { reference: string; version?: string }[];
  }[];
}

interface TopologyBody {
  status: string;
  info?: Record<string, { status: string }>;
  error?: Record<string, { status: string; failure?: { kind: string } }>;
  details: Record<string, { status: string; failure?: { kind: string } }>;
}

/**
 * Three API servers, each its own `node dist/main.js` process, behind real
 * nginx (Debian's package, the config rendered from deployment/nginx/), with
 * real Redis (a redis-server of our own, so it can be restarted) and the
 * shared real MLflow. Polling is off (MODEL_REFRESH_INTERVAL=3600): every new
 * version reaches the instances through a callback and the reload broadcast.
 */
describe('Three instances behind nginx, sharing state in Redis', () => {
  const suffix = Date.now();
  const MODEL = `iris-cluster-${suffix}`;
  const REFERENCE = `${MODEL}@champion`;
  const figures: Record<string, unknown> = {};
  let stack: StackInfo;
  let versions: RegisteredDemoModel[];
  let redis: RedisServer;
  let dir: string;
  let instances: Instance[] = [];
  let lb: LoadBalancer;
  let sticky: LoadBalancer | undefined;
  let mlflowProxy: CountingProxy;

  const env = (id: string): Record<string, string> => ({
    ...stackEnv(stack),
    MODELS: `models:/${REFERENCE}`,
    MODEL_CACHE_DIR: path.join(dir, id),
    MODEL_REFRESH_INTERVAL: '3600',
    API_ENABLE_DISTRIBUTED: 'true',
    API_REDIS_URL: redis.url,
    API_REDIS_PREFIX: `mg-e2e-${suffix}:`,
    API_REDIS_COMMAND_TIMEOUT: '300',
    API_REDIS_RECONNECT_MAX_DELAY: '500',
    CLUSTER_HEARTBEAT_INTERVAL: '0.5',
    CLUSTER_LEASE_TTL: '2',
    CLUSTER_SKEW_GRACE: '1',
    HEALTH_CHECK_INTERVAL: '1',
    API_CALLBACK_TOKEN: TOKEN,
    SHUTDOWN_DRAIN_DELAY: '0',
    // Info lines carry the load and broadcast timings the figures report.
    LOG_LEVEL: 'log',
  });

  /** What each instance logged about loading `version` and following a peer to it. */
  const timingsOf = (version: string) =>
    Object.fromEntries(
      instances.map((instance) => [
        instance.id,
        instance
          .output()
          .split('\n')
          .filter((line) => line.includes(`v${version}`) && /"msg":"(loaded|.*followed)/.test(line))
          .map((line) => (JSON.parse(line) as { msg: string }).msg),
      ]),
    );

  /** The version an instance answers with, asked directly (not through nginx). */
  const servedBy = async (instance: Instance): Promise<string | null> => {
    const reply = await fetch(`${instance.url}/invocations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...TEST_AUTH_HEADER },
      body: JSON.stringify(PREDICTION),
    });
    await reply.arrayBuffer();
    return reply.status === 200 ? reply.headers.get('x-model-version') : null;
  };

  const setAlias = async (version: string) => {
    const reply = await request(`${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias`, {
      body: { name: MODEL, alias: 'champion', version },
    });
    expect(reply.status).toBe(200);
  };

  const callback = (version: string, runId: string) =>
    lb.request('/v1/hooks/airflow', {
      body: {
        event: 'model_version_ready',
        dag_id: 'modelgate_retrain',
        dag_run_id: runId,
        model_name: MODEL,
        version,
        alias: 'champion',
        promoted: true,
      },
      headers: { authorization: `Bearer ${TOKEN}` },
    });

  const cluster = (instance: Instance) => request<ClusterBody>(`${instance.url}/v1/cluster`);
  const live = () => instances.filter((i) => !i.exited);

  beforeAll(async () => {
    stack = sharedStack();
    versions = [
      await registerDemoModel(stack.mlflowUrl, { name: MODEL, c: 1.0, alias: 'champion' }),
      await registerDemoModel(stack.mlflowUrl, { name: MODEL, c: 0.01, alias: null }),
      await registerDemoModel(stack.mlflowUrl, { name: MODEL, c: 0.1, alias: null }),
      await registerDemoModel(stack.mlflowUrl, { name: MODEL, c: 0.5, alias: null }),
    ];
    // api-3 reaches MLflow through a proxy the skew test can break.
    mlflowProxy = new CountingProxy(stack.mlflowUrl);
    const proxied = await mlflowProxy.start();
    dir = await mkdtemp(path.join(tmpdir(), 'mg-cluster-'));
    redis = await startRedisServer();
    instances = await Promise.all([
      startInstance('api-1', env('api-1')),
      startInstance('api-2', env('api-2')),
      startInstance('api-3', { ...env('api-3'), MLFLOW_TRACKING_URI: proxied }),
    ]);
    lb = await startLoadBalancer({ upstreams: instances.map((i) => `127.0.0.1:${i.port}`) });
    for (const instance of instances) {
      await waitFor(
        () => request(`${instance.url}/health/ready`),
        (r) => r.status === 200,
        60_000,
      );
    }
    // Every instance listed by every instance, each with its model loaded. An
    // instance lists itself as it is now but its peers as their last heartbeat
    // said, and a heartbeat sent while the model was loading truly says
    // "loading" until the next one: so wait on each instance's own view. The
    // polling lease is taken at the first refresh, after a first heartbeat
    // may have gone out without it: its holder shows as leader in its peers'
    // views from its next heartbeat on.
    for (const instance of instances) {
      await waitFor(
        () => cluster(instance),
        (r) =>
          r.body.instances?.length === 3 &&
          r.body.instances.every((i) => i.models[0]?.version === versions[0].version) &&
          r.body.leader !== undefined,
        30_000,
      );
    }
  });

  afterAll(async () => {
    await sticky?.stop();
    await lb?.stop();
    await Promise.all(instances.map((i) => i.stop()));
    await redis?.stop();
    await mlflowProxy?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
    // The instances' logs, for a failure's post-mortem (CI keeps .cache/).
    await mkdir(LOGS, { recursive: true });
    for (const instance of instances) {
      await writeFile(path.join(LOGS, `${instance.id}.log`), instance.output());
    }
    await writeFile(FIGURES, JSON.stringify(figures, null, 2));
    console.log(`cluster figures: ${JSON.stringify(figures)}`);
  });

  it('lists every instance in /v1/cluster, with its address, uptime, models and one leader', async () => {
    const reply = await cluster(instances[1]);

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({
      mode: 'distributed',
      fresh: true,
      store: { kind: 'redis', connected: true },
    });
    expect(reply.body.instances.map((i) => i.id)).toEqual(['api-1', 'api-2', 'api-3']);
    for (const [n, instance] of reply.body.instances.entries()) {
      expect(instance.address).toBe(instances[n].url);
      expect(instance.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(instance.models).toEqual([
        expect.objectContaining({ reference: REFERENCE, version: versions[0].version }),
      ]);
    }
    expect(['api-1', 'api-2', 'api-3']).toContain(reply.body.leader);
  });

  it('serves a new version on all three instances after an alias move and one callback', async () => {
    const target = versions[1].version;
    await setAlias(target);
    const firstSeen = new Map<string, number>();
    const watching = Promise.all(
      instances.map(async (instance) => {
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline) {
          if ((await servedBy(instance)) === target) {
            firstSeen.set(instance.id, performance.now());
            return;
          }
          await sleep(5);
        }
      }),
    );

    const sent = performance.now();
    const reply = await callback(target, `manual__propagation_${suffix}`);
    const answered = performance.now();
    await watching;

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ accepted: true, duplicate: false });
    expect([...firstSeen.keys()].sort()).toEqual(['api-1', 'api-2', 'api-3']);
    const lastMs = Math.max(...[...firstSeen.values()].map((t) => t - sent));
    figures.reloadPropagation = {
      callbackAnsweredMs: Math.round(answered - sent),
      allInstancesServingMs: Math.round(lastMs),
      perInstanceMs: Object.fromEntries(
        [...firstSeen].map(([id, t]) => [id, Math.round(t - sent)]),
      ),
      logged: timingsOf(target),
    };
  });

  it('acts on a callback once, whichever instance the retry reaches', async () => {
    const runId = `manual__retry_${suffix}`;
    const replies = [];
    for (let n = 0; n < 4; n++) replies.push(await callback(versions[1].version, runId));

    const bodies = replies.map((r) => r.body as { duplicate: boolean; handledBy: string });
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(bodies.filter((b) => !b.duplicate)).toHaveLength(1);
    expect(new Set(bodies.map((b) => b.handledBy)).size).toBe(1);
    // Round robin sent the four requests to more than one instance.
    expect(new Set(replies.map((r) => r.headers['x-modelgate-instance'])).size).toBeGreaterThan(1);
  });

  it('spreads requests over the instances, and the ip_hash variant keeps a client on one', async () => {
    sticky = await startLoadBalancer({
      upstreams: instances.map((i) => `127.0.0.1:${i.port}`),
      balancing: 'ip-hash',
    });
    const answeredBy = async (balancer: LoadBalancer) => {
      const ids = new Set<string>();
      for (let n = 0; n < 30; n++) {
        const reply = await balancer.request('/invocations', { body: PREDICTION });
        expect(reply.status).toBe(200);
        ids.add(String(reply.headers['x-modelgate-instance']));
      }
      return ids;
    };

    expect((await answeredBy(lb)).size).toBe(3);
    expect((await answeredBy(sticky)).size).toBe(1);
  });

  it('reports version skew in /health/topology while one instance cannot follow, and clears it once it has', async () => {
    const target = versions[2].version;
    const before = await servedBy(instances[2]);
    mlflowProxy.failing = true;
    await setAlias(target);

    // Reloaded on api-1: api-2 follows; api-3 cannot fetch the version and keeps its own.
    const reload = await request(`${instances[0].url}/v1/models/${MODEL}/reload`, { body: {} });
    expect(reload.status).toBe(200);
    await waitFor(
      () => servedBy(instances[1]),
      (v) => v === target,
      15_000,
    );
    const skewed = await waitFor(
      () => request<TopologyBody>(`${instances[0].url}/health/topology`),
      (r) => r.body.details?.cluster?.status === 'down',
      15_000,
    );
    expect(await servedBy(instances[2])).toBe(before);
    expect(skewed.status).toBe(503);
    expect(skewed.body.details.cluster).toMatchObject({
      failure: { kind: 'version_skew' },
      skew: [
        {
          reference: REFERENCE,
          versions: { [target]: ['api-1', 'api-2'], [before!]: ['api-3'] },
        },
      ],
    });

    mlflowProxy.failing = false;
    await request(`${instances[0].url}/v1/models/${MODEL}/reload`, { body: {} });
    await waitFor(
      () => servedBy(instances[2]),
      (v) => v === target,
      15_000,
    );
    await waitFor(
      () => request<TopologyBody>(`${instances[0].url}/health/topology`),
      (r) => r.body.details?.cluster?.status === 'up',
      15_000,
    );
  });

  it('keeps serving while Redis is down, reports it degraded, and resynchronises when it is back', async () => {
    await redis.stop();
    for (const instance of instances) {
      const topology = await waitFor(
        () => request<TopologyBody>(`${instance.url}/health/topology`),
        // First "connection closed", then each reconnection attempt is refused.
        (r) => r.body.details?.redis?.failure?.kind === 'connection_refused',
        15_000,
      );
      expect(topology.body.details.redis.status).toBe('down');
      const summary = await request<{ status: string; ready: boolean }>(`${instance.url}/`);
      expect(summary.body).toMatchObject({ status: 'degraded', ready: true });
    }
    for (let n = 0; n < 30; n++) {
      expect((await lb.request('/invocations', { body: PREDICTION })).status).toBe(200);
    }

    // A new version while Redis is down: the callback reaches one instance,
    // whose broadcast is lost; the other two miss it.
    const target = versions[3].version;
    await setAlias(target);
    const reply = await callback(target, `manual__outage_${suffix}`);
    expect(reply.status).toBe(200);
    const handler = instances.find(
      (i) => i.id === (reply.body as { handledBy: string }).handledBy,
    )!;
    expect(await servedBy(handler)).toBe(target);

    const restarted = performance.now();
    await redis.start();
    for (const instance of instances) {
      await waitFor(
        () => servedBy(instance),
        (v) => v === target,
        20_000,
      );
      await waitFor(
        () => request<TopologyBody>(`${instance.url}/health/topology`),
        (r) => r.body.details?.redis?.status === 'up',
        15_000,
      );
    }
    // The cluster view is as of each peer's last heartbeat: a peer that wrote
    // its record on reconnecting, before its resync reload finished, shows the
    // new version one heartbeat later.
    await waitFor(
      () => cluster(instances[0]),
      (r) =>
        r.body.fresh &&
        r.body.instances.length === 3 &&
        r.body.instances.every((i) => i.models[0]?.version === target),
      15_000,
    );
    figures.redisRestart = { allResynchronisedMs: Math.round(performance.now() - restarted) };
  });

  it('loses no request when an instance is killed under load, and a survivor takes the lease', async () => {
    const before = await cluster(instances[0]);
    const victim = instances.find((i) => i.id === before.body.leader)!;
    expect(victim).toBeDefined();

    const load = lb.load('/invocations', PREDICTION, {
      concurrency: 8,
      durationMs: 6000,
      maxRequests: 30_000,
    });
    await sleep(2000);
    const killedAt = Date.now();
    await victim.kill();
    const results = await load;

    const failed = results.filter((r) => r.status !== 200);
    figures.killUnderLoad = {
      requests: results.length,
      failed: failed.length,
      byInstance: countBy(results.map((r) => r.instance ?? 'none')),
      killed: victim.id,
    };
    expect(failed).toEqual([]);
    // The load went on after the kill: requests were sent past it, and all were answered.
    expect(results.filter((r) => r.sentAt > killedAt).length).toBeGreaterThan(100);

    const survivor = live()[0];
    const view = await waitFor(
      () => cluster(survivor),
      (r) =>
        r.body.instances.length === 2 && r.body.leader !== undefined && r.body.leader !== victim.id,
      15_000,
    );
    expect(view.body.instances.map((i) => i.id)).not.toContain(victim.id);
  });
});

function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}
