import { readdir, readFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MlflowClient } from '../src/mlflow/mlflow.client';
import { RunningServer, startServer, stackEnv } from './support/app';
import { request, sleep, steadyLoad } from './support/http';
import { FlavorModel, FlavorModels, pyfuncPredict, registerFlavorModels } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const ROOT = path.resolve(__dirname, '..');

interface LoadedModelsBody {
  models: {
    reference: string;
    version?: string;
    runtime?: string;
    runtimeReason?: string;
    lastError?: { message: string; version?: string };
  }[];
}

interface InferBody {
  outputs: { name: string; datatype: string; shape: number[]; data: unknown[] }[];
}

/** Pids of the Python workers this process started, for one model (its cache path names it). */
async function workerPids(model?: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
      if (!cmdline.some((arg) => arg.endsWith('worker.py'))) continue;
      if (model && !cmdline.some((arg) => arg.includes(`/${model}/`))) continue;
      pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

function split(model: FlavorModel): { dataframe_split: { columns: string[]; data: number[][] } } {
  return { dataframe_split: { columns: model.columns, data: model.rows } };
}

function openInferenceInputs(model: FlavorModel): unknown[] {
  return model.columns.map((name, c) => ({
    name,
    datatype: 'FP64',
    shape: [model.rows.length],
    data: model.rows.map((row) => row[c]),
  }));
}

describe('Models of any python_function flavor, served by supervised Python workers', () => {
  const prefix = `pyf-${Date.now()}`;
  let stack: StackInfo;
  let models: FlavorModels;
  let server: RunningServer | undefined;
  let cacheDir: string;
  let mlflow: MlflowClient;
  const url = (p: string) => `${server!.url}${p}`;
  const predictable = ['sk-classifier', 'sk-regressor', 'xgboost', 'lightgbm'] as const;

  type FlavorModals = FlavorModels;

  beforeAll(async () => {
    stack = sharedStack();
    models = await registerFlavorModels(stack.mlflowUrl, prefix);
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-pyfunc-cache-'));
    const custom = models.custom;
    server = await startServer({
      ...stackEnv(stack),
      MODELS: [
        `models:/${custom.name}@live`,
        ...predictable.map((k) => `models:/${models[k].name}/${models[k].version}`),
      ].join(','),
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
      MODEL_ONNX_ACCELERATE: 'off',
      PYFUNC_ENV: 'local',
      PYFUNC_PYTHON: path.join(ROOT, '.venv/bin/python'),
      PYFUNC_WORKERS: '1',
      PYFUNC_START_TIMEOUT: '240',
    });
    mlflow = server.app.get(MlflowClient);
  }, 900_000);

  afterAll(async () => {
    await server?.app.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  describe.each(predictable)('the %s model', (kind) => {
    it('answers MLflow scoring requests exactly as mlflow.pyfunc.load_model().predict', async () => {
      const model = models[kind];
      const expected = await pyfuncPredict(
        stack.mlflowUrl,
        `models:/${model.name}/${model.version}`,
        { columns: model.columns, rows: model.rows },
      );

      const reply = await request<{ predictions: unknown }>(
        url(`/v1/models/${model.name}/versions/${model.version}/invocations`),
        { body: split(model) },
      );

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(expected);
    });

    it('answers Open Inference infer with the same values, typed by the signature', async () => {
      const model = models[kind];
      const expected = await pyfuncPredict(
        stack.mlflowUrl,
        `models:/${model.name}/${model.version}`,
        { columns: model.columns, rows: model.rows },
      );

      const reply = await request<InferBody>(
        url(`/v2/models/${model.name}/versions/${model.version}/infer`),
        { body: { inputs: openInferenceInputs(model) } },
      );
      const metadata = await request<{ platform: string; inputs: { name: string }[] }>(
        url(`/v2/models/${model.name}/versions/${model.version}`),
      );

      expect(reply.status).toBe(200);
      expect(reply.body.outputs).toHaveLength(1);
      expect(reply.body.outputs[0]).toMatchObject({
        name: 'predictions',
        shape: [model.rows.length],
        data: expected.predictions,
      });
      expect(reply.body.outputs[0].datatype).toBe(
        kind.endsWith('regressor') || kind === 'lightgbm' ? 'FP64' : 'INT64',
      );
      expect(metadata.body.platform).toBe(`mlflow_${kind.startsWith('sk') ? 'sklearn' : kind}`);
      expect(metadata.body.inputs.map((i) => i.name)).toEqual(model.columns);
    });
  });

  it('says which runtime serves each version, and why', async () => {
    const reply = await request<LoadedModelsBody>(url('/v1/models'));

    const custom = reply.body.models.find((m) => m.reference === `${models.custom.name}@live`);
    expect(custom).toMatchObject({
      runtime: 'pyfunc',
      runtimeReason: expect.stringContaining('python_function'),
    });
  });

  describe('a custom PythonModel with params', () => {
    it('passes MLflow params to predict, answering records as MLflow does', async () => {
      const model = models.custom;
      const expected = await pyfuncPredict(
        stack.mlflowUrl,
        `models:/${model.name}/${model.version}`,
        { columns: model.columns, rows: model.rows },
        { scale: 3.0 },
      );
      const unscaled = await pyfuncPredict(
        stack.mlflowUrl,
        `models:/${model.name}/${model.version}`,
        { columns: model.columns, rows: model.rows },
      );

      const reply = await request<{ predictions: unknown }>(
        url(`/v1/models/${model.name}@live/invocations`),
        {
          body: { ...split(model), params: { scale: 3.0 } },
        },
      );
      const plain = await request<{ predictions: unknown }>(
        url(`/v1/models/${model.name}@live/invocations`),
        {
          body: split(model),
        },
      );

      expect(reply.status).toBe(200);
      expect(reply.body).toEqual(expected);
      expect(plain.body).toEqual(unscaled);
      expect(reply.body).not.toEqual(plain.body);
    });

    it('passes Open Inference parameters to predict, one output per frame column', async () => {
      const model = models.custom;
      const expected = (await pyfuncPredict(
        stack.mlflowUrl,
        `models:/${model.name}/${model.version}`,
        { columns: model.columns, rows: model.rows },
        { scale: 3.0 },
      )) as { predictions: { total: number; big: boolean }[] };

      const reply = await request<InferBody>(url(`/v2/models/${model.name}@live/infer`), {
        body: { inputs: openInferenceInputs(model), parameters: { scale: 3.0 } },
      });

      expect(reply.status).toBe(200);
      expect(reply.body.outputs).toEqual([
        expect.objectContaining({
          name: 'total',
          datatype: 'FP64',
          data: expected.predictions.map((r) => r.total),
        }),
        expect.objectContaining({
          name: 'big',
          datatype: 'BOOL',
          data: expected.predictions.map((r) => r.big),
        }),
      ]);
    });
  });

  describe('supervision', () => {
    it('answers 503 to the request a killed worker held, and serves the next ones', async () => {
      const model = models.custom;
      const [pid] = await workerPids(model.name);
      expect(pid).toBeGreaterThan(0);

      const held = request<{ error_code: string; message: string }>(
        url(`/v1/models/${model.name}@live/invocations`),
        { body: { ...split(model), params: { sleep: 30.0 } } },
      );
      await sleep(1500);
      process.kill(pid, 'SIGKILL');
      const killed = await held;
      const next = await Promise.all(
        [1, 2, 3].map(() =>
          request(url(`/v1/models/${model.name}@live/invocations`), { body: split(model) }),
        ),
      );

      expect(killed.status).toBe(503);
      expect(killed.body.error_code).toBe('TEMPORARILY_UNAVAILABLE');
      expect(killed.body.message).toContain('SIGKILL');
      expect(next.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(await workerPids(model.name)).not.toContain(pid);
    });

    it('keeps the old version serving when the new one needs a module that is not installed', async () => {
      const model = models.custom;
      await mlflow.setAlias(model.name, 'live', models['missing-package'].version);

      const reload = await request<{ outcomes: { status: string; error?: string }[] }>(
        url(`/v1/models/${model.name}/reload`),
        { method: 'POST' },
      );
      const prediction = await request(url(`/v1/models/${model.name}@live/invocations`), {
        body: split(model),
      });
      const listed = await request<LoadedModelsBody>(url('/v1/models'));
      const binding = listed.body.models.find((m) => m.reference === `${model.name}@live`)!;

      expect(reload.body.outcomes.map((o) => o.status)).toEqual(['failed']);
      expect(prediction.status).toBe(200);
      expect(prediction.headers.get('x-model-version')).toBe(model.version);
      expect(binding.lastError).toMatchObject({
        version: models['missing-package'].version,
        message: expect.stringContaining("the Python module 'modelgate_absent_package'"),
      });
    });

    it('moves the alias to a new version under load without a failed request', async () => {
      const model = models.custom;
      const next = models['custom-next'];
      const swap = (async () => {
        await sleep(500);
        await mlflow.setAlias(model.name, 'live', next.version);
        const reload = await request<{ outcomes: { status: string }[] }>(
          url(`/v1/models/${model.name}/reload`),
          { method: 'POST' },
        );
        expect(reload.body.outcomes.map((o) => o.status)).toEqual(['swapped']);
        await sleep(500);
      })();

      const results = await steadyLoad(
        url(`/v1/models/${model.name}@live/invocations`),
        split(model),
        swap,
        {
          concurrency: 4,
          maxRequests: 5_000,
        },
      );
      await swap;

      expect(results.length).toBeGreaterThanOrEqual(200);
      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      expect(new Set(results.map((r) => r.version))).toEqual(
        new Set([model.version, next.version]),
      );
    });

    it('stops every worker when the server closes', async () => {
      expect((await workerPids()).length).toBeGreaterThan(0);

      await server!.app.close();
      server = undefined;

      expect(await workerPids()).toEqual([]);
    });
  });
});
