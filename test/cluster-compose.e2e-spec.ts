import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as https from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { GRPC_LOADER_OPTIONS, PROTO_FILE } from '../src/grpc/grpc.server';
import { TEST_API_KEY, TEST_API_KEYS } from './support/credentials';
import { Reply, request, waitFor } from './support/http';
import { readImages, useLocalContainerEngine } from './support/images';
import { freePort } from './support/ports';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const LOGS = path.join(ROOT, '.cache/cluster-compose');
const MODEL = 'iris-classifier';
const DAG = 'modelgate_retrain';
const INSTANCES = ['api1', 'api2', 'api3'] as const;
const PREDICTION = {
  dataframe_split: {
    columns: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
    data: [
      [5.1, 3.5, 1.4, 0.2],
      [6.7, 3.0, 5.2, 2.3],
    ],
  },
};

interface RunView {
  dagId: string;
  runId: string;
  state: string;
  tasks?: { taskId: string; state?: string }[];
}

interface ModelsView {
  models: { name: string; reference: string; state: string; version?: string }[];
}

interface ClusterBody {
  instances: { id: string; models: { reference: string; version?: string }[] }[];
}

interface Answer {
  status: number;
  instance: string | null;
  version: string | null;
  sentAt: number;
}

/**
 * The cluster compose file end to end, as `scripts/quickstart.sh --cluster`
 * runs it: docker-compose.yml (MLflow, Airflow, Redis) with
 * deployment/compose/cluster.yml over it (api1..3 in distributed mode, Redis
 * with a password, nginx rendered by deployment/nginx/render.sh), all in
 * containers of one compose project of this test's own, on free loopback
 * ports, removed with its volumes at the end.
 *
 * Images: MLflow and Airflow from scripts/build-images.sh (.images.env);
 * Redis, nginx and the slim API image from scripts/cluster-images.sh
 * (content-hashed; `npm test`'s set-up builds them). The API image's
 * node_modules are its own; its code is this checkout's dist/ (npm run
 * build), mounted over the image's, so the test runs the code under test
 * without rebuilding the image.
 */
describe('The cluster compose file (docker-compose.yml + deployment/compose/cluster.yml)', () => {
  const project = `mgcluster${Date.now()}`;
  const env: Record<string, string> = {};
  let compose: string[];
  let dir: string;
  const ports = {} as Record<'nginx' | 'https' | 'grpc' | 'mlflow' | 'airflow' | 'redis', number> &
    Record<(typeof INSTANCES)[number], number>;
  let nginxUrl: string;
  let version: string;

  const dc = async (...args: string[]) =>
    run('docker-compose', [...compose, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 64 * 1024 * 1024,
    });
  const instanceUrl = (name: (typeof INSTANCES)[number]) => `http://127.0.0.1:${ports[name]}`;
  const containerOf = async (service: string) => (await dc('ps', '-q', service)).stdout.trim();
  /** The self-signed certificate nginx made at start (for 127.0.0.1 among others). */
  const certificateOfNginx = async () =>
    (
      await run('podman', [
        'exec',
        await containerOf('nginx'),
        'cat',
        '/var/lib/modelgate-nginx/tls/cert.pem',
      ])
    ).stdout;

  beforeAll(async () => {
    useLocalContainerEngine();
    const stack = readImages();
    // Seconds when nothing changed; a first build on a fresh machine takes minutes.
    const built = await run('bash', [path.join(ROOT, 'scripts/cluster-images.sh'), '--api-slim'], {
      cwd: ROOT,
      timeout: 900_000,
    });
    for (const line of built.stdout.trim().split('\n')) {
      const [key, value] = line.split('=', 2);
      env[key] = value;
    }
    for (const name of ['nginx', 'https', 'grpc', 'mlflow', 'airflow', 'redis', ...INSTANCES]) {
      ports[name as keyof typeof ports] = await freePort();
    }
    Object.assign(env, {
      DOCKER_HOST: process.env.DOCKER_HOST ?? '',
      MODELGATE_MLFLOW_IMAGE: stack.mlflow,
      MODELGATE_AIRFLOW_IMAGE: stack.airflow,
      MODELGATE_POSTGRES_IMAGE: stack.postgres,
      MODELGATE_API_PORT: String(ports.nginx),
      MODELGATE_HTTPS_PORT: String(ports.https),
      MODELGATE_GRPC_PORT: String(ports.grpc),
      MODELGATE_MLFLOW_PORT: String(ports.mlflow),
      MODELGATE_AIRFLOW_PORT: String(ports.airflow),
      MODELGATE_REDIS_PORT: String(ports.redis),
      MODELGATE_API1_PORT: String(ports.api1),
      MODELGATE_API2_PORT: String(ports.api2),
      MODELGATE_API3_PORT: String(ports.api3),
      API_KEYS: TEST_API_KEYS,
      API_CALLBACK_TOKEN: randomBytes(24).toString('hex'),
      API_REDIS_PASSWORD: randomBytes(16).toString('hex'),
      API_CLUSTER_SECRET: randomBytes(32).toString('hex'),
    });
    // The checkout's build in every instance, read-only.
    dir = await mkdtemp(path.join(tmpdir(), 'mg-cluster-compose-'));
    const override = path.join(dir, 'dist-override.yml');
    await writeFile(
      override,
      [
        "version: '3.8'",
        'services:',
        ...INSTANCES.flatMap((name) => [
          `  ${name}:`,
          '    volumes:',
          `      - ${path.join(ROOT, 'dist')}:/app/dist:ro`,
        ]),
        '',
      ].join('\n'),
    );
    compose = [
      '-p',
      project,
      '-f',
      'docker-compose.yml',
      '-f',
      'deployment/compose/cluster.yml',
      '-f',
      override,
    ];
    nginxUrl = `http://127.0.0.1:${ports.nginx}`;

    await dc('up', '-d', '--no-build');
    await waitFor(
      () => request(`http://127.0.0.1:${ports.mlflow}/health`).catch(() => ({ status: 0 })),
      (r) => r.status === 200,
      240_000,
    );
    for (const name of INSTANCES) {
      await waitFor(
        () => request(`${instanceUrl(name)}/health/live`).catch(() => ({ status: 0 })),
        (r) => r.status === 200,
        120_000,
      );
    }
  }, 1_200_000);

  afterAll(async () => {
    if (!compose) return;
    // The containers' logs, for a failure's post-mortem (CI keeps .cache/).
    await mkdir(LOGS, { recursive: true });
    const logs = await dc('logs', '--no-color').catch((e: Error) => ({ stdout: String(e) }));
    await writeFile(path.join(LOGS, 'compose.log'), logs.stdout);
    await dc('down', '-v', '-t', '10').catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 180_000);

  it('runs three instances that see each other through the password-protected Redis', async () => {
    const cluster = await waitFor(
      () => request<ClusterBody>(`${nginxUrl}/v1/cluster`),
      (r) => r.status === 200 && r.body.instances?.length === 3,
      60_000,
    );

    expect(cluster.body.instances.map((i) => i.id).sort()).toEqual([...INSTANCES]);
    // Redis refuses a client without the password: the instances' state is not open.
    const redis = await containerOf('redis');
    const anonymous = await run('podman', ['exec', redis, 'redis-cli', 'PING']).catch(
      (e: { stdout?: string }) => ({ stdout: e.stdout ?? '' }),
    );
    expect(anonymous.stdout).toContain('NOAUTH');
  });

  it('trains through nginx; the DAG calls back through nginx; every instance serves the new version', async () => {
    // The DAG shows up a few seconds after Airflow's DAG processor starts.
    const triggered = await waitFor(
      () =>
        request<RunView>(`${nginxUrl}/v1/training/runs`, { body: { conf: { force: true } } }).catch(
          (): Reply<RunView> => ({
            status: 0,
            headers: new Headers(),
            body: {} as RunView,
            text: '',
          }),
        ),
      (r) => r.status === 201,
      300_000,
    );
    const finished = await waitFor(
      async () =>
        (await request<RunView>(`${nginxUrl}/v1/training/runs/${DAG}/${triggered.body.runId}`))
          .body,
      (r) => r.state === 'success' || r.state === 'failed',
      420_000,
    );
    expect(finished).toMatchObject({ state: 'success' });
    const alias = await request<{ model_version: { version: string } }>(
      `http://127.0.0.1:${ports.mlflow}/api/2.0/mlflow/registered-models/alias?name=${MODEL}&alias=champion`,
    );
    expect(alias.status).toBe(200);
    version = alias.body.model_version.version;

    // Asked directly, each instance serves it...
    for (const name of INSTANCES) {
      const models = await waitFor(
        () => request<ModelsView>(`${instanceUrl(name)}/v1/models`),
        (r) =>
          r.body.models?.some(
            (m) => m.name === MODEL && m.state === 'ready' && m.version === version,
          ) ?? false,
        120_000,
      );
      expect(models.status).toBe(200);
      const answer = await request(`${instanceUrl(name)}/invocations`, { body: PREDICTION });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('x-model-version')).toBe(version);
      expect(answer.headers.get('x-modelgate-instance')).toBe(name);
    }
    // ...and the cluster view, through nginx, says so for all three.
    const cluster = await waitFor(
      () => request<ClusterBody>(`${nginxUrl}/v1/cluster`),
      (r) =>
        r.body.instances?.length === 3 &&
        r.body.instances.every((i) => i.models.some((m) => m.version === version)),
      30_000,
    );
    expect(cluster.status).toBe(200);
  }, 900_000);

  it('answers over HTTPS with the certificate nginx made for 127.0.0.1', async () => {
    const ca = await certificateOfNginx();

    const reply = await new Promise<{ status: number; version?: string }>((resolve, reject) => {
      const req = https.request(
        `https://127.0.0.1:${ports.https}/invocations`,
        {
          method: 'POST',
          ca,
          headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
        },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              version: res.headers['x-model-version'] as string | undefined,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(PREDICTION));
    });

    expect(reply).toEqual({ status: 200, version });
  });

  it('takes gRPC over TLS on its gRPC port and spreads the calls over the instances', async () => {
    const ca = Buffer.from(await certificateOfNginx());
    const definition = loadSync(PROTO_FILE, GRPC_LOADER_OPTIONS);
    const Service = grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject;
    const Client = Service.GRPCInferenceService as grpc.ServiceClientConstructor;
    const client = new Client(`127.0.0.1:${ports.grpc}`, grpc.credentials.createSsl(ca));
    const modelReady = () =>
      new Promise<{ ready: boolean; instance: string }>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        metadata.set('x-api-key', TEST_API_KEY);
        let instance = '';
        const call = (
          client as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>
        )['ModelReady'];
        const pending = call.call(
          client,
          { name: MODEL },
          metadata,
          (error: unknown, answer: unknown) =>
            error
              ? reject(error as Error)
              : resolve({ ...(answer as { ready: boolean }), instance }),
        );
        pending.on(
          'metadata',
          (m: grpc.Metadata) => (instance = String(m.get('x-modelgate-instance')[0])),
        );
      });

    const answers = [];
    try {
      for (let i = 0; i < 6; i++) answers.push(await modelReady());
    } finally {
      client.close();
    }

    expect(answers.every((a) => a.ready)).toBe(true);
    expect(new Set(answers.map((a) => a.instance))).toEqual(new Set(INSTANCES));
  });

  it('loses no request through nginx while one instance is stopped (podman stop) under load', async () => {
    const answers: Answer[] = [];
    let stopped = false;
    const client = async () => {
      // Bounded: at most 3000 requests in all, and only until the stop is over.
      while (!stopped && answers.length < 3000) {
        const sentAt = Date.now();
        try {
          const reply = await fetch(`${nginxUrl}/invocations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
            body: JSON.stringify(PREDICTION),
          });
          await reply.arrayBuffer();
          answers.push({
            status: reply.status,
            instance: reply.headers.get('x-modelgate-instance'),
            version: reply.headers.get('x-model-version'),
            sentAt,
          });
        } catch {
          answers.push({ status: 0, instance: null, version: null, sentAt });
        }
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, client));

    // Until api2 has taken a share of the load, then stop it as an operator would.
    await waitFor(
      () => Promise.resolve(answers.filter((a) => a.instance === 'api2').length),
      (n) => n >= 10,
      30_000,
    );
    const api2 = await containerOf('api2');
    const stopping = Date.now();
    await run('podman', ['stop', '-t', '45', api2]);
    const stoppedAt = Date.now();
    // Some more load with api2 gone.
    await waitFor(
      () => Promise.resolve(answers.filter((a) => a.sentAt > stoppedAt).length),
      (n) => n >= 100,
      30_000,
    );
    stopped = true;
    await load;

    // What the run saw, for the report (CI keeps .cache/).
    const count = (list: Answer[]) =>
      Object.fromEntries(INSTANCES.map((i) => [i, list.filter((a) => a.instance === i).length]));
    await mkdir(LOGS, { recursive: true });
    await writeFile(
      path.join(LOGS, 'figures.json'),
      JSON.stringify(
        {
          requests: answers.length,
          failed: answers.filter((a) => a.status !== 200).length,
          byInstance: count(answers),
          afterStop: count(answers.filter((a) => a.sentAt > stoppedAt)),
          stopSeconds: (stoppedAt - stopping) / 1000,
        },
        null,
        2,
      ),
    );
    const state = await run('podman', ['inspect', '-f', '{{.State.Running}}', api2]);
    const failed = answers.filter((a) => a.status !== 200);
    const after = answers.filter((a) => a.sentAt > stoppedAt);
    expect(state.stdout.trim()).toBe('false');
    expect(failed).toEqual([]);
    expect(answers.every((a) => a.version === version)).toBe(true);
    expect(new Set(after.map((a) => a.instance))).toEqual(new Set(['api1', 'api3']));
    // The surviving instances drop api2 from the cluster once its heartbeats stop.
    await waitFor(
      () => request<ClusterBody>(`${instanceUrl('api1')}/v1/cluster`),
      (r) =>
        r.body.instances
          ?.map((i) => i.id)
          .sort()
          .join() === 'api1,api3',
      30_000,
    );
  }, 300_000);
});
