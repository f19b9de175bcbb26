import { status } from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunningServer, startServer, stackEnv } from './support/app';
import { TEST_API_KEY, TEST_API_KEYS } from './support/credentials';
import { TestGrpcClient } from './support/grpc-client';
import { request } from './support/http';
import { runClientScript } from './support/python-clients';
import { RegisteredDemoModel, registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

/** A key that may predict and nothing else. */
const PREDICT_KEY = 'mg_grpc-predict-only-0123456789abcdefghij';
const PREDICT_KEYS = `predictor:predict=sha256:${createHash('sha256').update(PREDICT_KEY).digest('hex')}`;

/** A setosa and a virginica from the iris data set. */
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

interface Prediction {
  label: number[];
  probabilities: number[][];
}

interface ClientInfer {
  id?: string;
  model_version?: string;
  outputs: Partial<Prediction>;
}

type Attempt<T> = T | { error: { code: string; details: string } };

interface TensorMessage {
  name: string;
  datatype: string;
  shape: string[];
  contents?: { fp32_contents: number[]; int64_contents: string[] } | null;
}

interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: TensorMessage[];
  raw_output_contents: Buffer[];
}

function le32(values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

/** [rows, cols] row-major values as rows. */
function chunk<T>(values: T[], width: number): T[][] {
  const rows: T[][] = [];
  for (let i = 0; i < values.length; i += width) rows.push(values.slice(i, i + width));
  return rows;
}

function expectClose(got: number[][] | undefined, want: number[][]): void {
  expect(got).toHaveLength(want.length);
  want.forEach((row, i) => row.forEach((v, j) => expect(got![i][j]).toBeCloseTo(v, 5)));
}

describe('Open Inference over gRPC (a real server, a real model, real clients)', () => {
  const MODEL = `grpc-iris-${Date.now()}`;
  /** Not in MODELS: loaded and unloaded through the repository calls. */
  const REPO_MODEL = `grpc-repo-${Date.now()}`;
  let model: RegisteredDemoModel;
  let server: RunningServer;
  let cacheDir: string;
  let client: TestGrpcClient;
  let target: string;
  /** The REST answer for ROWS: every gRPC answer must equal it. */
  let rest: Prediction;

  beforeAll(async () => {
    const stack = sharedStack();
    model = await registerDemoModel(stack.mlflowUrl, {
      name: MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    await registerDemoModel(stack.mlflowUrl, {
      name: REPO_MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-grpc-'));
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${MODEL}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
      API_KEYS: `${TEST_API_KEYS};${PREDICT_KEYS}`,
    });
    target = `127.0.0.1:${server.grpcPort}`;
    client = new TestGrpcClient(target);
    const answer = await request<{ outputs: { name: string; data: number[] }[] }>(
      `${server.url}/v2/models/${MODEL}/infer`,
      {
        body: {
          inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }],
        },
      },
    );
    expect(answer.status).toBe(200);
    const byName = Object.fromEntries(answer.body.outputs.map((o) => [o.name, o.data]));
    rest = { label: byName.label, probabilities: chunk(byName.probabilities, 3) };
  });

  afterAll(async () => {
    client?.close();
    await server?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const typedInfer = (extra: Record<string, unknown> = {}) => ({
    model_name: MODEL,
    inputs: [
      {
        name: 'float_input',
        datatype: 'FP32',
        shape: [2, 4],
        contents: { fp32_contents: ROWS.flat() },
      },
    ],
    ...extra,
  });

  it('answers the probes without credentials, and grpc.health SERVING', async () => {
    const live = await client.call('ServerLive', {}, { apiKey: null });
    const ready = await client.call('ServerReady', {}, { apiKey: null });
    const modelReady = await client.call('ModelReady', { name: MODEL }, { apiKey: null });

    expect([live.response, ready.response, modelReady.response]).toEqual([
      { live: true },
      { ready: true },
      { ready: true },
    ]);
    expect((await client.check('')).response).toEqual({ status: 'SERVING' });
    expect((await client.check('inference.GRPCInferenceService')).response).toEqual({
      status: 'SERVING',
    });
  });

  it('shows in /health/topology where the gRPC listener listens, with its TLS mode', async () => {
    const topology = await request<{ details: { api: { grpc: unknown } } }>(
      `${server.url}/health/topology`,
    );

    expect(topology.body.details.api.grpc).toEqual({
      state: 'listening',
      host: expect.any(String),
      port: server.grpcPort,
      tls: 'off',
    });
  });

  it('answers typed contents with typed contents equal to the REST answer, id and request id echoed', async () => {
    const outcome = await client.call<InferResponse>('ModelInfer', typedInfer({ id: 'call-7' }), {
      metadata: { 'x-request-id': 'grpc-req-1' },
    });

    expect(outcome.error).toBeUndefined();
    const response = outcome.response!;
    expect(response.id).toBe('call-7');
    expect(response.model_version).toBe(model.version);
    expect(response.raw_output_contents).toEqual([]);
    const label = response.outputs.find((o) => o.name === 'label')!;
    const probabilities = response.outputs.find((o) => o.name === 'probabilities')!;
    expect(label.contents!.int64_contents.map(Number)).toEqual(rest.label);
    expectClose(chunk(probabilities.contents!.fp32_contents, 3), rest.probabilities);
    expect(outcome.initial?.get('x-request-id')).toEqual(['grpc-req-1']);
  });

  it('answers raw inputs with raw outputs, only those asked for', async () => {
    const outcome = await client.call<InferResponse>('ModelInfer', {
      model_name: MODEL,
      model_version: model.version,
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [2, 4] }],
      outputs: [{ name: 'probabilities' }],
      raw_input_contents: [le32(ROWS.flat())],
    });

    expect(outcome.error).toBeUndefined();
    expect(outcome.response!.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['probabilities', ['2', '3']],
    ]);
    const bytes = outcome.response!.raw_output_contents[0];
    const values = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4));
    expectClose(chunk(values, 3), rest.probabilities);
  });

  it('refuses a wrong shape INVALID_ARGUMENT naming the input, an unknown model NOT_FOUND', async () => {
    const wrong = await client.call('ModelInfer', {
      model_name: MODEL,
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [1, 3] }],
      raw_input_contents: [le32([1, 2, 3])],
    });
    const unknown = await client.call('ModelMetadata', { name: 'no-such-model-xyz' });

    expect(wrong.error?.code).toBe(status.INVALID_ARGUMENT);
    expect(wrong.error?.details).toContain("input 'float_input'");
    expect(unknown.error?.code).toBe(status.NOT_FOUND);
  });

  it('refuses calls without a key UNAUTHENTICATED, and with a wrong key too', async () => {
    const none = await client.call('ModelInfer', typedInfer(), { apiKey: null });
    const wrong = await client.call('ServerMetadata', {}, { apiKey: 'mg_not-a-key' });
    const bearer = await client.call(
      'ServerMetadata',
      {},
      {
        apiKey: null,
        metadata: { authorization: `Bearer ${TEST_API_KEY}` },
      },
    );

    expect(none.error?.code).toBe(status.UNAUTHENTICATED);
    expect(wrong.error?.code).toBe(status.UNAUTHENTICATED);
    expect(bearer.response).toEqual(expect.objectContaining({ name: expect.any(String) }));
  });

  it('asks the scopes REST asks: predict may infer, not read metadata nor load', async () => {
    const infer = await client.call('ModelInfer', typedInfer(), { apiKey: PREDICT_KEY });
    const metadata = await client.call('ModelMetadata', { name: MODEL }, { apiKey: PREDICT_KEY });
    const load = await client.call(
      'RepositoryModelLoad',
      { model_name: REPO_MODEL },
      { apiKey: PREDICT_KEY },
    );

    expect(infer.error).toBeUndefined();
    expect(metadata.error).toEqual({
      code: status.PERMISSION_DENIED,
      details: expect.stringContaining('"read"'),
    });
    expect(load.error).toEqual({
      code: status.PERMISSION_DENIED,
      details: expect.stringContaining('"reload"'),
    });
  });

  it('counts calls by method and code in /metrics', async () => {
    await client.call('ModelInfer', typedInfer());
    const metrics = await request<string>(`${server.url}/metrics`);

    expect(metrics.body).toMatch(
      new RegExp(`modelgate_grpc_requests_total\\{method="ModelInfer",code="OK",model="${MODEL}"`),
    );
    expect(metrics.body).toMatch(
      /modelgate_grpc_requests_total\{method="ModelInfer",code="UNAUTHENTICATED"/,
    );
  });

  it("works with tritonclient.grpc unchanged (raw contents), answers equal to REST's", async () => {
    const triton = await runClientScript<Record<string, unknown>>('triton_grpc_client.py', {
      target,
      model: MODEL,
      version: model.version,
      repo_model: REPO_MODEL,
      api_key: TEST_API_KEY,
      rows: ROWS,
    });

    expect(triton).toMatchObject({ live: true, ready: true, model_ready: true });
    expect(triton.model_metadata).toMatchObject({
      name: MODEL,
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: ['-1', '4'] }],
    });
    for (const key of ['infer', 'infer_version', 'infer_fp16']) {
      const infer = triton[key] as ClientInfer;
      expect(infer.outputs.label).toEqual(rest.label);
      // FP16 inputs are rounded to half precision: the classes stay, the probabilities move a little.
      if (key !== 'infer_fp16') expectClose(infer.outputs.probabilities, rest.probabilities);
    }
    expect((triton.infer as ClientInfer).id).toBe('triton-1');
    expect((triton.infer_version as ClientInfer).model_version).toBe(model.version);
    expect(Object.keys((triton.infer_label_only as ClientInfer).outputs)).toEqual(['label']);
    expect(triton.wrong_shape).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect(triton.no_key).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect(triton.unknown_model).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(triton.load).toBe('loaded');
    expect(triton.index).toMatchObject({
      models: expect.arrayContaining([
        expect.objectContaining({ name: MODEL, state: 'READY' }),
        expect.objectContaining({ name: REPO_MODEL, state: 'READY' }),
      ]),
    });
    expect(triton.unload).toBe('unloaded');
    expect(triton.unload_pinned).toMatchObject({ error: { code: 'FAILED_PRECONDITION' } });
  });

  it("works with KServe's InferenceGRPCClient unchanged (typed and raw), answers equal to REST's", async () => {
    const kserve = await runClientScript<Record<string, Attempt<unknown>>>(
      'kserve_grpc_client.py',
      {
        target,
        model: MODEL,
        version: model.version,
        repo_model: REPO_MODEL,
        api_key: TEST_API_KEY,
        rows: ROWS,
      },
    );

    expect(kserve).toMatchObject({ live: true, ready: true, model_ready: true });
    expect(kserve.model_metadata).toMatchObject({
      name: MODEL,
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
    });
    for (const key of ['infer', 'infer_raw', 'infer_version']) {
      const infer = kserve[key] as ClientInfer;
      expect(infer.outputs.label).toEqual(rest.label);
      expectClose(infer.outputs.probabilities, rest.probabilities);
    }
    expect((kserve.infer as ClientInfer).id).toBe('kserve-1');
    expect(Object.keys((kserve.infer_label_only as ClientInfer).outputs)).toEqual(['label']);
    expect(kserve.wrong_shape).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect(kserve.no_key).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect(kserve.load).toEqual({ model_name: REPO_MODEL, isLoaded: true });
    expect(kserve.unload).toEqual({ model_name: REPO_MODEL, isUnloaded: true });
  });
});
