import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunningServer, startServer, stackEnv } from './support/app';
import { TEST_API_KEY } from './support/credentials';
import { request, waitFor } from './support/http';
import {
  RegisteredDemoModel,
  openInferenceClients,
  pythonPredict,
  registerDemoModel,
} from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

/** A setosa and a virginica from the iris data set. */
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];

type Failure = { error: string };
interface Inferred {
  id?: string | null;
  model_version?: string;
  outputs: Record<string, unknown>;
}
interface TritonAnswers {
  live: boolean;
  ready: boolean;
  model_ready: boolean;
  server_metadata: { name: string; extensions: string[] };
  model_metadata: { name: string; versions: string[]; inputs: { name: string }[] };
  version_metadata: { name: string; versions: string[] };
  infer: Inferred;
  infer_version: Inferred;
  requested_outputs: Inferred;
  fp16: Inferred | null;
  bytes: Failure;
  wrong_shape: Failure;
  classification: string[][];
}
interface KserveAnswers {
  live: boolean;
  ready: boolean;
  model_ready: boolean;
  infer: Inferred;
  infer_json: Inferred;
  requested_outputs: Inferred;
  fp16: Inferred;
  bytes: Failure;
  wrong_shape: Failure;
}

describe('Open Inference clients (tritonclient.http, KServe) against a real server', () => {
  const MODEL = `iris-oi-clients-${Date.now()}`;
  let stack: StackInfo;
  let cacheDir: string;
  let server: RunningServer;
  let model: RegisteredDemoModel;
  /** The Python model's own answer for ROWS. */
  let expected: Record<string, unknown[]>;
  /** Our JSON route's answer for ROWS, output → flat data. */
  let jsonRoute: Record<string, unknown[]>;

  const clients = <T>(client: string): Promise<T> =>
    openInferenceClients<T>({
      client,
      url: server.url,
      api_key: TEST_API_KEY,
      model: MODEL,
      version: model.version,
      input: 'float_input',
      rows: ROWS,
    });

  beforeAll(async () => {
    stack = sharedStack();
    model = await registerDemoModel(stack.mlflowUrl, {
      name: MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-oi-clients-'));
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${MODEL}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
    });
    await waitFor(
      () => request(`${server.url}/v2/health/ready`),
      (r) => r.status === 200,
      120_000,
    );
    expected = await pythonPredict(stack.mlflowUrl, `models:/${MODEL}/${model.version}`, ROWS);
    const reply = await request<{ outputs: { name: string; data: unknown[] }[] }>(
      `${server.url}/v2/models/${MODEL}/infer`,
      {
        method: 'POST',
        body: {
          inputs: [{ name: 'float_input', shape: [2, 4], datatype: 'FP32', data: ROWS.flat() }],
        },
      },
    );
    expect(reply.status).toBe(200);
    jsonRoute = Object.fromEntries(reply.body.outputs.map((o) => [o.name, o.data]));
  });

  afterAll(async () => {
    await server?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  /** The Python model's probabilities, flat, as float32 to compare with ours. */
  const probabilities = (): number[] => (expected.probabilities as number[][]).flat();

  function expectPredictions(answer: Inferred): void {
    expect(answer.outputs.label).toEqual(expected.label);
    const got = (answer.outputs.probabilities as number[][]).flat();
    got.forEach((p, i) => expect(p).toBeCloseTo(probabilities()[i], 5));
    expect(got).toEqual(jsonRoute.probabilities);
  }

  describe.each([
    ['binary', 'triton-binary'],
    ['JSON', 'triton-json'],
  ])('tritonclient.http in %s mode', (_mode, client) => {
    let answers: TritonAnswers;

    beforeAll(async () => {
      answers = await clients<TritonAnswers>(client);
    });

    it('sees the server live and ready, and the model ready', () => {
      expect([answers.live, answers.ready, answers.model_ready]).toEqual([true, true, true]);
    });

    it('reads server metadata listing the extensions we serve', () => {
      expect(answers.server_metadata).toMatchObject({
        name: 'modelgate',
        extensions: ['binary_tensor_data', 'classification', 'model_repository'],
      });
    });

    it('reads model metadata, with and without a version', () => {
      expect(answers.model_metadata).toMatchObject({
        name: MODEL,
        versions: [model.version],
        inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
      });
      expect(answers.version_metadata).toMatchObject({ name: MODEL, versions: [model.version] });
    });

    it('infers what the Python model predicts, echoing the id', () => {
      expect(answers.infer.id).toBe('req-42');
      expectPredictions(answers.infer);
    });

    it('infers with a version in the URL', () => {
      expect(answers.infer_version.model_version).toBe(model.version);
      expectPredictions(answers.infer_version);
    });

    it('answers only the outputs asked for', () => {
      expect(Object.keys(answers.requested_outputs.outputs)).toEqual(['probabilities']);
    });

    it('answers the top classes of the probabilities with the classification extension', () => {
      const rows = expected.probabilities as number[][];
      const top = rows.map((row) =>
        row
          .map((p, i) => ({ p, i }))
          .sort((a, b) => b.p - a.p || a.i - b.i)
          .slice(0, 2)
          .map(({ i }) => i),
      );
      expect(answers.classification.map((row) => row.map((e) => Number(e.split(':')[1])))).toEqual(
        top,
      );
      const scores = answers.classification.flat().map((e) => Number(e.split(':')[0]));
      scores.forEach((s, i) => expect(s).toBeCloseTo(rows[Math.floor(i / 2)][top.flat()[i]], 5));
    });

    it('refuses a BYTES input to the float model with a 400 the client shows', () => {
      expect(answers.bytes.error).toMatch(
        /input 'float_input' is BYTES, but the model input 'float_input' is FP32/,
      );
    });

    it("refuses a wrong shape with the protocol's error", () => {
      expect(answers.wrong_shape.error).toMatch(
        /input 'float_input': expected shape \[-1, 4\], got \[2, 3\]/,
      );
    });

    if (client === 'triton-binary') {
      it('takes FP16 inputs into the float model', () => {
        expect(answers.fp16?.outputs.label).toEqual(expected.label);
      });
    }
  });

  describe("KServe's InferenceRESTClient", () => {
    let answers: KserveAnswers;

    beforeAll(async () => {
      answers = await clients<KserveAnswers>('kserve');
    });

    it('sees the server live and ready, and the model ready', () => {
      expect([answers.live, answers.ready, answers.model_ready]).toEqual([true, true, true]);
    });

    it('infers what the Python model predicts, in binary and in JSON, echoing the id', () => {
      expect(answers.infer.id).toBe('req-42');
      expectPredictions(answers.infer);
      expectPredictions(answers.infer_json);
    });

    it('answers only the outputs asked for, in binary', () => {
      expect(Object.keys(answers.requested_outputs.outputs)).toEqual(['probabilities']);
      const got = (answers.requested_outputs.outputs.probabilities as number[][]).flat();
      expect(got).toEqual(jsonRoute.probabilities);
    });

    it('takes FP16 inputs into the float model', () => {
      expect(answers.fp16.outputs.label).toEqual(expected.label);
    });

    it('surfaces our 400 for a BYTES input and a wrong shape', () => {
      expect(answers.bytes.error).toMatch(/is BYTES, but the model input 'float_input' is FP32/);
      expect(answers.wrong_shape.error).toMatch(/expected shape \[-1, 4\], got \[2, 3\]/);
    });
  });
});
