/**
 * The gRPC counterpart of bench/load.ts: drives one running target's Open
 * Inference gRPC service (`inference.GRPCInferenceService/ModelInfer`) and
 * appends one JSON line (a Measurement) per body size to --out:
 *
 *   node grpc-load.js --target NAME --address 127.0.0.1:PORT --model NAME --pid PID \
 *     --rows 1,100 --connections 16 --warmup 3 --duration 10 --out results.jsonl \
 *     [--dataset rows.json] [--input-name float_input] [--proto src/grpc/proto/open-inference.proto]
 *
 * Each request is one FP32 input of [rows, columns] in `raw_input_contents`
 * (what tritonclient.grpc sends). --connections clients, each on its own HTTP/2
 * connection, each with one call in flight (as autocannon's connections with
 * pipelining 1), for a fixed duration; calls have a 30 s deadline. --proto is
 * the service definition [the server's own, src/grpc/proto/open-inference.proto
 * from the working directory].
 *
 * Counted as autocannon counts: `requests` every answered call; `non2xx` calls
 * answered with a status other than OK; `errors` UNAVAILABLE (no connection);
 * `timeouts` DEADLINE_EXCEEDED. Latency is per call, from just before the call
 * to its answer, in ms (0.01 ms resolution; autocannon's is 1 ms).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Dataset, fp32Bytes, loadDataset, takeRows } from './dataset';
import { describe } from './load';
import { assertLoopback } from './loopback';
import { LatencyMs, Measurement, roundTo } from './measurement';
import { MemorySampler } from './memory';

const DEADLINE_MS = 30_000;
const SERVICE = 'inference.GRPCInferenceService';

interface InferRequest {
  model_name: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  raw_input_contents: Buffer[];
}

interface InferResponse {
  outputs?: { name: string; shape: (string | number)[]; contents?: Record<string, unknown[]> }[];
  raw_output_contents?: Buffer[];
}

type InferClient = grpc.Client & {
  ModelInfer(
    request: InferRequest,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: InferResponse) => void,
  ): grpc.ClientUnaryCall;
};

interface Options {
  target: string;
  address: string;
  model: string;
  pid: number;
  rows: number[];
  connections: number;
  warmup: number;
  duration: number;
  out: string;
  dataset?: string;
  inputName: string;
  proto: string;
}

function serviceClient(protoPath: string): grpc.ServiceClientConstructor {
  const definition = protoLoader.loadSync(protoPath, {
    keepCase: true,
    longs: String,
    defaults: true,
    includeDirs: [dirname(protoPath)],
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    inference?: { GRPCInferenceService?: grpc.ServiceClientConstructor };
  };
  const ctor = loaded.inference?.GRPCInferenceService;
  if (!ctor) throw new Error(`${protoPath} defines no ${SERVICE}`);
  return ctor;
}

function inferRequest(options: Options, dataset: Dataset, rows: number): InferRequest {
  return {
    model_name: options.model,
    inputs: [{ name: options.inputName, datatype: 'FP32', shape: [rows, dataset.columns.length] }],
    raw_input_contents: [fp32Bytes(takeRows(dataset, rows))],
  };
}

function call(client: InferClient, request: InferRequest): Promise<InferResponse> {
  return new Promise((resolve, reject) => {
    client.ModelInfer(request, { deadline: Date.now() + DEADLINE_MS }, (error, response) =>
      error ? reject(error) : resolve(response ?? {}),
    );
  });
}

/** Null when every output has `rows` rows and carries its data, else why not. */
export function checkInferResponse(response: InferResponse, rows: number): string | null {
  const outputs = response.outputs ?? [];
  if (outputs.length === 0) return 'no outputs';
  const raw = response.raw_output_contents ?? [];
  for (const [i, output] of outputs.entries()) {
    if (Number(output.shape[0]) !== rows) {
      return `output ${output.name} has shape [${output.shape.join(', ')}] for ${rows} rows`;
    }
    const typed = Object.values(output.contents ?? {}).some((v) => v.length > 0);
    if (!typed && !(raw[i]?.length > 0)) return `output ${output.name} carries no data`;
  }
  return null;
}

interface Tally {
  latencies: number[];
  requests: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

async function connectionLoop(
  client: InferClient,
  request: InferRequest,
  until: number,
  tally: Tally,
): Promise<void> {
  while (Date.now() < until) {
    const started = process.hrtime.bigint();
    try {
      await call(client, request);
      tally.requests += 1;
      tally.latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    } catch (error) {
      const code = (error as grpc.ServiceError).code;
      if (code === grpc.status.DEADLINE_EXCEEDED) tally.timeouts += 1;
      else if (code === grpc.status.UNAVAILABLE) tally.errors += 1;
      else {
        tally.requests += 1;
        tally.non2xx += 1;
        tally.latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
      // A target that refuses connections must not become a busy loop.
      if (code === grpc.status.UNAVAILABLE) await new Promise((r) => setTimeout(r, 10));
    }
  }
}

async function run(clients: InferClient[], request: InferRequest, seconds: number) {
  const tally: Tally = { latencies: [], requests: 0, non2xx: 0, errors: 0, timeouts: 0 };
  const started = Date.now();
  await Promise.all(
    clients.map((c) => connectionLoop(c, request, started + seconds * 1000, tally)),
  );
  return { tally, durationSec: (Date.now() - started) / 1000 };
}

function percentiles(latencies: number[]): LatencyMs {
  const sorted = Float64Array.from(latencies).sort();
  const at = (p: number) =>
    sorted.length === 0
      ? 0
      : roundTo(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)], 2);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    mean: sorted.length === 0 ? 0 : roundTo(sum / sorted.length, 2),
    max: sorted.length === 0 ? 0 : roundTo(sorted[sorted.length - 1], 2),
  };
}

async function measure(
  options: Options,
  clients: InferClient[],
  rows: number,
): Promise<Measurement> {
  const base = { target: options.target, rows };
  const request = inferRequest(options, loadDataset(options.dataset), rows);
  try {
    const problem = checkInferResponse(await call(clients[0], request), rows);
    if (problem !== null) return { ...base, status: 'invalid', reason: problem };
  } catch (error) {
    return { ...base, status: 'invalid', reason: `ModelInfer failed: ${String(error)}` };
  }
  const sampler = new MemorySampler(options.pid);
  sampler.start();
  if (options.warmup > 0) await run(clients, request, options.warmup);
  const { tally, durationSec } = await run(clients, request, options.duration);
  const memory = sampler.stop();
  return {
    ...base,
    status: 'measured',
    connections: options.connections,
    warmupSec: options.warmup,
    durationSec: roundTo(durationSec, 2),
    reqPerSec: roundTo(tally.requests / durationSec, 1),
    requests: tally.requests,
    latencyMs: percentiles(tally.latencies),
    non2xx: tally.non2xx,
    errors: tally.errors,
    timeouts: tally.timeouts,
    memory,
  };
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      address: { type: 'string' },
      model: { type: 'string' },
      pid: { type: 'string' },
      rows: { type: 'string', default: '1,100' },
      connections: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      out: { type: 'string' },
      dataset: { type: 'string' },
      'input-name': { type: 'string', default: 'float_input' },
      proto: {
        type: 'string',
        default: join(process.cwd(), 'src/grpc/proto/open-inference.proto'),
      },
    },
  });
  const { target, address, model, pid, out } = values;
  if (!target || !address || !model || !pid || !out) {
    throw new Error(
      'usage: grpc-load.js --target NAME --address HOST:PORT --model NAME --pid PID --out FILE [options]',
    );
  }
  const host = address.slice(0, address.lastIndexOf(':'));
  assertLoopback(host);
  return {
    target,
    address,
    model,
    pid: Number(pid),
    rows: values.rows.split(/[ ,]+/).filter(Boolean).map(Number),
    connections: Number(values.connections),
    warmup: Number(values.warmup),
    duration: Number(values.duration),
    out,
    dataset: values.dataset,
    inputName: values['input-name'],
    proto: values.proto,
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const Client = serviceClient(options.proto);
  const clients = Array.from(
    { length: options.connections },
    // A local subchannel pool per client: one HTTP/2 connection each.
    () =>
      new Client(options.address, grpc.credentials.createInsecure(), {
        'grpc.use_local_subchannel_pool': 1,
      }) as unknown as InferClient,
  );
  try {
    for (const rows of options.rows) {
      const m = await measure(options, clients, rows);
      appendFileSync(options.out, `${JSON.stringify(m)}\n`);
      console.log(describe(m).replace('[load]', '[grpc-load]'));
    }
  } finally {
    for (const client of clients) client.close();
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
