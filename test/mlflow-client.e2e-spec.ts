import { LoggerService } from '@nestjs/common';
import { RunningServer, startServer, stackEnv } from './support/app';
import { request, waitFor } from './support/http';
import { freePort } from './support/ports';
import {
  ScoringClientCall,
  ScoringServer,
  registerDemoModel,
  registerParamsModel,
  scoringClient,
  startScoringServer,
} from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
];
const CSV = `${COLUMNS.join(',')}\n${ROWS.map((r) => r.join(',')).join('\n')}\n`;
const PARAMS = { scale: 2, offset: 1 };

const records = () => ROWS.map((row) => Object.fromEntries(COLUMNS.map((c, i) => [c, row[i]])));

/** Every payload form MLflow's scoring server takes for a data-frame model, with and without params. */
function frameCalls(prefix: string): ScoringClientCall[] {
  return [
    { prefix, kind: 'frame', columns: COLUMNS, data: ROWS },
    { prefix, kind: 'frame', columns: COLUMNS, data: ROWS, params: PARAMS },
    { prefix, kind: 'json', body: JSON.stringify({ dataframe_records: records() }) },
    {
      prefix,
      kind: 'json',
      body: JSON.stringify({ dataframe_records: records(), params: PARAMS }),
    },
    { prefix, kind: 'csv', body: CSV },
  ];
}

/** Every payload form MLflow's scoring server takes for a tensor model, with and without params. */
function tensorCalls(prefix: string): ScoringClientCall[] {
  return [
    { prefix, kind: 'array', data: ROWS },
    { prefix, kind: 'array', data: ROWS, params: PARAMS },
    { prefix, kind: 'json', body: JSON.stringify({ instances: ROWS }) },
    { prefix, kind: 'json', body: JSON.stringify({ instances: ROWS, params: PARAMS }) },
    { prefix, kind: 'json', body: JSON.stringify({ inputs: ROWS, params: { offset: 5 } }) },
  ];
}

/** The same JSON value, numbers equal to 6 significant digits. */
function expectClose(actual: unknown, expected: unknown, at = 'answer'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    expect({ at, value: actual }).toEqual({
      at,
      value:
        Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected)) ? actual : expected,
    });
    return;
  }
  if (Array.isArray(expected) && Array.isArray(actual)) {
    expect({ at, length: actual.length }).toEqual({ at, length: expected.length });
    expected.forEach((item, i) => expectClose(actual[i], item, `${at}[${i}]`));
    return;
  }
  if (
    expected !== null &&
    typeof expected === 'object' &&
    actual !== null &&
    typeof actual === 'object'
  ) {
    expect({ at, keys: Object.keys(actual).sort() }).toEqual({
      at,
      keys: Object.keys(expected).sort(),
    });
    for (const [key, value] of Object.entries(expected)) {
      expectClose((actual as Record<string, unknown>)[key], value, `${at}.${key}`);
    }
    return;
  }
  expect({ at, value: actual }).toEqual({ at, value: expected });
}

/**
 * MLflow's own ScoringServerClient (mlflow.pyfunc.scoring_server.client),
 * unchanged, against our `/invocations` and `/v1/models/{ref}/invocations`,
 * each answer compared with `mlflow models serve` answering the same request
 * for the same model version. Models with params are custom PythonModels
 * served by real MLflow scoring servers we delegate to (SCORING_SERVERS), so
 * the params reach a real MLflow predict.
 */
describe("MLflow's ScoringServerClient against our MLflow scoring routes", () => {
  const suffix = Date.now();
  const FRAME_MODEL = `params-columns-${suffix}`;
  const TENSOR_MODEL = `params-tensor-${suffix}`;
  const DEMO_MODEL = `client-demo-${suffix}`;
  let stack: StackInfo;
  let direct: Record<string, ScoringServer> = {};
  let server: RunningServer;
  const warnings: string[] = [];
  const logger: LoggerService = {
    log: () => undefined,
    warn: (message: unknown) => void warnings.push(String(message)),
    error: (message: unknown) => void warnings.push(`error: ${String(message)}`),
  };

  beforeAll(async () => {
    stack = sharedStack();
    const [frame, tensor, demo] = await Promise.all([
      registerParamsModel(stack.mlflowUrl, FRAME_MODEL, 'columns'),
      registerParamsModel(stack.mlflowUrl, TENSOR_MODEL, 'tensor'),
      // The tensor variant: MLflow cannot answer the column one at all (its two
      // outputs have different lengths; bench/reference/mlflow-scoring-responses.md).
      registerDemoModel(stack.mlflowUrl, {
        name: DEMO_MODEL,
        signature: 'tensor',
        alias: 'champion',
      }),
    ]);
    const uris = {
      [FRAME_MODEL]: `models:/${FRAME_MODEL}/${frame.version}`,
      [TENSOR_MODEL]: `models:/${TENSOR_MODEL}/${tensor.version}`,
      [DEMO_MODEL]: `models:/${DEMO_MODEL}/${demo.version}`,
    };
    const started = await Promise.all(
      Object.entries(uris).map(async ([name, uri]) => {
        const port = await freePort();
        return [name, await startScoringServer(stack.mlflowUrl, uri, port)] as const;
      }),
    );
    direct = Object.fromEntries(started);
    server = await startServer(
      {
        ...stackEnv(stack),
        MODELS: Object.values(uris).join(','),
        SCORING_SERVERS: `${FRAME_MODEL}=${direct[FRAME_MODEL].url};${TENSOR_MODEL}=${direct[TENSOR_MODEL].url}`,
        MODEL_REFRESH_INTERVAL: '0',
        // ScoringServerClient has no way to send credentials (it posts with
        // plain `requests`): its users run with auth off, the operator's opt-out.
        API_AUTH: 'off',
      },
      { logger },
    );
    await waitFor(
      () => request(`${server.url}/ping`),
      (r) => r.status === 200,
      120_000,
    );
  });

  afterAll(async () => {
    await server?.app.close();
    Object.values(direct).forEach((s) => s.stop());
  });

  /** The same calls against ours and against `mlflow models serve` of the same version. */
  async function bothAnswers(
    calls: (prefix: string) => ScoringClientCall[],
    ours: string,
    model: string,
  ) {
    const [mine, theirs] = await Promise.all([
      scoringClient(calls(ours)),
      scoringClient(calls(direct[model].url)),
    ]);
    return { mine, theirs };
  }

  it('answers every data-frame form, with and without params, as mlflow models serve does', async () => {
    for (const prefix of [server.url, `${server.url}/v1/models/${FRAME_MODEL}`]) {
      const { mine, theirs } = await bothAnswers(frameCalls, prefix, FRAME_MODEL);

      expect(theirs.every((r) => r.ok)).toBe(true);
      expect(mine).toEqual(theirs);
      // The params reached MLflow's predict: they change the answer.
      expect(mine[1]).not.toEqual(mine[0]);
      expect(mine[3]).toEqual(mine[1]);
      expect(mine[4]).toEqual(mine[0]);
    }
  });

  it('answers every tensor form, with and without params, as mlflow models serve does', async () => {
    const { mine, theirs } = await bothAnswers(
      tensorCalls,
      `${server.url}/v1/models/${TENSOR_MODEL}`,
      TENSOR_MODEL,
    );

    expect(theirs.every((r) => r.ok)).toBe(true);
    expect(mine).toEqual(theirs);
    expect(mine[1]).not.toEqual(mine[0]);
    expect(mine[2]).toEqual(mine[0]);
    expect(mine[3]).toEqual(mine[1]);
  });

  it('answers a model served in process (ONNX) as mlflow models serve does, ignoring params it does not declare', async () => {
    const { mine, theirs } = await bothAnswers(
      tensorCalls,
      `${server.url}/v1/models/${DEMO_MODEL}`,
      DEMO_MODEL,
    );

    expect(theirs.every((r) => r.ok)).toBe(true);
    // onnxruntime in Node and in Python may differ in the last bits of a float32.
    expectClose(mine, theirs);
    expectClose(mine[1], mine[0]);
    expectClose(mine[3], mine[2]);
    // Three requests sent params: warned once for the version, not per request.
    const ignored = warnings.filter((w) => w.includes('declares no params'));
    expect(ignored).toHaveLength(1);
    expect(ignored[0]).toContain(`${DEMO_MODEL}/`);
  });

  it('refuses a param the model does not declare, or of the wrong type, naming it', async () => {
    const url = `${server.url}/v1/models/${FRAME_MODEL}/invocations`;
    const body = (params: unknown) => ({
      dataframe_split: { columns: COLUMNS, data: ROWS },
      params,
    });

    const unknown = await request<{ error_code: string; message: string }>(url, {
      body: body({ scael: 2 }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error_code).toBe('BAD_REQUEST');
    expect(unknown.body.message).toContain("unknown param 'scael'");

    const wrongType = await request<{ message: string }>(url, { body: body({ offset: 1.5 }) });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.message).toContain("param 'offset' must be a long");
  });

  it('passes Open Inference parameters to the model, without the protocol’s own', async () => {
    const infer = (parameters?: Record<string, unknown>) =>
      request<{ outputs: { data: number[] }[] }>(`${server.url}/v2/models/${TENSOR_MODEL}/infer`, {
        body: {
          parameters,
          inputs: [{ name: 'input', shape: [2, 4], datatype: 'FP64', data: ROWS.flat() }],
        },
      });
    const expected = await scoringClient([
      { prefix: direct[TENSOR_MODEL].url, kind: 'array', data: ROWS, params: PARAMS },
    ]);

    const plain = await infer();
    const scaled = await infer({ ...PARAMS, content_type: 'np', headers: {} });

    expect(plain.status).toBe(200);
    expect(scaled.status).toBe(200);
    expect(scaled.body.outputs[0].data).not.toEqual(plain.body.outputs[0].data);
    expect(expected[0]).toEqual({
      ok: true,
      answer: { predictions: scaled.body.outputs[0].data },
    });
  });
});
