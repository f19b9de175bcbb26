import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AirflowCompose } from './support/airflow-compose';
import { RunningServer, startServer } from './support/app';
import { request, waitFor } from './support/http';
import { useLocalContainerEngine } from './support/images';
import { freePort } from './support/ports';

const run = promisify(execFile);

const ROOT = path.resolve(__dirname, '..');
const DAG = 'modelgate_retrain';
const MODEL = 'iris-classifier';
const TOKEN = 'airflow-production-callback-token';

interface Dependency {
  status: 'up' | 'down';
  failure?: { kind: string; hint: string; message: string };
}
interface TopologyBody {
  details: Record<'api' | 'mlflow' | 'airflow', Dependency>;
}
interface RunView {
  dagId: string;
  runId: string;
  state: string;
  tasks?: { taskId: string; state?: string }[];
}

/**
 * Airflow's production layout (airflow/docker-compose.yml) with its real
 * containers, driven by docker-compose through podman's socket: PostgreSQL,
 * airflow-init, the API server, scheduler, DAG processor and triggerer on
 * LocalExecutor, plus this test's MLflow on the same network
 * (test/fixtures/airflow-production.override.yml). The API server runs here and
 * is called back through host.containers.internal. Then the scheduler
 * container is stopped and the API, the doctor and the status page must name it.
 * The `celery` profile has its own file (airflow-celery.e2e-spec.ts).
 */
describe('Airflow in its production layout (airflow/docker-compose.yml)', () => {
  let workDir: string;
  let airflow: AirflowCompose;
  let scheduler: string;
  let api: RunningServer;
  let apiEnv: Record<string, string>;

  const topology = () => request<TopologyBody>(`${api.url}/health/topology`);

  beforeAll(async () => {
    useLocalContainerEngine();
    const apiPort = await freePort();
    workDir = await mkdtemp(path.join(tmpdir(), 'mg-airflow-prod-'));
    airflow = new AirflowCompose({
      project: `mgafprod${Date.now()}`,
      workDir,
      apiUrl: `http://host.containers.internal:${apiPort}`,
      callbackToken: TOKEN,
      // The stopped scheduler shows as unhealthy after 10 s, not Airflow's 30.
      env: { AIRFLOW_SCHEDULER_HEALTH_CHECK_THRESHOLD: '10' },
    });
    scheduler = airflow.container('airflow-scheduler');
    await airflow.up();
    apiEnv = {
      MLFLOW_TRACKING_URI: airflow.mlflowUrl,
      AIRFLOW_BASE_URL: airflow.airflowUrl,
      AIRFLOW_USERNAME: 'airflow',
      AIRFLOW_PASSWORD: 'airflow',
      API_CALLBACK_TOKEN: TOKEN,
      TRAINING_DAG_ID: DAG,
      MODELS: `models:/${MODEL}@champion`,
      MODEL_REFRESH_INTERVAL: '0',
      HEALTH_CHECK_INTERVAL: '1',
    };
    api = await startServer(apiEnv, { listen: { host: '0.0.0.0', port: apiPort } });
  }, 420_000);

  afterAll(async () => {
    await api?.app.close();
    await airflow?.down();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('parses the DAGs: both listed, no import errors', async () => {
    const auth = await airflow.auth();
    const dags = await waitFor(
      async () =>
        (await request<{ dags: { dag_id: string }[] }>(`${airflow.airflowUrl}/api/v2/dags`, auth))
          .body,
      (body) => body.dags.some((d) => d.dag_id === DAG),
      60_000,
    );
    const errors = await request<{ total_entries: number }>(
      `${airflow.airflowUrl}/api/v2/importErrors`,
      auth,
    );

    expect(dags.dags.map((d) => d.dag_id)).toEqual(
      expect.arrayContaining([DAG, 'modelgate_smoke']),
    );
    expect(errors.status).toBe(200);
    expect(errors.body.total_entries).toBe(0);
  });

  it('runs the retraining DAG in the scheduler container (LocalExecutor), which calls the API back', async () => {
    const triggered = await request<RunView>(`${api.url}/v1/training/runs`, {
      body: { conf: { C: 1.0 } },
    });
    expect(triggered.status).toBe(201);
    const done = await waitFor(
      async () =>
        (await request<RunView>(`${api.url}/v1/training/runs/${DAG}/${triggered.body.runId}`)).body,
      (r) => r.state === 'success' || r.state === 'failed',
      240_000,
    );

    expect(done.state).toBe('success');
    expect(done.tasks?.every((t) => t.state === 'success')).toBe(true);
    // The tasks ran where LocalExecutor runs them: in the scheduler's container.
    const instances = await request<{ task_instances: { hostname: string }[] }>(
      `${airflow.airflowUrl}/api/v2/dags/${DAG}/dagRuns/${encodeURIComponent(done.runId)}/taskInstances`,
      await airflow.auth(),
    );
    const schedulerHost = await airflow.exec(scheduler, 'hostname');
    expect(new Set(instances.body.task_instances.map((t) => t.hostname))).toEqual(
      new Set([schedulerHost]),
    );
    // The callback, not a poll (MODEL_REFRESH_INTERVAL=0), brought the version in.
    const models = await waitFor(
      async () =>
        (
          await request<{ recentReloads: { trigger: string; status: string }[] }>(
            `${api.url}/v1/models`,
          )
        ).body,
      (m) => m.recentReloads.some((r) => r.trigger.includes(`airflow callback ${done.runId}`)),
      30_000,
    );
    expect(models.recentReloads.length).toBeGreaterThan(0);
  });

  it("answers the guide's check: docker exec <project>-airflow-scheduler-1 curl http://mlflow:5000/health", async () => {
    const answer = await airflow.exec(
      scheduler,
      ...['curl', '-fsS', '--max-time', '10', 'http://mlflow:5000/health'],
    );

    expect(answer).toBe('OK');
  });

  describe('when the scheduler container is stopped', () => {
    beforeAll(async () => {
      await airflow.compose('stop', '--timeout', '5', 'airflow-scheduler');
      await waitFor(
        topology,
        (r) => r.body.details?.airflow?.failure?.kind === 'unhealthy_component',
        90_000,
      );
    }, 120_000);

    it('shows Airflow as unhealthy_component naming the scheduler in /health/topology', async () => {
      const { body } = await topology();
      const airflow = body.details.airflow;

      expect(airflow.status).toBe('down');
      expect(airflow.failure?.kind).toBe('unhealthy_component');
      expect(airflow.failure?.message).toContain('scheduler');
      expect(airflow.failure?.hint).toContain('scheduler (unhealthy)');
      expect(body.details.mlflow.status).toBe('up');
    });

    it('the doctor says so, with the hint, and exits 1', async () => {
      const doctor = await run(process.execPath, [path.join(ROOT, 'dist/doctor.js'), '--json'], {
        cwd: workDir,
        env: { ...process.env, LOG_LEVEL: 'error', ...apiEnv },
      }).then(
        () => {
          throw new Error('the doctor passed with the scheduler stopped');
        },
        (error: { code: number; stdout: string }) => error,
      );
      const report = JSON.parse(doctor.stdout) as {
        ok: boolean;
        checks: Record<string, { steps: { ok: boolean; failure?: Dependency['failure'] }[] }>;
      };
      const failed = report.checks.Airflow.steps.find((s) => !s.ok);

      expect(doctor.code).toBe(1);
      expect(report.ok).toBe(false);
      expect(failed?.failure?.kind).toBe('unhealthy_component');
      expect(failed?.failure?.hint).toContain('scheduler (unhealthy)');
    });

    it('the status page says so, with the hint', async () => {
      const root = await request<{ status: string }>(`${api.url}/`);
      const page = await request(`${api.url}/status`, { headers: { accept: 'text/html' } });

      expect(root.body.status).toBe('degraded');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Unhealthy component');
      expect(page.text).toContain('scheduler (unhealthy)');
    });
  });
});
