import { GenericContainer, StartedTestContainer, Wait } from 'testcontainers';
import { readImages, useLocalContainerEngine } from './images';

/** Credentials the Airflow image is started with (airflow/Dockerfile). */
export const AIRFLOW_CREDENTIALS = { username: 'airflow', password: 'airflow' };

export interface RunningMlflow {
  container: StartedTestContainer;
  url: string;
}

export interface RunningAirflow {
  container: StartedTestContainer;
  url: string;
}

export interface MlflowOptions {
  /** MLFLOW_SERVER_ALLOWED_HOSTS; unset keeps MLflow's default (localhost and private ranges). */
  allowedHosts?: string;
  /** More of the server's environment (e.g. MLflow's webhook settings). */
  env?: Record<string, string>;
  /**
   * Runs it in the host's network on 127.0.0.1:<port> instead of publishing
   * a port, so the server can reach the test's own servers on loopback
   * (registry webhooks calling back an API the test runs).
   */
  hostNetworkPort?: number;
}

export interface AirflowOptions {
  /** Lifetime of REST API tokens, seconds (`[api_auth] jwt_expiration_time`). */
  tokenLifetimeSeconds?: number;
}

/** A real MLflow server from this repo's mlflow/Dockerfile, SQLite backend, artifact proxy on. */
export async function startMlflow(options: MlflowOptions = {}): Promise<RunningMlflow> {
  useLocalContainerEngine();
  const env: Record<string, string> = { MLFLOW_WORKERS: '1', ...options.env };
  if (options.allowedHosts) {
    env.MLFLOW_SERVER_ALLOWED_HOSTS = options.allowedHosts;
  }
  const port = options.hostNetworkPort;
  if (port !== undefined)
    Object.assign(env, { MLFLOW_HOST: '127.0.0.1', MLFLOW_PORT: String(port) });
  let image = new GenericContainer(readImages().mlflow)
    .withEnvironment(env)
    .withCopyFilesToContainer([
      { source: `${__dirname}/../fixtures/seed_mlflow.py`, target: '/fixtures/seed_mlflow.py' },
    ])
    .withStartupTimeout(240_000);
  image =
    port === undefined
      ? image
          .withExposedPorts(5000)
          .withWaitStrategy(Wait.forHttp('/health', 5000).forStatusCode(200))
      : image
          .withNetworkMode('host')
          // No mapped port to probe: the server says when it listens.
          .withWaitStrategy(Wait.forLogMessage(/Uvicorn running on|Listening at/));
  const container = await image.start();
  const url =
    port === undefined
      ? `http://${container.getHost()}:${container.getMappedPort(5000)}`
      : `http://127.0.0.1:${port}`;
  return { container, url };
}

/** A real Airflow 3 (`airflow standalone`) from this repo's airflow/Dockerfile. */
export async function startAirflow(options: AirflowOptions = {}): Promise<RunningAirflow> {
  useLocalContainerEngine();
  const env: Record<string, string> = {};
  if (options.tokenLifetimeSeconds) {
    env.AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME = String(options.tokenLifetimeSeconds);
    // Airflow accepts a token for JWT_LEEWAY (10 s) past its expiry; none here,
    // so a test sees a token expire when its `exp` says.
    env.AIRFLOW__API_AUTH__JWT_LEEWAY = '0';
  }
  const container = await new GenericContainer(readImages().airflow)
    .withExposedPorts(8080)
    .withEnvironment(env)
    .withWaitStrategy(
      Wait.forHttp('/api/v2/monitor/health', 8080)
        .forStatusCode(200)
        .forResponsePredicate((body) => {
          try {
            const health = JSON.parse(body) as Record<string, { status?: string } | null>;
            return (
              health.metadatabase?.status === 'healthy' && health.scheduler?.status === 'healthy'
            );
          } catch {
            return false;
          }
        }),
    )
    .withStartupTimeout(420_000)
    .start();
  return { container, url: `http://${container.getHost()}:${container.getMappedPort(8080)}` };
}

export interface SeededVersion {
  version: string;
  run_id: string;
  model_id: string | null;
  experiment_id: string;
  /** relative path → SHA-256, as MLflow's own client downloaded them */
  files: Record<string, string>;
}

export interface SeededModel {
  model: string;
  mlflow_version: string;
  versions: SeededVersion[];
}

/** Registers a model with two versions and aliases, with MLflow's own Python client. */
export async function seedMlflow(mlflow: RunningMlflow, modelName: string): Promise<SeededModel> {
  const result = await mlflow.container.exec(['python', '/fixtures/seed_mlflow.py', modelName], {
    env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000', PYTHONWARNINGS: 'ignore' },
  });
  if (result.exitCode !== 0) {
    throw new Error(`seeding MLflow failed (${result.exitCode}):\n${result.output}`);
  }
  const lastLine = result.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(lastLine) as SeededModel;
}
