/**
 * Drives one running HTTP target of bench/run.sh with autocannon and appends
 * one JSON line (a Measurement) per body size to --out:
 *
 *   node load.js --target NAME --url http://127.0.0.1:PORT/invocations --pid PID \
 *     --rows 1,100 --connections 16 --warmup 3 --duration 10 --out results.jsonl \
 *     [--form mlflow|oi-json|oi-binary] [--dataset rows.json] [--input-name NAME] \
 *     [--api-key KEY]
 *
 * --form is the body (bench/http-requests.ts) [mlflow]; --dataset the rows it
 * is made of (bench/dataset.ts) [the iris rows]; --input-name the Open
 * Inference input [float_input]. With --api-key every request carries
 * `X-API-Key: KEY` (the `ours-key` target: the cost of authentication).
 *
 * For each body size: checks one answer first (a 200 that answers every row),
 * so a target that errors is reported, not measured; then a warm-up run whose
 * numbers are discarded; then the measured run. The memory of the target's
 * whole process tree (`mlflow models serve` forks uvicorn, Modelgate its Python
 * workers) is sampled from /proc throughout.
 */
import autocannon from 'autocannon';
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadDataset } from './dataset';
import { answerCheck, BODY_FORMS, BodyForm, httpRequest, HttpRequest } from './http-requests';
import { assertLoopback } from './loopback';
import { Measurement, roundTo } from './measurement';
import { MemorySampler } from './memory';

const PROBE_TIMEOUT_MS = 30_000;

interface Options {
  target: string;
  url: string;
  pid: number;
  rows: number[];
  connections: number;
  warmup: number;
  duration: number;
  out: string;
  form: BodyForm;
  dataset?: string;
  inputName: string;
  apiKey?: string;
}

export async function probe(url: string, request: HttpRequest, form: BodyForm, rows: number) {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: request.headers,
      body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    const body = Buffer.from(await response.arrayBuffer());
    return answerCheck(form, rows)({ status: response.status, headers: response.headers, body });
  } catch (error) {
    return `request failed: ${String(error)}`;
  }
}

async function measure(options: Options, rows: number): Promise<Measurement> {
  const base = { target: options.target, rows };
  const request = httpRequest(options.form, loadDataset(options.dataset), rows, options.inputName);
  const headers = {
    ...request.headers,
    ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}),
  };
  const problem = await probe(options.url, { ...request, headers }, options.form, rows);
  if (problem !== null) return { ...base, status: 'invalid', reason: problem };

  const load = (duration: number) =>
    autocannon({
      url: options.url,
      method: 'POST',
      headers,
      body: request.body,
      connections: options.connections,
      pipelining: 1,
      duration,
      timeout: 30,
    });
  const sampler = new MemorySampler(options.pid);
  sampler.start();
  if (options.warmup > 0) await load(options.warmup);
  const result = await load(options.duration);
  const memory = sampler.stop();
  return {
    ...base,
    status: 'measured',
    connections: options.connections,
    warmupSec: options.warmup,
    durationSec: result.duration,
    reqPerSec: roundTo(result.requests.total / result.duration, 1),
    requests: result.requests.total,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      mean: result.latency.mean,
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    memory,
  };
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      url: { type: 'string' },
      pid: { type: 'string' },
      rows: { type: 'string', default: '1,100' },
      connections: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '3' },
      duration: { type: 'string', default: '10' },
      out: { type: 'string' },
      form: { type: 'string', default: 'mlflow' },
      dataset: { type: 'string' },
      'input-name': { type: 'string', default: 'float_input' },
      'api-key': { type: 'string' },
    },
  });
  const { target, url, pid, out, form } = values;
  if (!target || !url || !pid || !out) {
    throw new Error('usage: load.js --target NAME --url URL --pid PID --out FILE [options]');
  }
  if (!(BODY_FORMS as readonly string[]).includes(form)) {
    throw new Error(`--form must be one of ${BODY_FORMS.join(', ')}`);
  }
  assertLoopback(new URL(url).hostname);
  return {
    target,
    url,
    pid: Number(pid),
    rows: values.rows.split(/[ ,]+/).filter(Boolean).map(Number),
    connections: Number(values.connections),
    warmup: Number(values.warmup),
    duration: Number(values.duration),
    out,
    form: form as BodyForm,
    dataset: values.dataset,
    inputName: values['input-name'],
    apiKey: values['api-key'],
  };
}

export function describe(m: Measurement): string {
  if (m.status !== 'measured') {
    return `[load] ${m.target} ${m.rows} row(s): NOT MEASURED (${m.status}): ${m.reason}`;
  }
  return (
    `[load] ${m.target} ${m.rows} row(s): ${m.reqPerSec} req/s, p50 ${m.latencyMs?.p50} ms, ` +
    `p99 ${m.latencyMs?.p99} ms, non-2xx ${m.non2xx}, errors ${m.errors}, ` +
    `peak RSS ${m.memory?.peakMiB} MiB (${m.memory?.processes} processes)`
  );
}

async function main(): Promise<void> {
  const options = parseOptions();
  for (const rows of options.rows) {
    const m = await measure(options, rows);
    appendFileSync(options.out, `${JSON.stringify(m)}\n`);
    console.log(describe(m));
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
