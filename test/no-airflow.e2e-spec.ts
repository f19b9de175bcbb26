import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunningServer, startServer } from './support/app';
import { request, waitFor } from './support/http';
import { registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

interface TopologyBody {
  status: 'ok' | 'error';
  details: Record<string, { status: string; missing?: string[]; failure?: unknown }>;
}

interface ApiError {
  statusCode: number;
  error: string;
  message: string;
}

const ROWS = {
  dataframe_split: {
    columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    data: [[5.1, 3.5, 1.4, 0.2]],
  },
};

const AIRFLOW_VARIABLES = ['AIRFLOW_BASE_URL', 'AIRFLOW_USERNAME', 'AIRFLOW_PASSWORD'];

/** A serving-only instance: MLflow and a model, no Airflow variable at all. */
describe('An instance without Airflow configured, against real MLflow', () => {
  const MODEL = `no-airflow-iris-${Date.now()}`;
  const saved: Record<string, string | undefined> = {};
  let cacheDir: string;
  let server: RunningServer;

  const url = (p: string) => `${server.url}${p}`;
  const topology = () => request<TopologyBody>(url('/health/topology'));

  beforeAll(async () => {
    const stack = sharedStack();
    // Nothing from the surrounding environment may configure Airflow behind the test's back.
    for (const name of AIRFLOW_VARIABLES) {
      saved[name] = process.env[name];
      delete process.env[name];
    }
    await registerDemoModel(stack.mlflowUrl, { name: MODEL, alias: 'champion' });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-no-airflow-'));
    server = await startServer({
      MLFLOW_TRACKING_URI: stack.mlflowUrl,
      MODELS: `models:/${MODEL}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
      HEALTH_CHECK_INTERVAL: '1',
    });
    await waitFor(
      () => request(url('/health/ready')),
      (r) => r.status === 200,
    );
  });

  afterAll(async () => {
    await server?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
    for (const [name, value] of Object.entries(saved)) {
      if (value !== undefined) process.env[name] = value;
    }
  });

  it('starts and serves predictions', async () => {
    const reply = await request<{ predictions: unknown[] }>(url('/invocations'), { body: ROWS });

    expect(reply.status).toBe(200);
    expect(reply.body.predictions).toHaveLength(1);
  });

  it('shows Airflow as not_configured in the topology, naming what to set, and is no failure', async () => {
    const reply = await waitFor(topology, (r) => r.body.details?.mlflow?.status === 'up');

    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('ok');
    expect(reply.body.details.airflow).toMatchObject({
      status: 'not_configured',
      missing: AIRFLOW_VARIABLES,
    });
    expect(reply.body.details.airflow.failure).toBeUndefined();
  });

  it('stays ready: readiness does not wait for an Airflow it does not have', async () => {
    const reply = await request(url('/health/ready'));

    expect(reply.status).toBe(200);
  });

  it('answers POST /v1/training/runs 503, saying Airflow is not configured and what to set', async () => {
    const reply = await request<ApiError>(url('/v1/training/runs'), {
      body: { dagId: 'modelgate_retrain', conf: {} },
    });

    expect(reply.status).toBe(503);
    expect(reply.body.error).toBe('TEMPORARILY_UNAVAILABLE');
    expect(reply.body.message).toContain('Airflow is not configured');
    for (const name of AIRFLOW_VARIABLES) expect(reply.body.message).toContain(name);
  });

  it('answers GET /v1/training/runs/{dagId}/{runId} 503 the same way', async () => {
    const reply = await request<ApiError>(url('/v1/training/runs/modelgate_retrain/some_run'));

    expect(reply.status).toBe(503);
    expect(reply.body.message).toContain('Airflow is not configured');
  });
});
