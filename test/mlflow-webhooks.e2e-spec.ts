import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { signMlflowDelivery } from '../src/auth/mlflow-signature';
import { TEST_API_KEYS } from './support/credentials';
import { TestGrpcClient } from './support/grpc-client';
import { request, waitFor } from './support/http';
import { Instance, TEST_CLUSTER_SECRET, startInstance } from './support/instances';
import { freePort } from './support/ports';
import { RegisteredDemoModel, lastJsonLine, python, registerDemoModel } from './support/python';
import { RunningMlflow, startMlflow } from './support/stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const SECRET = 'mlflow-webhooks-e2e-secret-0123456789';
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

interface ModelsBody {
  models: {
    reference: string;
    version?: string;
    lineage?: {
      runId?: string;
      params: Record<string, string>;
      metrics: Record<string, number>;
      datasets: unknown[];
      mlflowRunUrl?: string;
    };
  }[];
  recentReloads: { reference: string; status: string; to?: string; trigger: string }[];
}

interface WebhookAnswer {
  accepted?: boolean;
  duplicate?: boolean;
  handledBy?: string;
  followed?: { reloaded: { reference: string; status: string }[] };
  error_code?: string;
  message?: string;
}

interface DoctorReport {
  ok: boolean;
  webhook?: { id: string; status: string; events: string[] };
  steps: { ok: boolean; step: string; detail: string }[];
}

/**
 * MLflow registry webhooks on real servers: an MLflow of this file's own
 * (SQLite, webhooks allowed to reach loopback; in the host's network so it
 * can call the API on 127.0.0.1), two API instances in distributed mode on
 * the real Redis (127.0.0.1:6379, a prefix of their own) with polling off and
 * no Airflow. The doctor creates the webhook; MLflow's own Python client
 * moves the alias; MLflow's delivery reaches one instance and the reload
 * broadcast the other.
 */
describe('MLflow registry webhooks', () => {
  const suffix = Date.now();
  const MODEL = `iris-webhook-${suffix}`;
  const REFERENCE = `${MODEL}@champion`;
  let mlflow: RunningMlflow;
  let dir: string;
  let v1: RegisteredDemoModel;
  let v2: RegisteredDemoModel;
  let instances: Instance[] = [];

  const env = (id: string): Record<string, string> => ({
    MLFLOW_TRACKING_URI: mlflow.url,
    API_KEYS: TEST_API_KEYS,
    MODELS: `models:/${REFERENCE}`,
    MODEL_CACHE_DIR: path.join(dir, id),
    // Neither polling nor the DAG's callback: only the webhook may bring v2 in.
    MODEL_REFRESH_INTERVAL: '0',
    API_ENABLE_DISTRIBUTED: 'true',
    API_REDIS_HOST: '127.0.0.1',
    API_REDIS_PORT: '6379',
    API_REDIS_PREFIX: `mg-webhooks-${suffix}:`,
    MLFLOW_WEBHOOK_SECRET: SECRET,
    UPSTREAM_RETRY_BASE_DELAY_MS: '100',
  });

  async function doctor(mode: 'create' | 'check'): Promise<DoctorReport> {
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'dist/doctor.js'), '--webhook', mode, '--json'],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH,
          ...env('doctor'),
          API_CLUSTER_SECRET: TEST_CLUSTER_SECRET,
          API_PUBLIC_URL: instances[0].url,
        },
      },
      // Exit status 1 when the webhook is not in place: the report says why.
    ).catch((error: { stdout?: string; stderr?: string }) => {
      if (!error.stdout) throw new Error(`the doctor printed no report: ${error.stderr}`);
      return { stdout: error.stdout };
    });
    return JSON.parse(stdout) as DoctorReport;
  }

  const served = async (instance: Instance) =>
    (await request<ModelsBody>(`${instance.url}/v1/models`)).body.models.find(
      (m) => m.reference === REFERENCE,
    );

  /** A delivery signed as MLflow signs it, sent by the test. */
  function deliver(
    instance: Instance,
    body: unknown,
    options: { id?: string; timestamp?: number; secret?: string; signature?: string } = {},
  ) {
    const raw = JSON.stringify(body);
    const id = options.id ?? randomUUID();
    const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
    return request<WebhookAnswer>(`${instance.url}/v1/hooks/mlflow`, {
      method: 'POST',
      apiKey: null,
      body: raw,
      headers: {
        'x-mlflow-delivery-id': id,
        'x-mlflow-timestamp': timestamp,
        'x-mlflow-signature':
          options.signature ?? signMlflowDelivery(options.secret ?? SECRET, id, timestamp, raw),
      },
    });
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mg-webhooks-'));
    mlflow = await startMlflow({
      hostNetworkPort: await freePort(),
      env: {
        // The API is on loopback over http: both refused by MLflow's defaults.
        MLFLOW_WEBHOOK_ALLOWED_SCHEMES: 'http,https',
        MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS: 'true',
        MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY: 'jp0v6oo7qZxtt9bQsJdYPCIyCTQvYX5xZYpHn-YWRWk=',
        MLFLOW_WEBHOOK_CACHE_TTL: '1',
      },
    });
    await waitFor(
      () => request(`${mlflow.url}/health`).catch(() => undefined),
      (reply) => reply?.status === 200,
      60_000,
    );
    // Tensor signatures: one float_input [N, 4], the same in both protocols.
    v1 = await registerDemoModel(mlflow.url, {
      name: MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    v2 = await registerDemoModel(mlflow.url, {
      name: MODEL,
      signature: 'tensor',
      alias: null,
      c: 0.05,
    });
    instances = await Promise.all(['wh-a', 'wh-b'].map((id) => startInstance(id, env(id))));
    for (const instance of instances) {
      await waitFor(
        () => served(instance),
        (m) => m?.version === v1.version,
        60_000,
      );
    }
  }, 600_000);

  afterAll(async () => {
    await Promise.allSettled(instances.map((i) => i.stop()));
    await mlflow?.container.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the doctor creates the webhook in MLflow, and MLflow's signed test delivery is accepted", async () => {
    const created = await doctor('create');
    const checked = await doctor('check');

    expect(created).toMatchObject({ ok: true });
    expect(checked).toMatchObject({ ok: true, webhook: { status: 'ACTIVE' } });
    expect(checked.webhook?.events.sort()).toEqual([
      'model_version.created',
      'model_version_alias.created',
      'model_version_alias.deleted',
    ]);
    const listed = await request<{ webhooks: { url: string }[] }>(
      `${mlflow.url}/api/2.0/mlflow/webhooks`,
      { apiKey: null },
    );
    expect(listed.body.webhooks.map((w) => w.url)).toContain(`${instances[0].url}/v1/hooks/mlflow`);
  });

  it("an alias moved with MLflow's own client: every instance serves the new version, polling and callbacks off", async () => {
    // Each instance is watched from before the move, so the figure below is when it served v2.
    const servingAt = instances.map((instance) =>
      waitFor(
        () => served(instance),
        (m) => m?.version === v2.version,
        60_000,
        50,
      ).then(() => Date.now()),
    );
    const stdout = await python(
      [
        '-c',
        'import json, os, time, mlflow\n' +
          'mlflow.MlflowClient().set_registered_model_alias(os.environ["M"], "champion", os.environ["V"])\n' +
          'print(json.dumps({"set_at_ms": time.time() * 1000}))',
      ],
      undefined,
      { MLFLOW_TRACKING_URI: mlflow.url, M: MODEL, V: v2.version },
    );
    const setAt = lastJsonLine<{ set_at_ms: number }>(stdout).set_at_ms;
    const served2 = await Promise.all(servingAt);
    // A figure for the closing note, not an assertion (machine-dependent; 50 ms polling).
    process.stdout.write(
      `webhook figure: set_registered_model_alias returned → both instances serving v${v2.version} ` +
        `${Math.round(Math.max(...served2) - setAt)} ms later\n`,
    );
    const [a, b] = await Promise.all(
      instances.map(async (i) => (await request<ModelsBody>(`${i.url}/v1/models`)).body),
    );
    const swapped = (body: ModelsBody) =>
      body.recentReloads.find((r) => r.status === 'swapped' && r.to === v2.version);
    // The webhook reached wh-a (the doctor registered its URL); wh-b followed its broadcast.
    expect(swapped(a)?.trigger).toMatch(/^mlflow webhook model_version_alias\.created /);
    expect(swapped(b)?.trigger).toMatch(/^peer wh-a: mlflow webhook model_version_alias\.created /);
  });

  it('answers lineage with every prediction, as MLflow says of the run', async () => {
    const [a, b] = instances;
    const run = await request<{
      run: {
        info: { experiment_id: string };
        data: {
          params: { key: string; value: string }[];
          metrics: { key: string; value: number }[];
        };
      };
    }>(`${mlflow.url}/api/2.0/mlflow/runs/get?run_id=${v2.run_id}`, { apiKey: null });
    const params = Object.fromEntries(run.body.run.data.params.map((p) => [p.key, p.value]));
    const metrics = Object.fromEntries(run.body.run.data.metrics.map((m) => [m.key, m.value]));

    const answer = await request(`${b.url}/invocations`, {
      body: { inputs: ROWS },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-model-name')).toBe(MODEL);
    expect(answer.headers.get('x-model-version')).toBe(v2.version);
    expect(answer.headers.get('x-model-run-id')).toBe(v2.run_id);

    const loaded = await served(a);
    expect(loaded?.lineage).toMatchObject({ runId: v2.run_id, params, metrics });
    expect(loaded?.lineage?.mlflowRunUrl).toBe(
      `${mlflow.url}/#/experiments/${run.body.run.info.experiment_id}/runs/${v2.run_id}`,
    );

    const metadata = await request<{ parameters: Record<string, string | number> }>(
      `${a.url}/v2/models/${MODEL}`,
    );
    expect(metadata.body.parameters['mlflow.run_id']).toBe(v2.run_id);
    expect(metadata.body.parameters['param.C']).toBe(params.C);
    expect(metadata.body.parameters['metric.accuracy']).toBe(metrics.accuracy);

    const grpc = new TestGrpcClient(`127.0.0.1:${a.grpcPort}`);
    try {
      const infer = await grpc.call('ModelInfer', {
        model_name: MODEL,
        inputs: [
          {
            name: 'float_input',
            datatype: 'FP32',
            shape: [ROWS.length, 4],
            contents: { fp32_contents: ROWS.flat() },
          },
        ],
      });
      expect(infer.error).toBeUndefined();
      expect(infer.trailing?.get('x-model-version')).toEqual([v2.version]);
      expect(infer.trailing?.get('x-model-run-id')).toEqual([v2.run_id]);
    } finally {
      grpc.close();
    }
  });

  describe('deliveries it refuses or ignores', () => {
    const aliasMoved = () => ({
      entity: 'model_version_alias',
      action: 'created',
      timestamp: new Date().toISOString(),
      data: { name: MODEL, alias: 'champion', version: v2.version },
    });

    it('refuses a signature made with another secret: 401 naming the secret', async () => {
      const reply = await deliver(instances[1], aliasMoved(), {
        secret: 'another-secret-0123456789abcdef',
      });

      expect(reply.status).toBe(401);
      expect(reply.body.message).toMatch(/MLFLOW_WEBHOOK_SECRET/);
    });

    it('refuses a stale timestamp, though correctly signed: 401 naming the tolerance', async () => {
      const reply = await deliver(instances[1], aliasMoved(), {
        timestamp: Math.floor(Date.now() / 1000) - 3600,
      });

      expect(reply.status).toBe(401);
      expect(reply.body.message).toMatch(/MLFLOW_WEBHOOK_TOLERANCE_SECONDS/);
    });

    it('refuses a malformed signature with 400, and an unsigned delivery with 401', async () => {
      const malformed = await deliver(instances[1], aliasMoved(), { signature: 'sha256=abc' });
      const unsigned = await request<WebhookAnswer>(`${instances[1].url}/v1/hooks/mlflow`, {
        method: 'POST',
        apiKey: null,
        body: aliasMoved(),
      });

      expect(malformed.status).toBe(400);
      expect(unsigned.status).toBe(401);
      expect(unsigned.body.message).toMatch(/X-MLflow-Signature/);
    });

    it('acts on a delivery once: the repeat (to another instance) is 2xx and ignored', async () => {
      const id = randomUUID();
      const first = await deliver(instances[0], aliasMoved(), { id });
      const again = await deliver(instances[1], aliasMoved(), { id });

      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ duplicate: false, handledBy: 'wh-a' });
      expect(first.body.followed?.reloaded).toEqual([
        expect.objectContaining({ reference: REFERENCE, status: 'unchanged' }),
      ]);
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ duplicate: true, handledBy: 'wh-a' });
      expect(again.body.followed).toBeUndefined();
    });
  });
});
