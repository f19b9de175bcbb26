import { status } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunningServer, startServer, stackEnv } from './support/app';
import { CallOutcome, TestGrpcClient } from './support/grpc-client';
import { Reply, request } from './support/http';
import { metricValue } from './support/metrics-text';
import { pythonPredict, RegisteredDemoModel, registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

/**
 * Adaptive batching on a real server and a real ONNX model from MLflow:
 * requests that arrive together are stacked into one onnxruntime call and
 * each caller gets exactly its own rows back; a full batch queue answers 503
 * with Retry-After (REST) and UNAVAILABLE with retry-after (gRPC).
 */

interface TensorOutput {
  name: string;
  shape: number[];
  data: number[];
}

interface InferResponse {
  outputs: { name: string; shape: string[]; contents?: { fp32_contents: number[] } }[];
}

/** Requests of 1 to 7 rows, `count` of them, every row different (labels of all three classes). */
function requestRows(count: number): number[][][] {
  let seed = 1;
  const next = () => {
    seed = (seed * 48271) % 2147483647;
    return seed / 2147483647;
  };
  return Array.from({ length: count }, (_, i) =>
    Array.from({ length: (i % 7) + 1 }, () => [
      4.3 + next() * 3.6,
      2.0 + next() * 2.4,
      1.0 + next() * 5.9,
      0.1 + next() * 2.4,
    ]),
  );
}

/** [rows, cols] row-major values as rows. */
function chunk(values: number[], width: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < values.length; i += width) rows.push(values.slice(i, i + width));
  return rows;
}

function expectClose(got: number[][], want: number[][]): void {
  expect(got).toHaveLength(want.length);
  want.forEach((row, i) => row.forEach((v, j) => expect(got[i][j]).toBeCloseTo(v, 5)));
}

/** Bursts sent at most to see requests overlap (see burstUntil). */
const BURSTS = 5;

describe('adaptive batching (a real server, a real ONNX model)', () => {
  const MODEL = `batching-iris-${Date.now()}`;
  let model: RegisteredDemoModel;
  let cacheDir: string;
  /** Batching as shipped, held to one call at a time so concurrent requests stack. */
  let batched: RunningServer;
  /** Room for one call and one waiting request: the next is refused. */
  let tiny: RunningServer;
  let batchedClient: TestGrpcClient;
  let tinyClient: TestGrpcClient;

  beforeAll(async () => {
    const stack = sharedStack();
    model = await registerDemoModel(stack.mlflowUrl, {
      name: MODEL,
      signature: 'tensor',
      alias: 'champion',
    });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-batching-'));
    const env = {
      ...stackEnv(stack),
      MODELS: `models:/${MODEL}@champion`,
      MODEL_REFRESH_INTERVAL: '0',
    };
    // A cache directory each: two servers downloading into one at once is not what this tests.
    batched = await startServer({
      ...env,
      MODEL_CACHE_DIR: path.join(cacheDir, 'batched'),
      MODEL_MAX_CONCURRENCY: '1',
      MODEL_BATCH_MAX_DELAY_MS: '1000',
    });
    tiny = await startServer({
      ...env,
      MODEL_CACHE_DIR: path.join(cacheDir, 'tiny'),
      MODEL_MAX_CONCURRENCY: '1',
      MODEL_BATCH_QUEUE: '1',
    });
    batchedClient = new TestGrpcClient(`127.0.0.1:${batched.grpcPort}`);
    tinyClient = new TestGrpcClient(`127.0.0.1:${tiny.grpcPort}`);
  });

  afterAll(async () => {
    batchedClient?.close();
    tinyClient?.close();
    await batched?.app.close();
    await tiny?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  const mlflow = (server: RunningServer, rows: number[][]) =>
    request<{ predictions: { label: number[]; probabilities: number[][] } }>(
      `${server.url}/v1/models/${MODEL}/invocations`,
      { body: { inputs: rows } },
    );
  const openInference = (server: RunningServer, rows: number[][]) =>
    request<{ outputs: TensorOutput[] }>(`${server.url}/v2/models/${MODEL}/infer`, {
      body: {
        inputs: [
          { name: 'float_input', shape: [rows.length, 4], datatype: 'FP32', data: rows.flat() },
        ],
      },
    });
  const grpcInfer = (client: TestGrpcClient, rows: number[][]) =>
    client.call<InferResponse>('ModelInfer', {
      model_name: MODEL,
      inputs: [
        {
          name: 'float_input',
          datatype: 'FP32',
          shape: [rows.length, 4],
          contents: { fp32_contents: rows.flat() },
        },
      ],
      outputs: [{ name: 'probabilities' }],
    });

  it('answers concurrent requests of different rows, over three protocols, each with exactly its own rows', async () => {
    const requests = requestRows(36);
    // onnxruntime for Python on the registered file, one request at a time: the unbatched answers.
    const expected = await pythonPredict(
      sharedStack().mlflowUrl,
      `models:/${MODEL}/${model.version}`,
      requests.flat(),
    );
    const labels = expected.label as number[];
    const probabilities = expected.probabilities as number[][];
    let offset = 0;
    const wanted = requests.map((rows) => {
      const want = {
        label: labels.slice(offset, offset + rows.length),
        probabilities: probabilities.slice(offset, offset + rows.length),
      };
      offset += rows.length;
      return want;
    });
    expect(new Set(labels).size).toBe(3);

    // Whether a burst overlaps a running call is the network's timing: a burst
    // that arrived one by one is sent again (BURSTS at most), every answer checked.
    const metricsOf = async () => {
      const text = (await request(`${batched.url}/metrics`)).text;
      const labels = { model: MODEL };
      return {
        calls: metricValue(text, 'modelgate_prediction_batch_requests_count', labels),
        stacked: metricValue(text, 'modelgate_prediction_batch_requests_sum', labels),
        rows: metricValue(text, 'modelgate_prediction_batch_rows_sum', labels),
        waits: metricValue(text, 'modelgate_prediction_queue_wait_seconds_count', labels),
      };
    };
    let bursts = 0;
    do {
      bursts++;
      const answers = await Promise.all(
        requests.map((rows, i) =>
          i % 3 === 0
            ? mlflow(batched, rows)
            : i % 3 === 1
              ? openInference(batched, rows)
              : grpcInfer(batchedClient, rows),
        ),
      );

      answers.forEach((answer, i) => {
        const want = wanted[i];
        if (i % 3 === 0) {
          const reply = answer as Reply<{
            predictions: { label: number[]; probabilities: number[][] };
          }>;
          expect(reply.status).toBe(200);
          expect(reply.body.predictions.label).toEqual(want.label);
          expectClose(reply.body.predictions.probabilities, want.probabilities);
        } else if (i % 3 === 1) {
          const reply = answer as Reply<{ outputs: TensorOutput[] }>;
          expect(reply.status).toBe(200);
          const label = reply.body.outputs.find((o) => o.name === 'label')!;
          const probs = reply.body.outputs.find((o) => o.name === 'probabilities')!;
          expect(label.shape).toEqual([want.label.length]);
          expect(label.data).toEqual(want.label);
          expectClose(chunk(probs.data, 3), want.probabilities);
        } else {
          const outcome = answer as CallOutcome<InferResponse>;
          expect(outcome.error).toBeUndefined();
          const [probs] = outcome.response!.outputs;
          expect(probs.shape).toEqual([String(want.label.length), '3']);
          expectClose(chunk(probs.contents!.fp32_contents, 3), want.probabilities);
        }
      });
      const { calls, stacked } = await metricsOf();
      if (calls < stacked) break;
    } while (bursts < BURSTS);

    const { calls, stacked, rows, waits } = await metricsOf();
    // Every request was in some call, some call held more than one, and each request's wait was seen.
    expect(stacked).toBeGreaterThanOrEqual(requests.length * bursts);
    expect(calls).toBeLessThan(stacked);
    expect(rows).toBeGreaterThanOrEqual(labels.length * bursts);
    expect(waits).toBeGreaterThanOrEqual(requests.length * bursts);
  });

  /**
   * Bursts of concurrent requests (at most BURSTS of them) until `refused`
   * holds for what they answered: whether a burst overlaps a running call is
   * the network's timing, so a burst that happens to arrive one by one is
   * tried again rather than taken for a failure. Every answer of every burst
   * is returned.
   */
  async function burstUntil<T>(
    send: (rows: number[][], i: number) => Promise<T>,
    refused: (all: T[]) => boolean,
  ): Promise<T[]> {
    const all: T[] = [];
    for (let burst = 0; burst < BURSTS && !refused(all); burst++) {
      all.push(...(await Promise.all(requestRows(40).map(send))));
    }
    return all;
  }

  it('says in /v1/models that the serving version is batched, with its settings', async () => {
    const models = await request<{ models: { reference: string; batching?: unknown }[] }>(
      `${batched.url}/v1/models`,
    );

    expect(models.body.models.find((m) => m.reference === `${MODEL}@champion`)?.batching).toEqual({
      enabled: true,
      maxRows: 256,
      maxDelayMs: 1000,
      maxConcurrent: 1,
      maxQueued: 256,
    });
  });

  it('answers a request that finds the batch queue full 503 with Retry-After, in each REST protocol', async () => {
    const protocolOf = (i: number) => (i % 2 === 0 ? 'mlflow' : 'open-inference');
    const sent: string[] = [];
    const replies = await burstUntil<Reply>(
      (rows, i) => {
        sent.push(protocolOf(i));
        return i % 2 === 0 ? mlflow(tiny, rows) : openInference(tiny, rows);
      },
      (all) =>
        ['mlflow', 'open-inference'].every((p) =>
          all.some((r, i) => sent[i] === p && r.status === 503),
        ),
    );

    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(statuses).toContain(200);
    const refusedMlflow = replies.find((r, i) => sent[i] === 'mlflow' && r.status === 503);
    const refusedOpenInference = replies.find(
      (r, i) => sent[i] === 'open-inference' && r.status === 503,
    );
    expect(refusedMlflow?.headers.get('retry-after')).toBe('1');
    expect(refusedMlflow?.body).toMatchObject({
      error_code: 'TEMPORARILY_UNAVAILABLE',
      message: expect.stringContaining(`${MODEL}/${model.version} is busy`),
    });
    expect(refusedOpenInference?.headers.get('retry-after')).toBe('1');
    expect(refusedOpenInference?.body).toEqual({
      error: expect.stringContaining(`${MODEL}/${model.version} is busy`),
    });
  });

  it('answers a call that finds the batch queue full UNAVAILABLE with retry-after over gRPC', async () => {
    const outcomes = await burstUntil(
      (rows) => grpcInfer(tinyClient, rows),
      (all) => all.some((o) => o.error !== undefined),
    );

    expect(outcomes.some((o) => o.error === undefined)).toBe(true);
    const refused = outcomes.find((o) => o.error !== undefined);
    expect(refused?.error?.code).toBe(status.UNAVAILABLE);
    expect(refused?.error?.details).toContain('is busy');
    expect(refused?.trailing?.get('retry-after')).toEqual(['1']);
    expect(
      outcomes.every((o) => o.error === undefined || o.error.code === status.UNAVAILABLE),
    ).toBe(true);
  });
});
