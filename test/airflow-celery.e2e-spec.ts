import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
const TOKEN = 'airflow-celery-callback-token';
const WORKERS = 2;
/** The Celery app the compose file's worker health check pings through. */
const CELERY_APP = 'airflow.providers.celery.executors.celery_executor.app';

interface RunView {
  dagId: string;
  runId: string;
  state: string;
  tasks?: { taskId: string; state?: string }[];
}
interface ModelsBody {
  models: { name: string; version?: string; lineage?: { dagRunId?: string } }[];
  recentReloads: { trigger: string; status: string; to?: string }[];
}

/**
 * The `celery` profile of Airflow's production layout (airflow/docker-compose.yml)
 * with its real containers: the LocalExecutor layout plus the Redis broker and
 * two `airflow-worker` containers (--scale), on CeleryExecutor, with this
 * test's MLflow beside them (test/fixtures/airflow-production.override.yml).
 * The API server runs here and is called back through host.containers.internal.
 * Podman without systemd runs no health check by itself: the test runs the
 * compose file's checks with `podman healthcheck run`.
 */
describe('Airflow on CeleryExecutor (airflow/docker-compose.yml, profile celery)', () => {
  let workDir: string;
  let airflow: AirflowCompose;
  let api: RunningServer;
  let workerIds: string[];

  const hostnameOf = (container: string) => airflow.exec(container, 'hostname');
  /** The container's own health check, once: true when it passes. */
  const healthy = (container: string) =>
    run('podman', ['healthcheck', 'run', container], { timeout: 90_000 }).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    useLocalContainerEngine();
    // Redis: the cluster images' (content-hashed; seconds when nothing changed).
    const clusterImages = await run('bash', [path.join(ROOT, 'scripts/cluster-images.sh')], {
      cwd: ROOT,
      timeout: 600_000,
    });
    const redisImage = /^MODELGATE_REDIS_IMAGE=(.+)$/m.exec(clusterImages.stdout)?.[1];
    if (!redisImage) throw new Error(`no Redis image in: ${clusterImages.stdout}`);

    const apiPort = await freePort();
    workDir = await mkdtemp(path.join(tmpdir(), 'mg-airflow-celery-'));
    airflow = new AirflowCompose({
      project: `mgafcelery${Date.now()}`,
      workDir,
      apiUrl: `http://host.containers.internal:${apiPort}`,
      callbackToken: TOKEN,
      env: {
        // Every compose command (up, ps, down) sees the profile's services.
        COMPOSE_PROFILES: 'celery',
        AIRFLOW_EXECUTOR: 'CeleryExecutor',
        AIRFLOW_PARALLELISM: String(WORKERS * 2),
        AIRFLOW_WORKER_CONCURRENCY: '2',
        AIRFLOW_REDIS_PASSWORD: randomBytes(16).toString('hex'),
        MODELGATE_REDIS_IMAGE: redisImage,
      },
    });
    await airflow.up('--scale', `airflow-worker=${WORKERS}`);
    workerIds = (await airflow.compose('ps', '-q', 'airflow-worker')).stdout.trim().split(/\s+/);
    api = await startServer(
      {
        MLFLOW_TRACKING_URI: airflow.mlflowUrl,
        AIRFLOW_BASE_URL: airflow.airflowUrl,
        AIRFLOW_USERNAME: 'airflow',
        AIRFLOW_PASSWORD: 'airflow',
        API_CALLBACK_TOKEN: TOKEN,
        TRAINING_DAG_ID: DAG,
        MODELS: `models:/${MODEL}@champion`,
        MODEL_REFRESH_INTERVAL: '0',
        HEALTH_CHECK_INTERVAL: '1',
      },
      { listen: { host: '0.0.0.0', port: apiPort } },
    );
  }, 540_000);

  afterAll(async () => {
    await api?.app.close();
    await airflow?.down();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }, 120_000);

  it('runs two workers, each healthy by its own check and answering through the password-protected broker', async () => {
    expect(workerIds).toHaveLength(WORKERS);
    const redis = airflow.container('airflow-redis');
    // A worker connects to the broker a while after its container starts.
    for (const id of [redis, ...workerIds]) {
      await waitFor(() => healthy(id), Boolean, 240_000, 5000);
    }
    const hosts = await Promise.all(workerIds.map(hostnameOf));
    // The scheduler's view: one pong per worker, by name.
    const pongs = await airflow.exec(
      airflow.container('airflow-scheduler'),
      ...['celery', '--app', CELERY_APP, 'inspect', 'ping', '--timeout', '10'],
    );
    // Redis refuses a client without the password.
    const anonymous = await run('podman', [
      'exec',
      redis,
      'env',
      '-u',
      'REDISCLI_AUTH',
      'redis-cli',
      'PING',
    ]).then(
      (r) => r.stdout + r.stderr,
      (e: { stdout: string; stderr: string }) => e.stdout + e.stderr,
    );

    expect(new Set(hosts).size).toBe(WORKERS);
    for (const host of hosts) expect(pongs).toContain(`celery@${host}: OK`);
    expect(pongs).toContain(`${WORKERS} nodes online`);
    expect(anonymous).toContain('NOAUTH');
  });

  it('runs the retraining DAG on the workers, whose callback reloads the model in the API', async () => {
    const triggered = await request<RunView>(`${api.url}/v1/training/runs`, {
      body: { conf: { C: 1.0 } },
    });
    expect(triggered.status).toBe(201);
    const done = await waitFor(
      async () =>
        (await request<RunView>(`${api.url}/v1/training/runs/${DAG}/${triggered.body.runId}`)).body,
      (r) => r.state === 'success' || r.state === 'failed',
      240_000,
      2000,
    );

    expect(done.state).toBe('success');
    expect(done.tasks?.every((t) => t.state === 'success')).toBe(true);
    // Every task ran in a worker container, none in the scheduler's.
    const instances = await request<{ task_instances: { task_id: string; hostname: string }[] }>(
      `${airflow.airflowUrl}/api/v2/dags/${DAG}/dagRuns/${encodeURIComponent(done.runId)}/taskInstances`,
      await airflow.auth(),
    );
    const workerHosts = await Promise.all(workerIds.map(hostnameOf));
    const taskHosts = instances.body.task_instances.map((t) => t.hostname);
    expect(taskHosts.length).toBeGreaterThan(0);
    expect(taskHosts).toHaveLength(done.tasks?.length ?? 0);
    for (const host of taskHosts) expect(workerHosts).toContain(host);
    expect(taskHosts).not.toContain(await hostnameOf(airflow.container('airflow-scheduler')));
    // The callback, not a poll (MODEL_REFRESH_INTERVAL=0), loaded the version
    // this run trained (a fresh registry: the run's version is the champion).
    const models = await waitFor(
      async () => (await request<ModelsBody>(`${api.url}/v1/models`)).body,
      (m) => m.recentReloads.some((r) => r.trigger === `airflow callback ${done.runId}`),
      30_000,
    );
    const reload = models.recentReloads.find((r) => r.trigger === `airflow callback ${done.runId}`);
    expect(['loaded', 'swapped']).toContain(reload?.status);
    const served = models.models.find((m) => m.name === MODEL);
    expect(served?.version).toBe(reload?.to);
    expect(served?.lineage?.dagRunId).toBe(done.runId);
  });

  it('refuses CeleryExecutor without a broker URL, and a worker under another executor, with exit 64', async () => {
    const start = (env: string[]) =>
      run(
        'podman',
        [
          'run',
          '--rm',
          '--network',
          'none',
          ...env.flatMap((e) => ['--env', e]),
          airflow.images.airflow,
          'airflow',
          'celery',
          'worker',
        ],
        { timeout: 60_000 },
      ).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );

    const noBroker = await start(['AIRFLOW__CORE__EXECUTOR=CeleryExecutor']);
    const notCelery = await start([
      'AIRFLOW__CORE__EXECUTOR=LocalExecutor',
      'AIRFLOW__CELERY__BROKER_URL=redis://:secret@airflow-redis:6379/0',
    ]);

    expect(noBroker.code).toBe(64);
    expect(noBroker.stderr).toContain('needs a Celery broker: set AIRFLOW__CELERY__BROKER_URL');
    expect(notCelery.code).toBe(64);
    expect(notCelery.stderr).toContain('needs AIRFLOW__CORE__EXECUTOR=CeleryExecutor');
    expect(notCelery.stderr).not.toContain('secret');
  });
});
