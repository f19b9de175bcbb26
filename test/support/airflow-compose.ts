import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { request, TestRequest, waitFor } from './http';
import { readImages, StackImages } from './images';
import { AIRFLOW_CREDENTIALS } from './stack';

const run = promisify(execFile);

const ROOT = path.resolve(__dirname, '../..');
/** The layout, and the test's MLflow on its network as `mlflow`. */
const COMPOSE_FILES = [
  path.join(ROOT, 'airflow/docker-compose.yml'),
  path.join(ROOT, 'test/fixtures/airflow-production.override.yml'),
];
const COMPONENTS = ['metadatabase', 'scheduler', 'triggerer', 'dag_processor'] as const;

export type AirflowHealth = Record<(typeof COMPONENTS)[number], { status: string } | null>;

export interface AirflowComposeOptions {
  /** The compose project: its containers are `<project>-<service>-1`. */
  project: string;
  /** Where the layout's .env (AIRFLOW_ENV_FILE) is written. */
  workDir: string;
  /** The Modelgate API the DAG calls back, from inside the containers. */
  apiUrl: string;
  callbackToken: string;
  /** More of the compose file's variables (AIRFLOW_EXECUTOR, COMPOSE_PROFILES, ...). */
  env?: Record<string, string>;
}

/**
 * Airflow's production layout (airflow/docker-compose.yml) as the e2e tests
 * drive it: docker-compose through podman's socket, a project of its own, the
 * images of scripts/build-images.sh, the API server and MLflow published on
 * loopback ports the engine picks.
 */
export class AirflowCompose {
  readonly images: StackImages = readImages();
  airflowUrl = '';
  mlflowUrl = '';
  private env: NodeJS.ProcessEnv = {};

  constructor(private readonly options: AirflowComposeOptions) {}

  /** `<project>-<service>-1`: the layout's fixed name of a service's container. */
  container(service: string): string {
    return `${this.options.project}-${service}-1`;
  }

  compose(...args: string[]) {
    return run('docker-compose', [...COMPOSE_FILES.flatMap((f) => ['-f', f]), ...args], {
      env: this.env,
      maxBuffer: 16 * 1024 * 1024,
    });
  }

  /** `docker exec` in one of its containers; stdout, trimmed. */
  async exec(container: string, ...command: string[]): Promise<string> {
    const { stdout } = await run('docker', ['exec', container, ...command], {
      env: this.env,
      timeout: 90_000,
    });
    return stdout.trim();
  }

  /** Writes the .env a real Airflow host would have, starts the layout, waits until healthy. */
  async up(...upArgs: string[]): Promise<void> {
    // The file airflow/.env would be on a real Airflow host (.env.example).
    const envFile = path.join(this.options.workDir, 'airflow.env');
    await writeFile(
      envFile,
      [
        'MLFLOW_TRACKING_URI=http://mlflow:5000',
        `API_SERVER_URL=${this.options.apiUrl}`,
        `API_CALLBACK_TOKEN=${this.options.callbackToken}`,
        `AIRFLOW_USERNAME=${AIRFLOW_CREDENTIALS.username}`,
        `AIRFLOW_PASSWORD=${AIRFLOW_CREDENTIALS.password}`,
        'MODELGATE_RETRAIN_RETRY_DELAY=2',
        '',
      ].join('\n'),
    );
    this.env = {
      ...process.env,
      COMPOSE_PROJECT_NAME: this.options.project,
      AIRFLOW_ENV_FILE: envFile,
      MODELGATE_AIRFLOW_IMAGE: this.images.airflow,
      MODELGATE_POSTGRES_IMAGE: this.images.postgres,
      MODELGATE_MLFLOW_IMAGE: this.images.mlflow,
      // A port the engine picks, on loopback.
      AIRFLOW_BIND_ADDRESS: '127.0.0.1',
      AIRFLOW_PORT: '0',
      ...this.options.env,
    };
    // --no-build: the images are built (scripts/build-images.sh); never build here.
    await this.compose('up', '-d', '--no-build', ...upArgs);
    [this.airflowUrl, this.mlflowUrl] = await Promise.all([
      this.published('airflow-apiserver', 8080),
      this.published('mlflow', 5000),
    ]);
    await waitFor(
      () => this.health().catch(() => undefined),
      (h) => h !== undefined && COMPONENTS.every((k) => h[k]?.status === 'healthy'),
      240_000,
      1000,
    );
  }

  /** Stops and removes its containers and volumes; never fails a teardown. */
  async down(): Promise<void> {
    if (this.env.COMPOSE_PROJECT_NAME) {
      await this.compose('down', '-v', '--timeout', '5').catch(() => undefined);
    }
  }

  async health(): Promise<AirflowHealth> {
    return (
      await request<AirflowHealth>(`${this.airflowUrl}/api/v2/monitor/health`, {
        apiKey: null,
      })
    ).body;
  }

  /** Request options carrying a fresh bearer token of the admin user. */
  async auth(): Promise<TestRequest> {
    const reply = await request<{ access_token: string }>(`${this.airflowUrl}/auth/token`, {
      body: AIRFLOW_CREDENTIALS,
      apiKey: null,
    });
    return { headers: { authorization: `Bearer ${reply.body.access_token}` }, apiKey: null };
  }

  private async published(service: string, port: number): Promise<string> {
    const { stdout } = await this.compose('port', service, String(port));
    return `http://127.0.0.1:${stdout.trim().split(':').pop()}`;
  }
}
