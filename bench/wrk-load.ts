/**
 * Drives one running HTTP target of the cores suite with wrk and appends one
 * JSON line (a Measurement) per load to --out:
 *
 *   node wrk-load.js --target NAME --model forest --url http://127.0.0.1:PORT/invocations \
 *     --pid PID --loads 1x16,100x16,1x64 --warmup 2 --duration 5 --out results.jsonl \
 *     [--dataset rows.json] [--threads 1] [--loadgen-cpus 0] [--server-cpus 1] [--group scaling] [--round 2]
 *
 * A load is ROWSxCONNECTIONS: MLflow `dataframe_split` bodies of ROWS rows
 * (bench/http-requests.ts, the rows of --dataset, else iris) on CONNECTIONS
 * keep-alive connections, one request in flight on each (closed loop).
 *
 * Why wrk and not autocannon (what the other suites use): wrk is C, one
 * thread costs a fraction of the CPU autocannon's Node process does per
 * request, and on a 2-core machine the load generator shares the cores with
 * the target; the cheaper it is, the less the ceiling measures the load
 * generator. It reports latency in microseconds (autocannon: 1 ms buckets),
 * which the 1-row p50s of ~1-3 ms need. The issue's own figures were wrk's.
 *
 * For each load: one answer checked first (a 200 that answers every row, else
 * the target is INVALID for that load, not measured), a warm-up run
 * (discarded), the measured run with the memory of the target's process tree
 * sampled (per process too: a cluster's primary and each worker). With
 * --loadgen-cpus, wrk runs under `taskset -c CPUS` (the suite pins the server
 * itself and passes --server-cpus to be recorded).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from './dataset';
import { httpRequest } from './http-requests';
import { describe, probe } from './load';
import { assertLoopback } from './loopback';
import { Measurement, roundTo } from './measurement';
import { MemorySampler } from './memory';

export interface Load {
  rows: number;
  connections: number;
}

/** "1x16,100x16,1x64" → loads; throws on anything else. */
export function parseLoads(text: string): Load[] {
  return text
    .split(',')
    .filter(Boolean)
    .map((item) => {
      const m = /^([1-9]\d*)x([1-9]\d*)$/.exec(item.trim());
      if (!m) throw new Error(`a load is ROWSxCONNECTIONS (e.g. 1x16), not '${item}'`);
      return { rows: Number(m[1]), connections: Number(m[2]) };
    });
}

interface WrkSummary {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

const MARK = 'WRKJSON ';

/** A wrk script: POST the body file; print the summary as one JSON line at the end. */
function wrkScript(bodyFile: string, headers: Record<string, string>): string {
  const lines = [
    'wrk.method = "POST"',
    ...Object.entries(headers).map(
      ([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`,
    ),
    `local f = assert(io.open(${JSON.stringify(bodyFile)}, "rb"))`,
    'wrk.body = f:read("*a")',
    'f:close()',
    'done = function(summary, latency, requests)',
    '  local e = summary.errors',
    `  io.write(string.format('${MARK}{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,` +
      `"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}\\n',`,
    '    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,',
    '    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max))',
    'end',
  ];
  return `${lines.join('\n')}\n`;
}

function runWrk(args: string[], cpus: string | undefined, timeoutMs: number): Promise<WrkSummary> {
  const [cmd, argv] = cpus ? ['taskset', ['-c', cpus, 'wrk', ...args]] : ['wrk', args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith(MARK));
      if (code !== 0 || !line) {
        reject(new Error(`wrk exited ${code}: ${err.trim() || out.trim()}`));
        return;
      }
      resolve(JSON.parse(line.slice(MARK.length)) as WrkSummary);
    });
  });
}

interface Options {
  target: string;
  model: string;
  url: string;
  pid: number;
  loads: Load[];
  warmup: number;
  duration: number;
  out: string;
  dataset?: string;
  threads: number;
  loadgenCpus?: string;
  serverCpus?: string;
  group?: string;
  round?: number;
}

async function measure(options: Options, load: Load, dir: string): Promise<Measurement> {
  const { rows, connections } = load;
  const base = {
    target: options.target,
    model: options.model,
    rows,
    connections,
    loadGenerator: 'wrk',
    ...(options.group ? { group: options.group } : {}),
    ...(options.round !== undefined ? { round: options.round } : {}),
    ...(options.loadgenCpus || options.serverCpus
      ? { cpus: { loadGenerator: options.loadgenCpus, server: options.serverCpus } }
      : {}),
  };
  const request = httpRequest('mlflow', loadDataset(options.dataset), rows, '');
  const problem = await probe(options.url, request, 'mlflow', rows);
  if (problem !== null) return { ...base, status: 'invalid', reason: problem };

  const bodyFile = join(dir, `body-${rows}.json`);
  const script = join(dir, `post-${rows}.lua`);
  writeFileSync(bodyFile, request.body);
  writeFileSync(script, wrkScript(bodyFile, request.headers));
  const threads = Math.min(options.threads, connections);
  const run = (seconds: number) =>
    runWrk(
      [
        '-t',
        String(threads),
        '-c',
        String(connections),
        '-d',
        `${seconds}s`,
        '--timeout',
        '30s',
      ].concat(['-s', script, options.url]),
      options.loadgenCpus,
      (seconds + 60) * 1000,
    );
  const sampler = new MemorySampler(options.pid);
  sampler.start();
  if (options.warmup > 0) await run(options.warmup);
  const summary = await run(options.duration);
  const memory = sampler.stop();
  const seconds = summary.duration_us / 1e6;
  const ms = (us: number) => roundTo(us / 1000, 2);
  return {
    ...base,
    status: 'measured',
    warmupSec: options.warmup,
    durationSec: roundTo(seconds, 2),
    reqPerSec: roundTo(summary.requests / seconds, 1),
    requests: summary.requests,
    latencyMs: {
      p50: ms(summary.p50),
      p90: ms(summary.p90),
      p99: ms(summary.p99),
      mean: ms(summary.mean),
      max: ms(summary.max),
    },
    // wrk counts answers with a status above 399 (errors.status); connect,
    // read and write errors are what autocannon counts as errors.
    non2xx: summary.status,
    errors: summary.connect + summary.read + summary.write,
    timeouts: summary.timeout,
    memory,
  };
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      model: { type: 'string', default: '' },
      url: { type: 'string' },
      pid: { type: 'string' },
      loads: { type: 'string', default: '1x16,100x16,1x64' },
      warmup: { type: 'string', default: '2' },
      duration: { type: 'string', default: '5' },
      out: { type: 'string' },
      dataset: { type: 'string' },
      threads: { type: 'string', default: '1' },
      'loadgen-cpus': { type: 'string' },
      'server-cpus': { type: 'string' },
      group: { type: 'string' },
      round: { type: 'string' },
    },
  });
  const { target, url, pid, out } = values;
  if (!target || !url || !pid || !out) {
    throw new Error('usage: wrk-load.js --target NAME --url URL --pid PID --out FILE [options]');
  }
  assertLoopback(new URL(url).hostname);
  return {
    target,
    model: values.model,
    url,
    pid: Number(pid),
    loads: parseLoads(values.loads),
    warmup: Number(values.warmup),
    duration: Number(values.duration),
    out,
    dataset: values.dataset,
    threads: Math.max(1, Number(values.threads)),
    loadgenCpus: values['loadgen-cpus'],
    serverCpus: values['server-cpus'],
    group: values.group,
    round: values.round === undefined ? undefined : Number(values.round),
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const dir = mkdtempSync(join(tmpdir(), 'wrk-load-'));
  try {
    for (const load of options.loads) {
      const m = await measure(options, load, dir);
      appendFileSync(options.out, `${JSON.stringify(m)}\n`);
      console.log(`${describe(m)} [${load.connections} conn${m.group ? `, ${m.group}` : ''}]`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
