/**
 * The cores suite's report (issue 15): the JSON lines of bench/wrk-load.ts and
 * bench/suites/cores.sh → bench/results/cores-<timestamp>.{md,json} and
 * cores-latest.{md,json}; prints the tables and each target of the issue with
 * MET / MISSED (or n/a and why: a side not measured, or failures during it).
 *
 *   node cores-report.js --in results.jsonl --out-dir bench/results --meta meta.json
 *
 * Ratios are against `onnx-ceiling` (bench/onnx-ceiling.ts) serving the same
 * model under the same load, measured in the same run.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine, metaText, readMeta } from './machine';
import { isStartup, Measurement, ResultLine, roundTo, Startup } from './measurement';
import type { ProcessMemory } from './memory';

export const CEILING = 'onnx-ceiling';
/** "RSS with the demo model: ≤ 150 MB per worker": MB as 10^6 bytes, in MiB. */
export const RSS_LIMIT_MIB = roundTo(150e6 / 2 ** 20, 1);

export type Verdict = 'MET' | 'MISSED' | 'n/a';

export interface TargetCheck {
  /** The issue's target, as it words it. */
  goal: string;
  model: string;
  target: string;
  load: string;
  value: number | null;
  limit: number;
  /** 'min': value ≥ limit passes; 'max': value ≤ limit passes. */
  kind: 'min' | 'max';
  verdict: Verdict;
  why?: string;
}

const loadName = (m: { rows: number; connections?: number }) => `${m.rows}x${m.connections ?? '?'}`;

function clean(m: Measurement | undefined): string | undefined {
  if (m === undefined) return 'not run';
  // The reason is in the results table; a check names the status only.
  if (m.status !== 'measured' || !m.reqPerSec) return `${m.status.toUpperCase()} (see the table)`;
  const failures = (m.non2xx ?? 0) + (m.errors ?? 0) + (m.timeouts ?? 0);
  return failures > 0 ? `${failures} failed requests during the run` : undefined;
}

/**
 * One measurement per target, model, load and group: with BENCH_ROUNDS > 1
 * each was measured once per round, and the round with the median req/s
 * stands for them (its latencies with it, so a row stays one real run), with
 * every round's req/s beside it; the peak RSS is the highest of the rounds.
 * A load that failed in any round stands as that failure.
 */
export function collapseRounds(measurements: Measurement[]): Measurement[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of measurements) {
    const key = [m.target, m.model, m.rows, m.connections, m.group ?? ''].join('|');
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return [...groups.values()].map((all) => {
    if (all.length === 1) return all[0];
    const failed = all.find((m) => clean(m) !== undefined);
    if (failed) return failed;
    const byRate = [...all].sort((a, b) => (a.reqPerSec ?? 0) - (b.reqPerSec ?? 0));
    const median = byRate[Math.floor((byRate.length - 1) / 2)];
    const peaks = all.map((m) => m.memory?.peakMiB ?? 0);
    const peakOf = all[peaks.indexOf(Math.max(...peaks))];
    return {
      ...median,
      memory: peakOf.memory,
      roundsReqPerSec: byRate.map((m) => m.reqPerSec ?? 0),
    };
  });
}

export class Results {
  constructor(readonly measurements: Measurement[]) {}

  find(target: string, model: string, rows: number, connections: number, group?: string) {
    const matches = this.measurements.filter(
      (m) =>
        m.target === target &&
        m.model === model &&
        (m.group ?? '') === (group ?? '') &&
        ((m.rows === rows && m.connections === connections) || m.rows === 0),
    );
    // A target recorded as not measured (rows 0) stands for every load.
    return matches.find((m) => m.rows === rows) ?? matches[0];
  }

  /** a's figure / b's (req/s or p99), or why not. */
  ratio(
    a: Measurement | undefined,
    b: Measurement | undefined,
    figure: 'reqPerSec' | 'p99',
  ): { value: number | null; why?: string } {
    for (const [m, who] of [
      [a, 'target'],
      [b, 'reference'],
    ] as const) {
      const problem = clean(m);
      if (problem)
        return {
          value: null,
          why: `${who === 'target' ? a?.target : (b?.target ?? CEILING)} ${problem}`,
        };
    }
    const num = figure === 'reqPerSec' ? a?.reqPerSec : a?.latencyMs?.p99;
    const den = figure === 'reqPerSec' ? b?.reqPerSec : b?.latencyMs?.p99;
    if (!num || !den) return { value: null, why: `no ${figure}` };
    return { value: roundTo(num / den, 2) };
  }
}

/**
 * A Node target's worker processes: with more than one node process in its
 * tree, the node children of the root (a node:cluster primary's workers); else
 * the root itself. None for other servers (their column stays empty).
 */
export function workerProcesses(procs: ProcessMemory[]): ProcessMemory[] {
  const nodes = procs.filter((p) => /(^|\/)node(\s|$)/.test(p.command));
  // Not a Node server (mlflow models serve, MLServer): no worker of ours to size.
  if (procs.length === 0 || nodes.length === 0) return [];
  const root = procs[0];
  const children = nodes.filter((p) => p.ppid === root.pid);
  return nodes.length > 1 && children.length > 0 ? children : [root];
}

function maxWorkerMiB(m: Measurement): number | undefined {
  const workers = workerProcesses(m.memory?.perProcess ?? []);
  if (workers.length === 0) return undefined;
  return Math.max(...workers.map((w) => Math.max(w.peakMiB, w.hwmMiB)));
}

function check(
  goal: string,
  model: string,
  target: string,
  load: string,
  r: { value: number | null; why?: string },
  limit: number,
  kind: 'min' | 'max',
): TargetCheck {
  const verdict: Verdict =
    r.value === null
      ? 'n/a'
      : (kind === 'min' ? r.value >= limit : r.value <= limit)
        ? 'MET'
        : 'MISSED';
  return {
    goal,
    model,
    target,
    load,
    value: r.value,
    limit,
    kind,
    verdict,
    ...(r.why ? { why: r.why } : {}),
  };
}

/** Every target of issue 15 that a figure of this run decides. */
export function targetChecks(results: Results, models: string[]): TargetCheck[] {
  const out: TargetCheck[] = [];
  const oneWorker = ['mg-1w', 'mg-1w-batch'];
  const batchTargets = [...new Set(results.measurements.map((m) => m.target))].filter(
    (t) => t.startsWith('mg-') && t.endsWith('-batch'),
  );
  for (const model of models) {
    const ceiling = (rows: number, conns: number) => results.find(CEILING, model, rows, conns);
    for (const target of oneWorker) {
      const a = results.find(target, model, 1, 16);
      out.push(
        check(
          '1 row, 16 conn, 1 worker: ≥ 0.7× the ceiling (req/s)',
          model,
          target,
          '1x16',
          results.ratio(a, ceiling(1, 16), 'reqPerSec'),
          0.7,
          'min',
        ),
      );
    }
    for (const target of oneWorker) {
      const a = results.find(target, model, 100, 16);
      out.push(
        check(
          '100 rows: ≥ 0.85× the ceiling (req/s)',
          model,
          target,
          '100x16',
          results.ratio(a, ceiling(100, 16), 'reqPerSec'),
          0.85,
          'min',
        ),
      );
    }
    for (const target of batchTargets.length > 0 ? batchTargets : ['mg-1w-batch']) {
      const a = results.find(target, model, 1, 64);
      out.push(
        check(
          '1 row, 64 conn, batching on: ≥ 1.5× the ceiling (req/s)',
          model,
          target,
          '1x64',
          results.ratio(a, ceiling(1, 64), 'reqPerSec'),
          1.5,
          'min',
        ),
      );
    }
    for (const target of oneWorker) {
      for (const rows of [1, 100]) {
        const a = results.find(target, model, rows, 16);
        out.push(
          check(
            'p99 at 16 conn: ≤ 2× the ceiling’s',
            model,
            target,
            `${rows}x16`,
            results.ratio(a, ceiling(rows, 16), 'p99'),
            2,
            'max',
          ),
        );
      }
    }
  }
  if (models.includes('iris')) {
    const mgTargets = [...new Set(results.measurements.map((m) => m.target))].filter((t) =>
      t.startsWith('mg-'),
    );
    for (const target of mgTargets) {
      const ms = results.measurements.filter(
        (m) => m.target === target && m.model === 'iris' && m.group === undefined,
      );
      const measured = ms.filter((m) => m.status === 'measured');
      const peaks = measured.map(maxWorkerMiB).filter((v): v is number => v !== undefined);
      const why =
        measured.length === 0
          ? `${target} ${ms[0] ? `${ms[0].status.toUpperCase()} (see the table)` : 'not run'}`
          : undefined;
      out.push(
        check(
          `RSS with the demo model: ≤ 150 MB (${RSS_LIMIT_MIB} MiB) per worker, MiB`,
          'iris',
          target,
          'all',
          {
            value: peaks.length ? Math.max(...peaks) : null,
            why: why ?? (peaks.length ? undefined : 'no RSS'),
          },
          RSS_LIMIT_MIB,
          'max',
        ),
      );
    }
  }
  return out;
}

function cell(v: number | undefined | null): string {
  return v === undefined || v === null ? '' : String(v);
}

function mainTable(results: Results, model: string): string {
  const head =
    '| target | rows×conn | req/s | × ceiling | req/s of each round | p50 ms | p99 ms | p99 × ceiling | non-2xx | errors | timeouts | peak RSS MiB (all processes) | max RSS MiB per worker | procs |\n' +
    '|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = results.measurements
    .filter((m) => m.model === model && m.group === undefined)
    .map((m) => {
      if (m.status !== 'measured') {
        const reason = m.reason?.replace(/\|/g, '\\|').replace(/\n/g, ' ');
        return `| ${m.target} | ${m.rows ? loadName(m) : 'all'} | ${m.status.toUpperCase()}: ${reason} ||||||||||||`;
      }
      const ceiling = results.find(CEILING, model, m.rows, m.connections ?? 0);
      const x = results.ratio(m, ceiling, 'reqPerSec').value;
      const p = results.ratio(m, ceiling, 'p99').value;
      return (
        `| ${m.target} | ${loadName(m)} | ${cell(m.reqPerSec)} | ${x === null ? 'n/a' : `${x}×`} | ` +
        `${m.roundsReqPerSec?.join(', ') ?? ''} | ` +
        `${cell(m.latencyMs?.p50)} | ${cell(m.latencyMs?.p99)} | ${p === null ? 'n/a' : `${p}×`} | ` +
        `${cell(m.non2xx)} | ${cell(m.errors)} | ${cell(m.timeouts)} | ${cell(m.memory?.peakMiB)} | ` +
        `${cell(maxWorkerMiB(m))} | ${cell(m.memory?.processes)} |`
      );
    });
  return [head, ...lines].join('\n');
}

function checkLines(checks: TargetCheck[]): string[] {
  return checks.map((c) => {
    const value =
      c.value === null ? `n/a (${c.why})` : `${c.value}${c.goal.endsWith('MiB') ? ' MiB' : '×'}`;
    return `- **${c.verdict}** ${c.goal} — ${c.model}, ${c.target}, ${c.load}: ${value} (limit ${c.kind === 'min' ? '≥' : '≤'} ${c.limit})`;
  });
}

/** Scaling: N workers against 1, pinned apart (group scaling) and unpinned (main table). */
function scalingLines(results: Results, models: string[], note: string): string[] {
  const lines = [`Pinned (${note}):`, ''];
  const pinned = results.measurements.filter((m) => m.group === 'scaling');
  const oneW = pinned.find((m) => m.target === 'mg-1w');
  if (pinned.length === 0) lines.push('- none measured');
  for (const m of pinned) {
    const cpusText = `wrk on CPU ${m.cpus?.loadGenerator ?? '?'}, server on ${m.cpus?.server ?? '?'}`;
    if (m.status !== 'measured') {
      lines.push(`- ${m.target} (${m.model}): ${m.status.toUpperCase()}: ${m.reason}`);
      continue;
    }
    const vs =
      m.target === 'mg-1w' ? '' : `, ${results.ratio(m, oneW, 'reqPerSec').value ?? 'n/a'}× mg-1w`;
    lines.push(
      `- ${m.target} (${m.model}, ${loadName(m)}; ${cpusText}): ${m.reqPerSec} req/s, p99 ${m.latencyMs?.p99} ms${vs}`,
    );
  }
  lines.push('', 'Unpinned (main table; wrk shares the cores with the server):', '');
  const multi = [...new Set(results.measurements.map((m) => m.target))].filter((t) =>
    /^mg-([2-9]|\d\d+)w(-batch)?$/.test(t),
  );
  for (const model of models) {
    for (const target of multi) {
      const base = target.endsWith('-batch') ? 'mg-1w-batch' : 'mg-1w';
      const loads = results.measurements.filter(
        (m) => m.target === target && m.model === model && m.group === undefined && m.rows > 0,
      );
      for (const m of loads) {
        const r = results.ratio(
          m,
          results.find(base, model, m.rows, m.connections ?? 0),
          'reqPerSec',
        );
        lines.push(
          `- ${target} / ${base}, ${model}, ${loadName(m)}: ${r.value === null ? `n/a (${r.why})` : `${r.value}×`}`,
        );
      }
      if (loads.length === 0)
        lines.push(`- ${target} / ${base}, ${model}: n/a (${target} not measured)`);
    }
  }
  return lines;
}

function startupTable(startups: Startup[]): string {
  if (startups.length === 0) return '';
  const head = '| target/model | seconds to ready | note |\n|---|---:|---|';
  return [
    head,
    ...startups.map((s) => `| ${s.target} | ${cell(s.seconds)} | ${s.note ?? s.reason ?? ''} |`),
  ].join('\n');
}

function main(): void {
  const { values } = parseArgs({
    options: {
      suite: { type: 'string', default: 'cores' },
      in: { type: 'string' },
      'out-dir': { type: 'string' },
      meta: { type: 'string' },
    },
  });
  if (!values.in || !values['out-dir']) {
    throw new Error('usage: cores-report.js --in results.jsonl --out-dir DIR [--meta meta.json]');
  }
  const lines = readFileSync(values.in, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ResultLine);
  const startups = lines.filter(isStartup);
  const measurements = lines.filter((l): l is Measurement => !isStartup(l));
  const meta = readMeta(values.meta);
  const results = new Results(collapseRounds(measurements));
  const models = metaText(meta.models, 'forest iris').split(/\s+/).filter(Boolean);
  const checks = targetChecks(results, models);
  const finished = new Date();
  const { machine, busy } = describeMachine(meta);
  const loadAtStart = machine.loadAverageAtStart;
  const first = measurements.find((m) => m.status === 'measured');
  const tables = models.map((model) => `### ${model}\n\n${mainTable(results, model)}`);
  const scaling = scalingLines(results, models, metaText(meta.scaling, ''));
  const tally = (v: Verdict) => checks.filter((c) => c.verdict === v).length;
  const summary = `${tally('MET')} MET, ${tally('MISSED')} MISSED, ${tally('n/a')} n/a`;
  const startup = startupTable(startups);

  const md = [
    `# Modelgate benchmark, suite cores (issue 15), ${finished.toISOString()}`,
    '',
    'POST /invocations with dataframe_split bodies; every target serves the same registered model ' +
      `(MLServer: the sklearn flavor of the same forest); load generator ${metaText(meta.load_generator, 'wrk')}, ` +
      `${first?.warmupSec ?? '?'} s warm-up then ${first?.durationSec ?? '?'} s measured per load; ` +
      'the load generator and the targets share this machine. Ratios are against onnx-ceiling ' +
      '(bench/onnx-ceiling.ts: Fastify + onnxruntime-node) on the same model and load, in this run.',
    `Machine: ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB; node ${machine.node}; ` +
      `load average (1, 5, 15 min) ${machine.loadAverageAtStart} at start, ${machine.loadAverageAtEnd} at end.`,
    ...(busy
      ? [
          '',
          `**Busy machine**: the 1-minute load average exceeded the ${machine.cores} cores when the ` +
            'run started: absolute figures are low and noisy, ratios less so; only a run on a quiet ' +
            'machine is a reference.',
        ]
      : []),
    '',
    `## Targets of issue 15: ${summary}`,
    '',
    ...checkLines(checks),
    '',
    '- N workers: throughput scaling against 1 worker, reported below (no threshold in the issue).',
    '',
    '## Results',
    '',
    tables.join('\n\n'),
    '',
    'INVALID: the target ran, but the running build does not honour what the target is named after ' +
      '(bench/modelgate-checks.ts: worker processes and GET /v1/cluster for API_WORKERS; a burst of ' +
      'concurrent requests and /metrics’ rows per runtime call for batching); it is not measured. ' +
      'RSS: peak of the sum over the target’s process tree (primary + workers) sampled every 250 ms; ' +
      'per worker: the highest of each worker’s sampled peak and VmHWM.',
    '',
    '## N-worker scaling',
    '',
    ...scaling,
    ...(startup ? ['', '## Start-up', '', startup] : []),
    '',
    '## Run',
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
  ].join('\n');
  const json = {
    suite: 'cores',
    baseline: CEILING,
    finished: finished.toISOString(),
    machine,
    meta,
    measurements,
    startups,
    targets: checks,
  };

  const outDir = values['out-dir'];
  mkdirSync(outDir, { recursive: true });
  const stamp = finished
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  for (const name of [`cores-${stamp}`, 'cores-latest']) {
    writeFileSync(join(outDir, `${name}.md`), md);
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  }
  console.log(`\n${tables.join('\n\n')}\n`);
  if (busy)
    console.log(
      `WARNING: load average at start ${loadAtStart} > ${machine.cores} cores: figures are noisy.\n`,
    );
  console.log(`Targets of issue 15: ${summary}\n${checkLines(checks).join('\n')}\n`);
  console.log(scaling.join('\n'));
  console.log(`\nwrote ${join(outDir, `cores-${stamp}.md`)} (+ .json, cores-latest.md, .json)`);
}

if (require.main === module) main();
