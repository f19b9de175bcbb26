import * as http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stackEnv } from './support/app';
import { TEST_AUTH_HEADER } from './support/credentials';
import { request, sleep, waitFor } from './support/http';
import { Instance, startInstance } from './support/instances';
import { LoadBalancer, startLoadBalancer } from './support/load-balancer';
import { metricValue } from './support/metrics-text';
import { RegisteredDemoModel, registerDemoModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const PREDICTION = {
  dataframe_split: {
    columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    data: [
      [5.1, 3.5, 1.4, 0.2],
      [6.7, 3.0, 5.2, 2.3],
    ],
  },
};
const RATE_LIMIT = 100_000;

interface Answer {
  status: number;
  instance?: string;
  version?: string;
  remaining?: number;
  text: string;
}

interface WorkerBody {
  number: number;
  id: string;
  pid?: number;
  restarts: number;
  state: string;
}

interface ClusterBody {
  self: string;
  store: { kind: string; target: string; connected: boolean };
  instances: { id: string; models: { version?: string }[] }[];
  workers?: WorkerBody[];
}

/**
 * One `node dist/main.js` with API_WORKERS=2 (a primary and two workers on
 * one port), against the shared MLflow. Each request goes on a connection of
 * its own, so the primary hands requests to both workers in turn.
 */
describe('API_WORKERS=2: two worker processes behind one port', () => {
  const suffix = Date.now();
  const MODEL = `iris-workers-${suffix}`;
  let stack: StackInfo;
  let versions: RegisteredDemoModel[];
  let dir: string;
  let server: Instance;
  let lb: LoadBalancer | undefined;

  /** One request on a fresh connection (no keep-alive: the next one may reach the other worker). */
  const send = (
    pathname: string,
    body?: unknown,
    method = body === undefined ? 'GET' : 'POST',
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        `${server.url}${pathname}`,
        {
          method,
          agent: false,
          headers: {
            ...TEST_AUTH_HEADER,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              instance: res.headers['x-modelgate-instance'] as string | undefined,
              version: res.headers['x-model-version'] as string | undefined,
              remaining:
                res.headers['ratelimit-remaining'] === undefined
                  ? undefined
                  : Number(res.headers['ratelimit-remaining']),
              text: Buffer.concat(chunks).toString(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });

  const predict = () => send('/invocations', PREDICTION);
  const clusterView = async () => JSON.parse((await send('/v1/cluster')).text) as ClusterBody;
  const requestsTotal = (text: string) =>
    metricValue(text, 'modelgate_http_requests_total', {
      method: 'POST',
      route: '/invocations',
      status: '200',
    });

  beforeAll(async () => {
    stack = sharedStack();
    versions = [
      await registerDemoModel(stack.mlflowUrl, { name: MODEL, c: 1.0, alias: 'champion' }),
      await registerDemoModel(stack.mlflowUrl, { name: MODEL, c: 0.01, alias: null }),
    ];
    dir = await mkdtemp(path.join(tmpdir(), 'mg-workers-'));
    server = await startInstance(`workers-${suffix}`, {
      ...stackEnv(stack),
      API_WORKERS: '2',
      MODELS: `models:/${MODEL}@champion`,
      // Both workers share one disk cache, as on a real host.
      MODEL_CACHE_DIR: dir,
      MODEL_REFRESH_INTERVAL: '3600',
      CLUSTER_HEARTBEAT_INTERVAL: '0.5',
      API_RATE_LIMIT: String(RATE_LIMIT),
      API_RATE_LIMIT_WINDOW: '3600',
      SHUTDOWN_DRAIN_DELAY: '0',
      LOG_LEVEL: 'log',
    });
    await waitFor(
      () => clusterView().catch(() => undefined),
      (view) =>
        view?.workers?.length === 2 &&
        view.workers.every((w) => w.state === 'listening') &&
        view.instances.length === 2 &&
        view.instances.every((i) => i.models[0]?.version === versions[0].version),
      90_000,
    );
  });

  afterAll(async () => {
    await lb?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers from both workers, each naming itself, and lists them in /v1/cluster', async () => {
    const answers: Answer[] = [];
    for (let n = 0; n < 10; n++) answers.push(await predict());
    const view = await clusterView();

    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const ids = new Set(answers.map((a) => a.instance));
    expect([...ids].sort()).toEqual([`workers-${suffix}:w1`, `workers-${suffix}:w2`]);
    expect(view.workers?.map((w) => ({ number: w.number, id: w.id, state: w.state }))).toEqual([
      { number: 1, id: `workers-${suffix}:w1`, state: 'listening' },
      { number: 2, id: `workers-${suffix}:w2`, state: 'listening' },
    ]);
    expect(view.workers?.every((w) => typeof w.pid === 'number' && w.pid !== server.pid)).toBe(
      true,
    );
    expect(view.store).toMatchObject({ kind: 'ipc', connected: true });
    expect(view.instances.map((i) => i.id).sort()).toEqual([...ids].sort());
  });

  it('shows the whole group in /metrics, whichever worker answers the scrape', async () => {
    const before = requestsTotal((await send('/metrics')).text);
    const answers: Answer[] = [];
    for (let n = 0; n < 12; n++) answers.push(await predict());
    // The primary hands each new connection to the next worker that has taken
    // its last one; a busy worker's late acknowledgement can give the same worker
    // two in a row, so the test scrapes until both have answered (a bound of 10).
    const scrapes: Answer[] = [];
    while (scrapes.length < 10 && new Set(scrapes.map((s) => s.instance)).size < 2) {
      scrapes.push(await send('/metrics'));
    }

    expect(new Set(answers.map((a) => a.instance)).size).toBe(2);
    expect(new Set(scrapes.map((s) => s.instance)).size).toBe(2);
    for (const scrape of scrapes) {
      expect(requestsTotal(scrape.text) - before).toBe(12);
      // Each worker loaded the version: the group holds one version, not two.
      expect(metricValue(scrape.text, 'modelgate_models_loaded')).toBe(1);
      expect(metricValue(scrape.text, 'modelgate_workers', { state: 'listening' })).toBe(2);
    }
  });

  it('counts one client against one rate-limit budget in both workers', async () => {
    const answers: Answer[] = [];
    for (let n = 0; n < 8; n++) answers.push(await send('/v1/models'));

    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect(new Set(answers.map((a) => a.instance)).size).toBe(2);
    const remaining = answers.map((a) => a.remaining!);
    // One counter: every answer one lower than the one before, whichever worker gave it.
    expect(remaining.slice(1).map((r, n) => remaining[n] - r)).toEqual(Array(7).fill(1));
  });

  it('serves a reload asked of one worker on the other as well', async () => {
    const target = versions[1].version;
    const alias = await request(`${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias`, {
      body: { name: MODEL, alias: 'champion', version: target },
    });
    expect(alias.status).toBe(200);

    const reload = await send(`/v1/models/${MODEL}/reload`, {});
    expect(reload.status).toBe(200);

    const seen = new Map<string, string | undefined>();
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const answer = await predict();
      if (answer.instance) seen.set(answer.instance, answer.version);
      if (seen.size === 2 && [...seen.values()].every((v) => v === target)) break;
      await sleep(100);
    }
    expect(Object.fromEntries(seen)).toEqual({
      [`workers-${suffix}:w1`]: target,
      [`workers-${suffix}:w2`]: target,
    });
  });

  it('loses no request behind nginx when a worker is killed under load, and restarts it', async () => {
    // The same address twice: a request cut by the dying worker is passed to the
    // "next" server (proxy_next_upstream), which is the port the survivor serves.
    const address = `127.0.0.1:${server.port}`;
    lb = await startLoadBalancer({ upstreams: [address, address] });
    const victim = (await clusterView()).workers!.find((w) => w.number === 1)!;

    const load = lb.load('/invocations', PREDICTION, {
      concurrency: 4,
      durationMs: 4_000,
      maxRequests: 2_000,
    });
    await sleep(1_000);
    const killedAt = Date.now();
    process.kill(victim.pid!, 'SIGKILL');
    const results = await load;

    const failed = results.filter((r) => r.status !== 200);
    const before = results.filter((r) => r.sentAt < killedAt);
    const after = results.filter((r) => r.sentAt >= killedAt);
    console.log(`worker kill under load: ${before.length} requests before, ${after.length} after`);
    expect(before.length).toBeGreaterThan(10);
    expect(after.length).toBeGreaterThan(10);
    // The victim answered before it died, the survivor after.
    expect(new Set(before.map((r) => r.instance))).toContain(victim.id);
    expect(new Set(after.map((r) => r.instance))).toContain(`workers-${suffix}:w2`);
    expect(failed).toEqual([]);
    const restarted = await waitFor(
      () => clusterView(),
      (view) => {
        const slot = view.workers?.find((w) => w.number === 1);
        return slot?.state === 'listening' && slot.restarts === 1;
      },
      30_000,
    );
    expect(restarted.workers!.find((w) => w.number === 1)!.pid).not.toBe(victim.pid);
    expect(server.output()).toMatch(/"msg":"worker 1 exited \(SIGKILL\); restarting it in \d+ ms"/);
  });

  it('drains every worker on SIGTERM and exits 0', async () => {
    await lb?.stop();
    lb = undefined;

    await server.stop();

    expect(server.exit).toEqual({ code: 0, signal: null });
    const output = server.output();
    expect(output.match(/"msg":"shutdown complete"/g)).toHaveLength(2);
    expect(output).toMatch(/"msg":"every worker drained"/);
  });
});
