/**
 * Does the running Modelgate honour the settings a cores-suite target is named
 * after? A target is measured under its name only when these say yes
 * (bench/suites/cores.sh); otherwise it is recorded as INVALID with the answer.
 *
 *   node modelgate-checks.js workers --port PORT --pid PID --expect N
 *   node modelgate-checks.js batching --port PORT --model NAME --expect on|off \
 *     [--dataset rows.json] [--burst 64] [--rounds 3]
 *
 * workers: API_WORKERS=N. N = 1: one process, no cluster (no node child
 *   process). N > 1: N node child processes of the started pid (node:cluster
 *   forks them from the primary), and GET /v1/cluster lists N `workers` whose
 *   pids are those children.
 * batching: MODEL_BATCH_MAX_SIZE (0 = off) and the adaptive batcher. Sends
 *   ROUNDS bursts of BURST concurrent 1-row requests to /invocations and reads
 *   `modelgate_prediction_batch_rows` (rows per runtime call) for the model
 *   from /metrics before and after: with 1-row requests, Δsum / Δcount is the
 *   mean number of requests stacked into one runtime call. on: above 1 (some
 *   calls stacked requests); off: exactly 1 (every request its own call).
 *
 * Prints one JSON line {ok, detail, ...}; exit 0 when honoured, 3 when not,
 * 1 when the check itself failed.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadDataset } from './dataset';
import { httpRequest } from './http-requests';
import { commandOf, processTree } from './memory';

interface Verdict {
  ok: boolean;
  detail: string;
  [key: string]: unknown;
}

function nodeChildren(pid: number): number[] {
  return processTree(pid).filter((p) => {
    if (p === pid) return false;
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return ppid === pid && /(^|\/)node(\s|$)/.test(commandOf(p));
  });
}

interface ClusterWorker {
  pid?: number;
  id?: string | number;
  state?: string;
}

async function checkWorkers(port: number, pid: number, expect: number): Promise<Verdict> {
  const children = nodeChildren(pid);
  const response = await fetch(`http://127.0.0.1:${port}/v1/cluster`, {
    signal: AbortSignal.timeout(10_000),
  });
  const view = (await response.json()) as { workers?: ClusterWorker[] };
  const listed = Array.isArray(view.workers) ? view.workers : undefined;
  const facts = { nodeChildren: children, clusterWorkers: listed?.map((w) => w.pid) ?? null };
  if (response.status !== 200) {
    return { ok: false, detail: `GET /v1/cluster answered ${response.status}`, ...facts };
  }
  if (expect === 1) {
    const single = children.length === 0 || (children.length === 1 && (listed?.length ?? 1) === 1);
    return single
      ? {
          ok: true,
          detail: `one server process (${children.length} node worker processes)`,
          ...facts,
        }
      : {
          ok: false,
          detail: `API_WORKERS=1 but ${children.length} node child processes`,
          ...facts,
        };
  }
  if (children.length !== expect) {
    return {
      ok: false,
      detail:
        `API_WORKERS=${expect} but the server has ${children.length} node child processes ` +
        '(the running build does not fork workers)',
      ...facts,
    };
  }
  if (listed === undefined) {
    return { ok: false, detail: 'GET /v1/cluster lists no `workers`', ...facts };
  }
  const pids = new Set(listed.map((w) => w.pid));
  const missing = children.filter((c) => !pids.has(c));
  if (listed.length !== expect || missing.length > 0) {
    return {
      ok: false,
      detail: `GET /v1/cluster lists ${listed.length} workers (pids ${[...pids].join(', ')}), the processes are ${children.join(', ')}`,
      ...facts,
    };
  }
  return {
    ok: true,
    detail: `${expect} workers, pids ${children.join(', ')}, listed by GET /v1/cluster`,
    ...facts,
  };
}

const BATCH_ROWS = 'modelgate_prediction_batch_rows';

/** Sum of `NAME_sum` and `NAME_count` over the series whose `model` label is MODEL. */
export function histogramTotals(
  text: string,
  name: string,
  model: string,
): { sum: number; count: number } | undefined {
  let sum = 0;
  let count = 0;
  let seen = false;
  for (const line of text.split('\n')) {
    const m = /^(\w+)\{([^}]*)\}\s+(\S+)/.exec(line);
    if (!m || (m[1] !== `${name}_sum` && m[1] !== `${name}_count`)) continue;
    if (!new RegExp(`(^|,)model="${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`).test(m[2]))
      continue;
    seen = true;
    if (m[1].endsWith('_sum')) sum += Number(m[3]);
    else count += Number(m[3]);
  }
  return seen ? { sum, count } : undefined;
}

async function checkBatching(
  port: number,
  model: string,
  expect: 'on' | 'off',
  dataset: string | undefined,
  burst: number,
  rounds: number,
): Promise<Verdict> {
  const metrics = async () => {
    const r = await fetch(`http://127.0.0.1:${port}/metrics`, {
      signal: AbortSignal.timeout(10_000),
    });
    return r.status === 200 ? await r.text() : '';
  };
  const before = histogramTotals(await metrics(), BATCH_ROWS, model) ?? { sum: 0, count: 0 };
  const request = httpRequest('mlflow', loadDataset(dataset), 1, '');
  let failed = 0;
  for (let round = 0; round < rounds; round++) {
    const answers = await Promise.all(
      Array.from({ length: burst }, () =>
        fetch(`http://127.0.0.1:${port}/invocations`, {
          method: 'POST',
          headers: request.headers,
          body: request.body as string,
          signal: AbortSignal.timeout(30_000),
        })
          .then(async (r) => {
            await r.arrayBuffer();
            return r.status;
          })
          .catch(() => 0),
      ),
    );
    failed += answers.filter((s) => s !== 200).length;
  }
  const after = histogramTotals(await metrics(), BATCH_ROWS, model);
  const sent = burst * rounds;
  if (after === undefined) {
    return {
      ok: false,
      detail: `no ${BATCH_ROWS}{model="${model}"} in GET /metrics`,
      sent,
      failed,
    };
  }
  const calls = after.count - before.count;
  const rows = after.sum - before.sum;
  const perCall = calls > 0 ? Math.round((rows / calls) * 100) / 100 : 0;
  const facts = { sent, failed, runtimeCalls: calls, rows, requestsPerCall: perCall };
  const seen = `${sent} concurrent 1-row requests (${failed} failed) made ${calls} runtime calls, ${perCall} rows per call`;
  if (failed > 0 || calls <= 0) return { ok: false, detail: seen, ...facts };
  if (expect === 'on') {
    return perCall > 1
      ? { ok: true, detail: `batching: ${seen}`, ...facts }
      : {
          ok: false,
          detail: `no batching: ${seen} (the running build does not stack requests)`,
          ...facts,
        };
  }
  return calls === rows
    ? { ok: true, detail: `unbatched: ${seen}`, ...facts }
    : { ok: false, detail: `MODEL_BATCH_MAX_SIZE=0 but ${seen}`, ...facts };
}

async function main(): Promise<void> {
  const [what] = process.argv.slice(2);
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: {
      port: { type: 'string' },
      pid: { type: 'string' },
      expect: { type: 'string' },
      model: { type: 'string' },
      dataset: { type: 'string' },
      burst: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const port = Number(values.port);
  let verdict: Verdict;
  if (what === 'workers' && values.pid && values.expect) {
    verdict = await checkWorkers(port, Number(values.pid), Number(values.expect));
  } else if (
    what === 'batching' &&
    values.model &&
    (values.expect === 'on' || values.expect === 'off')
  ) {
    verdict = await checkBatching(
      port,
      values.model,
      values.expect,
      values.dataset,
      Number(values.burst),
      Number(values.rounds),
    );
  } else {
    throw new Error(
      'usage: modelgate-checks.js workers --port P --pid PID --expect N | batching --port P --model NAME --expect on|off',
    );
  }
  console.log(JSON.stringify(verdict));
  process.exit(verdict.ok ? 0 : 3);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
