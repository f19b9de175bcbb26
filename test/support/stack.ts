import {
  GenericContainer,
  Network,
  StartedNetwork,
  StartedTestContainer,
  Wait,
} from 'testcontainers';
import { readImages, useLocalContainerEngine } from './images';

/** Credentials the Airflow image is started with (airflow/Dockerfile). */
export const AIRFLOW_CREDENTIALS = { username: 'airflow', password: 'airflow' };

export interface RunningMlflow {
  container: StartedTestContainer;
  url: string;
  /** With `backend: 'postgresql'`: the database container and the network it shares with MLflow. */
  database?: { container: StartedTestContainer; network: StartedNetwork };
  /** Stops MLflow, then its database and network if it has them. */
  stop(): Promise<void>;
}

export interface RunningAirflow {
  container: StartedTestContainer;
  url: string;
}

export interface MlflowOptions {
  /** MLFLOW_SERVER_ALLOWED_HOSTS; unset keeps MLflow's default (localhost and private ranges). */
  allowedHosts?: string;
  /**
   * The backend store: `sqlite` (start.sh's default, one file in the
   * container) or `postgresql`, a PostgreSQL container of its own on a private
   * network (the production setting; the shared stack of global-setup uses it,
   * so the registry suite runs against it).
   */
  backend?: 'sqlite' | 'postgresql';
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

/**
 * A real MLflow server from this repo's mlflow/Dockerfile, artifact proxy on,
 * on SQLite or on PostgreSQL (deployment/postgres's image) as `backend` says.
 */
export async function startMlflow(options: MlflowOptions = {}): Promise<RunningMlflow> {
  useLocalContainerEngine();
  const images = readImages();
  const env: Record<string, string> = { MLFLOW_WORKERS: '1', ...options.env };
  if (options.allowedHosts) {
    env.MLFLOW_SERVER_ALLOWED_HOSTS = options.allowedHosts;
  }
  const port = options.hostNetworkPort;
  if (port !== undefined && options.backend === 'postgresql') {
    throw new Error(
      'startMlflow: hostNetworkPort runs SQLite only (no private network for PostgreSQL)',
    );
  }
  if (port !== undefined)
    Object.assign(env, { MLFLOW_HOST: '127.0.0.1', MLFLOW_PORT: String(port) });
  let database: RunningMlflow['database'];
  let mlflow = new GenericContainer(images.mlflow);
  if (options.backend === 'postgresql') {
    const network = await new Network().start();
    const container = await new GenericContainer(images.postgres)
      .withNetwork(network)
      .withNetworkAliases('mlflow-postgres')
      // Published too: the image EXPOSEs 5432, and testcontainers waits (10 s,
      // then fails) for every exposed port to be bound on the host.
      .withExposedPorts(5432)
      .withEnvironment({
        POSTGRES_USER: 'mlflow',
        POSTGRES_PASSWORD: 'mlflow-test',
        POSTGRES_DB: 'mlflow',
      })
      // Printed after initdb, when the server listens on the network.
      .withWaitStrategy(Wait.forLogMessage('database system is ready to accept connections'))
      .withStartupTimeout(120_000)
      .start();
    database = { container, network };
    env.MLFLOW_BACKEND_STORE_URI =
      'postgresql+psycopg2://mlflow:mlflow-test@mlflow-postgres:5432/mlflow';
    mlflow = mlflow.withNetwork(network);
  }
  mlflow = mlflow
    .withEnvironment(env)
    .withCopyFilesToContainer([
      { source: `${__dirname}/../fixtures/seed_mlflow.py`, target: '/fixtures/seed_mlflow.py' },
    ])
    .withStartupTimeout(240_000);
  mlflow =
    port === undefined
      ? mlflow
          .withExposedPorts(5000)
          .withWaitStrategy(Wait.forHttp('/health', 5000).forStatusCode(200))
      : mlflow
          .withNetworkMode('host')
          // No mapped port to probe: the server says when it listens.
          .withWaitStrategy(Wait.forLogMessage(/Uvicorn running on|Listening at/));
  const container = await mlflow.start().catch(async (error: unknown) => {
    // No reaper on podman: a database left behind would run until someone removes it.
    await database?.container.stop().catch(() => undefined);
    await database?.network.stop().catch(() => undefined);
    throw error;
  });
  return {
    container,
    database,
    url:
      port === undefined
        ? `http://${container.getHost()}:${container.getMappedPort(5000)}`
        : `http://127.0.0.1:${port}`,
    async stop() {
      await container.stop().catch(() => undefined);
      await database?.container.stop().catch(() => undefined);
      await database?.network.stop().catch(() => undefined);
    },
  };
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
