import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunningServer, startServer, stackEnv } from './support/app';
import { CountingProxy } from './support/counting-proxy';
import { request, waitFor } from './support/http';
import { metricValue } from './support/metrics-text';
import { registerDemoModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';
import { RunningAirflow, startAirflow } from './support/stack';

interface Dependency {
  status: 'up' | 'down';
  latencyMs?: number;
  lastSuccess?: string;
  checkedAt?: string;
  failure?: { kind: string; hint: string; message: string };
  [detail: string]: unknown;
}

interface TopologyBody {
  status: 'ok' | 'error';
  details: Record<'api' | 'mlflow' | 'airflow', Dependency>;
}

const ROWS = {
  dataframe_split: {
    columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    data: [[5.1, 3.5, 1.4, 0.2]],
  },
};

describe('Health of the topology against real MLflow and Airflow', () => {
  const MODEL = `health-iris-${Date.now()}`;
  let stack: StackInfo;
  let airflow: RunningAirflow;
  let cacheDir: string;
  let server: RunningServer;

  const url = (p: string) => `${server.url}${p}`;
  const topology = () => request<TopologyBody>(url('/health/topology'));

  beforeAll(async () => {
    stack = sharedStack();
    // Its own Airflow: this test stops it.
    [airflow] = await Promise.all([
      startAirflow(),
      registerDemoModel(stack.mlflowUrl, { name: MODEL, alias: 'champion' }),
    ]);
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-health-'));
    server = await startServer({
      ...stackEnv({ mlflowUrl: stack.mlflowUrl, airflowUrl: airflow.url }),
      MODELS: `models:/${MODEL}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
      HEALTH_CHECK_INTERVAL: '1',
    });
    await waitFor(topology, (r) => r.status === 200);
  });

  afterAll(async () => {
    await server?.app.close();
    await airflow?.container.stop().catch(() => undefined);
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('shows the three servers up, each with latency, last success and what it checked', async () => {
    const reply = await topology();

    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('ok');
    const { api, mlflow, airflow: af } = reply.body.details;
    expect(api).toMatchObject({ status: 'up', draining: false });
    expect(api.models).toEqual([
      expect.objectContaining({ reference: `${MODEL}@champion`, state: 'ready', version: '1' }),
    ]);
    expect(mlflow).toMatchObject({
      status: 'up',
      health: 'OK',
      registry: 'ok',
      target: stack.mlflowUrl,
    });
    expect(mlflow.version).toMatch(/^\d+\.\d+/);
    expect(af).toMatchObject({ status: 'up', authenticated: true, apiVersion: 2 });
    expect(Object.keys(af.components as object)).toEqual(
      expect.arrayContaining(['metadatabase', 'scheduler']),
    );
    for (const dependency of [mlflow, af]) {
      expect(dependency.latencyMs).toEqual(expect.any(Number));
      expect(Date.parse(dependency.lastSuccess!)).not.toBeNaN();
      expect(dependency.failure).toBeUndefined();
    }
  });

  it('summarises service, version and topology at GET /', async () => {
    const reply = await request<{
      service: string;
      version: string;
      status: string;
      ready: boolean;
      topology: Record<string, { status: string }>;
    }>(url('/'));

    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ service: 'modelgate', status: 'ok', ready: true });
    expect(reply.body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(Object.keys(reply.body.topology)).toEqual(['api', 'mlflow', 'airflow']);
  });

  it('exports request, prediction, model, dependency and process metrics', async () => {
    await request(url('/invocations'), { body: ROWS });

    const metrics = await request(url('/metrics'));

    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = metrics.text;
    expect(
      metricValue(text, 'modelgate_http_requests_total', {
        route: '/invocations',
        status: '200',
        model: MODEL,
        version: '1',
      }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'modelgate_prediction_rows_total', { model: MODEL }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'modelgate_model_loads_total', { model: MODEL, outcome: 'loaded' }),
    ).toBe(1);
    expect(metricValue(text, 'modelgate_dependency_up', { dependency: 'mlflow' })).toBe(1);
    expect(metricValue(text, 'modelgate_dependency_up', { dependency: 'airflow' })).toBe(1);
    expect(metricValue(text, 'modelgate_model_cache_hits_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'modelgate_ready')).toBe(1);
    for (const name of [
      'modelgate_http_request_duration_seconds_bucket',
      'modelgate_prediction_batch_rows_bucket',
      'modelgate_prediction_queue_depth',
      'modelgate_model_load_duration_seconds_bucket',
      'modelgate_dependency_check_duration_seconds_bucket',
      'modelgate_upstream_requests_total',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text).toContain(name);
    }
  });

  it('answers 1,000 probes with no call to MLflow: probes read the last background check', async () => {
    // A second server behind a proxy that counts what reaches MLflow, with a
    // check interval longer than the test: the first check is the only one.
    const proxy = new CountingProxy(stack.mlflowUrl);
    const proxied = await startServer({
      ...stackEnv({ mlflowUrl: await proxy.start(), airflowUrl: airflow.url }),
      HEALTH_CHECK_INTERVAL: '3600',
    });
    try {
      const probe = (p: string) => request(`${proxied.url}${p}`);
      await waitFor(
        () => probe('/health/topology'),
        (r) => r.status === 200,
      );
      const before = proxy.count;

      const statuses: number[] = [];
      for (let i = 0; i < 100; i++) {
        const burst = await Promise.all(
          Array.from({ length: 10 }, (_, k) => probe(k % 2 ? '/health/ready' : '/health/topology')),
        );
        statuses.push(...burst.map((r) => r.status));
      }

      expect(statuses).toHaveLength(1000);
      expect(new Set(statuses)).toEqual(new Set([200]));
      expect(proxy.count - before).toBe(0);
      expect(proxy.paths).toEqual(
        expect.arrayContaining(['GET /health', 'GET /api/2.0/mlflow/registered-models/search']),
      );
    } finally {
      await proxied.app.close();
      await proxy.stop();
    }
  });

  describe('when the Airflow container is stopped', () => {
    beforeAll(async () => {
      await airflow.container.stop();
      await waitFor(
        topology,
        (r) => r.body.details?.airflow?.failure?.kind === 'connection_refused',
      );
    });

    it('shows Airflow down as "connection refused", with a hint and its last success', async () => {
      const reply = await topology();

      expect(reply.status).toBe(503);
      expect(reply.body.status).toBe('error');
      const af = reply.body.details.airflow;
      expect(af.failure?.kind).toBe('connection_refused');
      expect(af.failure?.hint).toContain('Airflow is not running on');
      expect(af.failure?.hint).toContain('firewall');
      expect(Date.parse(af.lastSuccess!)).toBeLessThan(Date.parse(af.checkedAt!));
      expect(reply.body.details.mlflow.status).toBe('up');
    });

    it('stays ready: readiness does not depend on Airflow by default', async () => {
      const ready = await request(url('/health/ready'));
      const root = await request<{ status: string; ready: boolean }>(url('/'));

      expect(ready.status).toBe(200);
      expect(root.status).toBe(200);
      expect(root.body).toMatchObject({ status: 'degraded', ready: true });
    });

    it('keeps serving predictions', async () => {
      const reply = await request<{ predictions: unknown[] }>(url('/invocations'), { body: ROWS });

      expect(reply.status).toBe(200);
      expect(reply.body.predictions).toHaveLength(1);
      expect(reply.headers.get('x-model-version')).toBe('1');
    });

    it('counts the failed checks by kind in the metrics', async () => {
      const text = (await request(url('/metrics'))).text;

      expect(metricValue(text, 'modelgate_dependency_up', { dependency: 'airflow' })).toBe(0);
      expect(
        metricValue(text, 'modelgate_dependency_checks_total', {
          dependency: 'airflow',
          outcome: 'down',
          kind: 'connection_refused',
        }),
      ).toBeGreaterThanOrEqual(1);
    });
  });
});
