/**
 * Drives one running target of bench/run.sh with autocannon and appends one
 * JSON line per body size to --out:
 *
 *   node load.js --target NAME --url http://127.0.0.1:PORT/invocations --pid PID \
 *     --rows 1,100 --connections 16 --warmup 3 --duration 10 --out results.jsonl \
 *     [--api-key KEY]
 *
 * With --api-key every request carries `X-API-Key: KEY` (the `ours-key`
 * target: the cost of authentication on the hot path).
 *
 * For each body size: checks one answer first (200 and a `predictions` array of
 * the right length, or an object of such arrays — MLflow's shape for
 * tensor-signature models), so a target that errors is reported, not measured;
 * then a warm-up run whose numbers are discarded; then the measured run. The
 * memory of the target's whole process tree (`mlflow models serve` forks
 * uvicorn) is sampled from /proc throughout.
 */
import autocannon from 'autocannon';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
/** Iris rows of all three classes; bodies cycle through them. */
const IRIS_ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
  [4.9, 3.0, 1.4, 0.2],
  [5.5, 2.3, 4.0, 1.3],
  [7.1, 3.0, 5.9, 2.1],
  [5.0, 3.6, 1.4, 0.2],
  [5.7, 2.8, 4.1, 1.3],
  [6.5, 3.0, 5.8, 2.2],
];
const SAMPLE_INTERVAL_MS = 250;
const PROBE_TIMEOUT_MS = 30_000;

export interface Measurement {
  target: string;
  rows: number;
  status: 'measured' | 'invalid' | 'skipped';
  reason?: string;
  connections?: number;
  warmupSec?: number;
  durationSec?: number;
  reqPerSec?: number;
  requests?: number;
  latencyMs?: { p50: number; p90: number; p99: number; mean: number; max: number };
  non2xx?: number;
  errors?: number;
  timeouts?: number;
  memory?: MemoryStats;
}

export interface MemoryStats {
  /** Sum of VmRSS over the process tree just before the warm-up. */
  idleMiB: number;
  /** Highest sum of VmRSS over the tree seen while loading (sampled every 250 ms). */
  peakMiB: number;
  /** Sum of each live process's VmHWM at the end: an upper bound of the true peak. */
  hwmSumMiB: number;
  processes: number;
}

export function dataframeSplitBody(rows: number): string {
  const data = Array.from({ length: rows }, (_, i) => IRIS_ROWS[i % IRIS_ROWS.length]);
  return JSON.stringify({ dataframe_split: { columns: COLUMNS, data } });
}

/** Null when the answer is a 200 with one prediction per row, else why not. */
export function checkAnswer(status: number, text: string, rows: number): string | null {
  const excerpt = text.length > 300 ? `${text.slice(0, 300)}…` : text;
  if (status !== 200) return `HTTP ${status}: ${excerpt}`;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `not JSON: ${excerpt}`;
  }
  const predictions = (body as { predictions?: unknown } | null)?.predictions;
  if (Array.isArray(predictions)) {
    return predictions.length === rows
      ? null
      : `${predictions.length} predictions for ${rows} rows: ${excerpt}`;
  }
  if (predictions !== null && typeof predictions === 'object') {
    const outputs = Object.entries(predictions);
    const wrong = outputs.filter(([, v]) => !Array.isArray(v) || v.length !== rows);
    return outputs.length > 0 && wrong.length === 0
      ? null
      : `outputs ${wrong.map(([k]) => k).join(', ') || '(none)'} do not have ${rows} rows: ${excerpt}`;
  }
  return `no predictions array: ${excerpt}`;
}

function readStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // exited between listing and reading
  }
}

/** The root and all its descendants, from the parent pids in /proc/<pid>/stat. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name, which may itself hold spaces and parens.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = children.get(ppid) ?? [];
    siblings.push(Number(entry));
    children.set(ppid, siblings);
  }
  const tree: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function treeRssKiB(root: number): number {
  return processTree(root).reduce((sum, pid) => sum + readStatusKiB(pid, 'VmRSS'), 0);
}

class MemorySampler {
  private peakKiB = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly root: number) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
  }

  stop(idleKiB: number): MemoryStats {
    clearInterval(this.timer);
    this.sample();
    const tree = processTree(this.root);
    const hwm = tree.reduce((sum, pid) => sum + readStatusKiB(pid, 'VmHWM'), 0);
    return {
      idleMiB: mib(idleKiB),
      peakMiB: mib(this.peakKiB),
      hwmSumMiB: mib(hwm),
      processes: tree.length,
    };
  }

  private sample(): void {
    this.peakKiB = Math.max(this.peakKiB, treeRssKiB(this.root));
  }
}

function mib(kib: number): number {
  return Math.round((kib / 1024) * 10) / 10;
}

async function probe(
  url: string,
  body: string,
  rows: number,
  headers: Record<string, string>,
): Promise<string | null> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body,
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    return checkAnswer(response.status, await response.text(), rows);
  } catch (error) {
    return `request failed: ${String(error)}`;
  }
}

interface Options {
  target: string;
  url: string;
  pid: number;
  rows: number[];
  connections: number;
  warmup: number;
  duration: number;
  out: string;
  apiKey?: string;
}

async function measure(options: Options, rows: number): Promise<Measurement> {
  const body = dataframeSplitBody(rows);
  const base = { target: options.target, rows };
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(options.apiKey ? { 'x-api-key': options.apiKey } : {}),
  };
  const problem = await probe(options.url, body, rows, headers);
  if (problem !== null) return { ...base, status: 'invalid', reason: problem };

  const load = (duration: number) =>
    autocannon({
      url: options.url,
      method: 'POST',
      headers,
      body,
      connections: options.connections,
      pipelining: 1,
      duration,
      timeout: 30,
    });
  const idleKiB = treeRssKiB(options.pid);
  const sampler = new MemorySampler(options.pid);
  sampler.start();
  if (options.warmup > 0) await load(options.warmup);
  const result = await load(options.duration);
  const memory = sampler.stop(idleKiB);
  return {
    ...base,
    status: 'measured',
    connections: options.connections,
    warmupSec: options.warmup,
    durationSec: result.duration,
    reqPerSec: Math.round((result.requests.total / result.duration) * 10) / 10,
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
      'api-key': { type: 'string' },
    },
  });
  const { target, url, pid, out } = values;
  if (!target || !url || !pid || !out) {
    throw new Error('usage: load.js --target NAME --url URL --pid PID --out FILE [options]');
  }
  const url_ = new URL(url);
  // Load goes to this machine only (bench/README.md).
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url_.hostname)) {
    throw new Error(`refusing to load a non-loopback target: ${url_.hostname}`);
  }
  return {
    target,
    url,
    pid: Number(pid),
    rows: values.rows.split(/[ ,]+/).filter(Boolean).map(Number),
    connections: Number(values.connections),
    warmup: Number(values.warmup),
    duration: Number(values.duration),
    out,
    apiKey: values['api-key'],
  };
}

async function main(): Promise<void> {
  const options = parseOptions();
  for (const rows of options.rows) {
    const m = await measure(options, rows);
    appendFileSync(options.out, `${JSON.stringify(m)}\n`);
    if (m.status === 'measured') {
      console.log(
        `[load] ${m.target} ${rows} row(s): ${m.reqPerSec} req/s, p50 ${m.latencyMs?.p50} ms, ` +
          `p99 ${m.latencyMs?.p99} ms, non-2xx ${m.non2xx}, errors ${m.errors}, ` +
          `peak RSS ${m.memory?.peakMiB} MiB (${m.memory?.processes} processes)`,
      );
    } else {
      console.log(`[load] ${m.target} ${rows} row(s): NOT MEASURED (${m.status}): ${m.reason}`);
    }
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
