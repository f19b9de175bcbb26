import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { MlflowClient } from '../src/mlflow/mlflow.client';
import { RunningServer, startServer, stackEnv } from './support/app';
import { Reply, request, steadyLoad, waitFor } from './support/http';
import { RegisteredDemoModel, pythonPredict, registerDemoModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
/** A setosa and a virginica from the iris data set. */
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

interface LoadedModelsBody {
  models: {
    reference: string;
    version?: string;
    state: string;
    flavor?: string;
    runtime?: string;
    requests?: number;
    fromCache?: boolean;
    signature?: unknown;
    loadedAt?: string;
    lastError?: { message: string; version?: string };
  }[];
  cache: { hits: number; misses: number; loads: number; evictions: number; loadedVersions: number };
}

describe('Serving models registered in a real MLflow', () => {
  const suffix = Date.now();
  const CLASSIFIER = `iris-columns-${suffix}`;
  const TENSOR = `iris-tensor-${suffix}`;
  let stack: StackInfo;
  let cacheDir: string;
  let server: RunningServer;
  let mlflow: MlflowClient;
  let v1: RegisteredDemoModel;
  let tensorV1: RegisteredDemoModel;
  /** Registered by the hot-swap test: different predictions from v1. */
  let v2: RegisteredDemoModel | undefined;

  const url = (p: string) => `${server.url}${p}`;

  beforeAll(async () => {
    stack = sharedStack();
    v1 = await registerDemoModel(stack.mlflowUrl, { name: CLASSIFIER, c: 1.0, alias: 'champion' });
    tensorV1 = await registerDemoModel(stack.mlflowUrl, {
      name: TENSOR,
      signature: 'tensor',
      alias: 'champion',
    });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-cache-'));
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${CLASSIFIER}@champion,models:/${TENSOR}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
    });
    mlflow = server.app.get(MlflowClient);
    await waitFor(
      () => request(url('/ping')),
      (r) => r.status === 200,
      120_000,
    );
  });

  afterAll(async () => {
    await server?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  describe('MLflow scoring protocol', () => {
    it('answers dataframe_split with the predictions of the Python model', async () => {
      const expected = await pythonPredict(
        stack.mlflowUrl,
        `models:/${CLASSIFIER}/${v1.version}`,
        ROWS,
      );

      const reply = await request<{ predictions: { label: number; probabilities: number[] }[] }>(
        url('/invocations'),
        {
          body: { dataframe_split: { columns: COLUMNS, data: ROWS } },
        },
      );

      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-model-version')).toBe(v1.version);
      expect(reply.body.predictions.map((p) => p.label)).toEqual(expected.label);
      reply.body.predictions.forEach((p, row) =>
        p.probabilities.forEach((value, k) =>
          expect(value).toBeCloseTo((expected.probabilities[row] as number[])[k], 5),
        ),
      );
    });

    it('answers dataframe_records and text/csv with the same predictions', async () => {
      const split = await request<{ predictions: unknown[] }>(url('/invocations'), {
        body: { dataframe_split: { columns: COLUMNS, data: ROWS } },
      });
      const records = await request<{ predictions: unknown[] }>(url('/invocations'), {
        body: {
          dataframe_records: ROWS.map((row) =>
            Object.fromEntries(COLUMNS.map((c, i) => [c, row[i]])),
          ),
        },
      });
      const csv = await request<{ predictions: unknown[] }>(url('/invocations'), {
        body: [COLUMNS.join(','), ...ROWS.map((r) => r.join(','))].join('\n'),
        contentType: 'text/csv',
      });

      expect(records.status).toBe(200);
      expect(csv.status).toBe(200);
      expect(records.body.predictions).toEqual(split.body.predictions);
      expect(csv.body.predictions).toEqual(split.body.predictions);
    });

    it('serves a tensor model’s `inputs` as a dict of outputs, by name@alias and by version', async () => {
      const byAlias = await request<{
        predictions: { label: number[]; probabilities: number[][] };
      }>(url(`/v1/models/${TENSOR}@champion/invocations`), { body: { inputs: ROWS } });
      const byVersion = await request(
        url(`/v1/models/${TENSOR}/versions/${tensorV1.version}/invocations`),
        {
          body: { inputs: ROWS },
        },
      );

      expect(byAlias.status).toBe(200);
      expect(byAlias.body.predictions.label).toEqual([0, 2]);
      expect(byAlias.body.predictions.probabilities).toHaveLength(2);
      expect(byVersion.body).toEqual(byAlias.body);
    });

    it('answers /ping and /version', async () => {
      const ping = await request(url('/ping'));
      const version = await request(url('/version'));

      expect(ping.status).toBe(200);
      expect(version.status).toBe(200);
      expect(version.text).toMatch(/^\d+\.\d+\.\d+/);
    });

    it.each([
      [
        '415 for a content type MLflow does not take',
        { body: 'a b c', contentType: 'text/plain' },
        415,
      ],
      [
        '400 for a body that is not JSON',
        { body: '{"dataframe_split": ', contentType: 'application/json' },
        400,
      ],
      ['400 for a body with no input key', { body: { rows: ROWS } }, 400],
    ])('answers %s, in MLflow’s error format', async (_what, init, status) => {
      const reply = await request<{ error_code: string; message: string }>(
        url('/invocations'),
        init,
      );

      expect(reply.status).toBe(status);
      expect(reply.body.error_code).toEqual(expect.any(String));
      expect(reply.body.message).toEqual(expect.any(String));
    });

    it('answers 404 naming a model the registry does not have', async () => {
      const reply = await request<{ error_code: string; message: string }>(
        url('/v1/models/no-such-model/invocations'),
        {
          body: { inputs: ROWS },
        },
      );

      expect(reply.status).toBe(404);
      expect(reply.body.error_code).toBe('RESOURCE_DOES_NOT_EXIST');
      expect(reply.body.message).toContain('no-such-model');
    });
  });

  describe('input checked against the signature', () => {
    const invoke = (body: unknown, model = CLASSIFIER) =>
      request<{ error_code: string; message: string }>(
        url(`/v1/models/${model}@champion/invocations`),
        { body },
      );

    it('returns 400 naming a missing column', async () => {
      const reply = await invoke({
        dataframe_split: { columns: COLUMNS.slice(0, 3), data: ROWS.map((r) => r.slice(0, 3)) },
      });

      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('petal_width');
    });

    it('returns 400 naming an unknown column', async () => {
      const reply = await invoke({
        dataframe_split: { columns: [...COLUMNS, 'colour'], data: ROWS.map((r) => [...r, 1]) },
      });

      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('colour');
    });

    it('returns 400 naming a column with a value of the wrong type', async () => {
      const reply = await invoke({
        dataframe_split: { columns: COLUMNS, data: [[5.1, 'wide', 1.4, 0.2]] },
      });

      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain('sepal_width');
    });

    it('returns 400 naming the expected shape of a tensor of the wrong width', async () => {
      const reply = await invoke({ inputs: [[1, 2, 3]] }, TENSOR);

      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(/4/);
    });
  });

  describe('Open Inference Protocol v2', () => {
    it('reports server metadata, liveness and readiness', async () => {
      const meta = await request<{ name: string; version: string; extensions: unknown[] }>(
        url('/v2'),
      );
      const live = await request(url('/v2/health/live'));
      const ready = await request(url('/v2/health/ready'));

      expect(meta.body).toEqual({
        name: 'modelgate',
        version: expect.any(String),
        extensions: ['model_repository'],
      });
      expect(live.status).toBe(200);
      expect(ready.status).toBe(200);
    });

    it('describes a model’s inputs and outputs', async () => {
      const reply = await request<{
        name: string;
        versions: string[];
        platform: string;
        inputs: unknown[];
        outputs: { name: string }[];
      }>(url(`/v2/models/${TENSOR}`));

      expect(reply.status).toBe(200);
      expect(reply.body.versions).toEqual([tensorV1.version]);
      expect(reply.body.inputs).toEqual([
        { name: 'float_input', datatype: 'FP32', shape: [-1, 4] },
      ]);
      expect(reply.body.outputs.map((o) => o.name).sort()).toEqual(['label', 'probabilities']);
    });

    it('answers model readiness, with and without a version', async () => {
      expect((await request(url(`/v2/models/${TENSOR}/ready`))).status).toBe(200);
      expect((await request(url(`/v2/models/${CLASSIFIER}@champion/ready`))).status).toBe(200);
      expect((await request(url('/v2/models/no-such-model/ready'))).status).toBe(400);
    });

    it('infers, echoing the request id, with flat and nested data alike', async () => {
      const flat = await request<{
        id: string;
        model_name: string;
        model_version: string;
        outputs: { name: string; datatype: string; shape: number[]; data: number[] }[];
      }>(url(`/v2/models/${TENSOR}/infer`), {
        body: {
          id: 'req-1',
          inputs: [{ name: 'float_input', datatype: 'FP32', shape: [2, 4], data: ROWS.flat() }],
        },
      });
      const nested = await request<typeof flat.body>(
        url(`/v2/models/${TENSOR}/versions/${tensorV1.version}/infer`),
        {
          body: { inputs: [{ name: 'float_input', datatype: 'FP32', shape: [2, 4], data: ROWS }] },
        },
      );

      expect(flat.status).toBe(200);
      expect(flat.body.id).toBe('req-1');
      expect(flat.body.model_version).toBe(tensorV1.version);
      const label = flat.body.outputs.find((o) => o.name === 'label')!;
      expect(label).toEqual({ name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] });
      expect(flat.body.outputs.find((o) => o.name === 'probabilities')).toMatchObject({
        datatype: 'FP32',
        shape: [2, 3],
      });
      expect(nested.body.outputs).toEqual(flat.body.outputs);
    });

    it('takes the ONNX input a column-signature model publishes in its metadata', async () => {
      const meta = await request<{ inputs: { name: string; datatype: string; shape: number[] }[] }>(
        url(`/v2/models/${CLASSIFIER}`),
      );
      const [input] = meta.body.inputs;

      const reply = await request<{ outputs: { name: string; data: number[] }[] }>(
        url(`/v2/models/${CLASSIFIER}/infer`),
        {
          body: {
            inputs: [
              { name: input.name, datatype: input.datatype, shape: [2, 4], data: ROWS.flat() },
            ],
          },
        },
      );

      expect(reply.status).toBe(200);
      expect(reply.body.outputs.find((o) => o.name === 'label')!.data).toEqual([0, 2]);
    });

    it('returns only the outputs asked for', async () => {
      const reply = await request<{ outputs: { name: string }[] }>(
        url(`/v2/models/${TENSOR}/infer`),
        {
          body: {
            inputs: [{ name: 'float_input', datatype: 'FP32', shape: [2, 4], data: ROWS.flat() }],
            outputs: [{ name: 'label' }],
          },
        },
      );

      expect(reply.body.outputs.map((o) => o.name)).toEqual(['label']);
    });

    it.each([
      [
        'data that does not fill the shape',
        { name: 'float_input', datatype: 'FP32', shape: [2, 4], data: [1, 2, 3] },
        'float_input',
      ],
      [
        'a shape the model does not take',
        { name: 'float_input', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] },
        'float_input',
      ],
      [
        'a datatype the model does not take',
        { name: 'float_input', datatype: 'BYTES', shape: [1, 4], data: ['a', 'b', 'c', 'd'] },
        'float_input',
      ],
      [
        'an input the model does not have',
        { name: 'pixels', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
        'pixels',
      ],
    ])('returns 400 {error} for %s', async (_what, input, named) => {
      const reply = await request<{ error: string }>(url(`/v2/models/${TENSOR}/infer`), {
        body: { inputs: [input] },
      });

      expect(reply.status).toBe(400);
      expect(reply.body.error).toContain(named);
    });
  });

  describe('models API', () => {
    it('lists the loaded models with version, flavor, runtime, signature and request counts', async () => {
      const reply = await request<LoadedModelsBody>(url('/v1/models'));
      const classifier = reply.body.models.find((m) => m.reference === `${CLASSIFIER}@champion`)!;

      expect(reply.status).toBe(200);
      expect(classifier).toMatchObject({
        state: 'ready',
        version: v1.version,
        flavor: 'onnx',
        runtime: 'onnx',
      });
      expect(classifier.signature).toBeDefined();
      expect(classifier.loadedAt).toEqual(expect.any(String));
      expect(classifier.requests).toBeGreaterThan(0);
      expect(reply.body.cache.hits).toBeGreaterThan(0);
    });

    it('shows the registry’s view: versions, aliases and the training run’s params and metrics', async () => {
      const reply = await request<{
        aliases: Record<string, string>;
        versions: {
          version: string;
          loadedHere: boolean;
          run: { params: Record<string, string>; metrics: Record<string, number> };
        }[];
      }>(url(`/v1/models/${CLASSIFIER}`));
      const version = reply.body.versions.find((v) => v.version === v1.version)!;

      expect(reply.status).toBe(200);
      expect(reply.body.aliases.champion).toBe(v1.version);
      expect(version.loadedHere).toBe(true);
      expect(version.run.params.C).toBeDefined();
      expect(version.run.metrics.accuracy).toBeCloseTo(v1.metrics.accuracy, 6);
    });
  });

  describe('hot swap', () => {
    it('moves to the alias’s new version under steady load without a failed request', async () => {
      v2 = await registerDemoModel(stack.mlflowUrl, { name: CLASSIFIER, c: 0.01, alias: null });
      let swappedAt = 0;
      const swap = (async () => {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await mlflow.setAlias(CLASSIFIER, 'champion', v2.version);
        const reload = await request<{
          outcomes: { reference: string; status: string; from: string; to: string }[];
        }>(url(`/v1/models/${CLASSIFIER}/reload`), { method: 'POST' });
        swappedAt = Date.now();
        // Every reference to the model moves (the pinned name@alias, and the bare
        // name earlier tests asked for, which resolves to the same alias).
        expect(reload.body.outcomes).toContainEqual(
          expect.objectContaining({
            reference: `${CLASSIFIER}@champion`,
            status: 'swapped',
            from: v1.version,
            to: v2.version,
          }),
        );
        expect(reload.body.outcomes.every((o) => o.status === 'swapped')).toBe(true);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      })();

      const results = await steadyLoad(
        url('/invocations'),
        { dataframe_split: { columns: COLUMNS, data: ROWS } },
        swap,
      );
      await swap;

      expect(results.filter((r) => r.status !== 200)).toEqual([]);
      expect(new Set(results.map((r) => r.version))).toEqual(new Set([v1.version, v2.version]));
      expect(
        results.filter((r) => r.sentAt > swappedAt).every((r) => r.version === v2!.version),
      ).toBe(true);
    });

    it('keeps the old version serving when the new one fails to load, and says so', async () => {
      const broken = await registerDemoModel(stack.mlflowUrl, {
        name: CLASSIFIER,
        alias: null,
        broken: true,
      });
      await mlflow.setAlias(CLASSIFIER, 'champion', broken.version);

      const reload = await request<{ outcomes: { status: string; error: string }[] }>(
        url(`/v1/models/${CLASSIFIER}/reload`),
        {
          method: 'POST',
        },
      );
      const prediction = await request(url('/invocations'), {
        body: { dataframe_split: { columns: COLUMNS, data: ROWS } },
      });
      const models = await request<LoadedModelsBody>(url('/v1/models'));
      const binding = models.body.models.find((m) => m.reference === `${CLASSIFIER}@champion`)!;

      expect(reload.body.outcomes.map((o) => o.status)).toEqual(
        reload.body.outcomes.map(() => 'failed'),
      );
      expect(prediction.status).toBe(200);
      expect(prediction.headers.get('x-model-version')).toBe(v2!.version);
      expect(binding.version).toBe(v2!.version);
      expect(binding.lastError).toMatchObject({
        version: broken.version,
        message: expect.stringContaining('onnx'),
      });

      await mlflow.setAlias(CLASSIFIER, 'champion', v2!.version);
    });

    it('follows an alias move with the refresh job, and reuses downloaded files after a restart', async () => {
      const second = await startServer({
        ...stackEnv(stack),
        MODELS: `models:/${CLASSIFIER}@champion`,
        MODEL_CACHE_DIR: cacheDir,
        MODEL_REFRESH_INTERVAL: '1',
      });
      try {
        const first = await waitFor(
          () => request<LoadedModelsBody>(`${second.url}/v1/models`),
          (r) => r.body.models[0]?.state === 'ready',
        );
        expect(first.body.models[0]).toMatchObject({ version: v2!.version, fromCache: true });

        await mlflow.setAlias(CLASSIFIER, 'champion', v1.version);
        const moved = await waitFor(
          () => request<LoadedModelsBody>(`${second.url}/v1/models`),
          (r) => r.body.models[0]?.version === v1.version,
          30_000,
        );

        expect(moved.body.models[0].version).toBe(v1.version);
      } finally {
        await second.app.close();
      }
    });
  });

  describe('model cache', () => {
    it('evicts the least recently used version beyond its bound and loads it again on demand', async () => {
      const small = await startServer({
        ...stackEnv(stack),
        MODEL_CACHE_DIR: cacheDir,
        MODEL_CACHE_MAX_MODELS: '1',
        MODEL_REFRESH_INTERVAL: '0',
      });
      const body = { dataframe_split: { columns: COLUMNS, data: ROWS } };
      const invoke = (version: string): Promise<Reply> =>
        request(`${small.url}/v1/models/${CLASSIFIER}/versions/${version}/invocations`, { body });
      try {
        expect((await invoke(v1.version)).status).toBe(200);
        const other = (
          v2 ??
          (await registerDemoModel(stack.mlflowUrl, { name: CLASSIFIER, c: 0.01, alias: null }))
        ).version;
        expect((await invoke(other)).status).toBe(200);
        const afterEviction = await request<LoadedModelsBody>(`${small.url}/v1/models`);
        const again = await invoke(v1.version);
        const afterReload = await request<LoadedModelsBody>(`${small.url}/v1/models`);

        expect(afterEviction.body.cache).toMatchObject({
          evictions: 1,
          loadedVersions: 1,
          loads: 2,
        });
        expect(afterEviction.body.models.map((m) => m.reference)).toEqual([
          `${CLASSIFIER}/${other}`,
        ]);
        expect(again.status).toBe(200);
        expect(afterReload.body.cache).toMatchObject({ evictions: 2, loads: 3, misses: 3 });
      } finally {
        await small.app.close();
      }
    });
  });
});
