/**
 * Turns the JSON lines of bench/load.ts, bench/grpc-load.ts and run.sh's
 * suites into bench/results/<suite>-<timestamp>.{md,json} and
 * <suite>-latest.{md,json}, and prints the table and the throughput ratios.
 *
 *   node report.js --suite flavors --in results.jsonl --out-dir bench/results --meta meta.json
 *
 * meta.json: free-form facts about the run (written by run.sh) that the
 * report copies; the machine's facts are added here.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { describeMachine, readMeta } from './machine';
import { isStartup, Measurement, ResultLine, roundTo, Startup } from './measurement';
import { Suite, suiteNamed } from './suites';

interface Ratio {
  name: string;
  rows: number;
  value: number | null;
  why?: string;
}

function find(ms: Measurement[], target: string, rows: number): Measurement | undefined {
  return ms.find((m) => m.target === target && m.rows === rows);
}

function ratio(ms: Measurement[], a: string, b: string, rows: number): Ratio {
  const name = `${a} / ${b}`;
  const [ma, mb] = [find(ms, a, rows), find(ms, b, rows)];
  for (const [m, who] of [
    [ma, a],
    [mb, b],
  ] as const) {
    if (m?.status !== 'measured' || !m.reqPerSec)
      return { name, rows, value: null, why: `${who} not measured` };
  }
  return { name, rows, value: roundTo((ma?.reqPerSec ?? 0) / (mb?.reqPerSec ?? 1), 2) };
}

function cell(v: number | undefined): string {
  return v === undefined ? '' : String(v);
}

function loadTable(ms: Measurement[], suite: Suite): string {
  const head =
    `| target | rows | req/s | × ${suite.baseline} | p50 ms | p99 ms | non-2xx | errors | timeouts | idle RSS MiB | peak RSS MiB | ΣVmHWM MiB | procs |\n` +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = ms.map((m) => {
    if (m.status !== 'measured') {
      const reason = m.reason?.replace(/\|/g, '\\|').replace(/\n/g, ' ');
      return `| ${m.target} | ${m.rows || ''} | ${m.status.toUpperCase()}: ${reason} ||||||||||`;
    }
    const vsBaseline = ratio(ms, m.target, suite.baseline, m.rows).value ?? undefined;
    return (
      `| ${m.target} | ${m.rows} | ${cell(m.reqPerSec)} | ${vsBaseline === undefined ? 'n/a' : `${vsBaseline}×`} | ` +
      `${cell(m.latencyMs?.p50)} | ${cell(m.latencyMs?.p99)} | ` +
      `${cell(m.non2xx)} | ${cell(m.errors)} | ${cell(m.timeouts)} | ${cell(m.memory?.idleMiB)} | ` +
      `${cell(m.memory?.peakMiB)} | ${cell(m.memory?.hwmSumMiB)} | ${cell(m.memory?.processes)} |`
    );
  });
  return [head, ...lines].join('\n');
}

function startupTable(startups: Startup[]): string {
  if (startups.length === 0) return '';
  const head = '| target | seconds to ready | note |\n|---|---:|---|';
  const lines = startups.map((s) =>
    s.status === 'measured'
      ? `| ${s.target} | ${s.seconds} | ${s.note ?? ''} |`
      : `| ${s.target} | SKIPPED | ${s.reason ?? ''} |`,
  );
  return [head, ...lines].join('\n');
}

function ratioLines(ratios: Ratio[]): string[] {
  return ratios.map(
    (r) => `- ${r.name}, ${r.rows} row(s): ${r.value === null ? `n/a (${r.why})` : `${r.value}×`}`,
  );
}

function readLines(path: string): ResultLine[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as ResultLine);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      suite: { type: 'string', default: 'serving' },
      in: { type: 'string' },
      'out-dir': { type: 'string' },
      meta: { type: 'string' },
    },
  });
  if (!values.in || !values['out-dir']) {
    throw new Error(
      'usage: report.js --suite NAME --in results.jsonl --out-dir DIR [--meta meta.json]',
    );
  }
  const suite = suiteNamed(values.suite);
  const order = (target: string) => {
    const i = suite.targets.indexOf(target);
    return i < 0 ? suite.targets.length : i;
  };
  const lines = readLines(values.in);
  const startups = lines.filter(isStartup);
  const measurements = lines
    .filter((l): l is Measurement => !isStartup(l))
    .sort((a, b) => order(a.target) - order(b.target) || a.rows - b.rows);
  const meta = readMeta(values.meta);
  const finished = new Date();
  const { machine, busy } = describeMachine(meta);
  const loadAtStart = machine.loadAverageAtStart;
  const rowsMeasured = [...new Set(measurements.map((m) => m.rows).filter((r) => r > 0))];
  const pairs = [
    ...suite.targets.filter((t) => t !== suite.baseline).map((t) => [t, suite.baseline]),
    ...suite.ratios.filter(([, b]) => b !== suite.baseline),
  ];
  const ratios = rowsMeasured.flatMap((rows) =>
    pairs.map(([a, b]) => ratio(measurements, a, b, rows)),
  );
  const measured = measurements.find((m) => m.status === 'measured');
  const table = loadTable(measurements, suite);
  const startup = startupTable(startups);

  const md = [
    `# Modelgate benchmark, suite ${suite.name}, ${finished.toISOString()}`,
    '',
    `${suite.requests}; ${measured?.connections ?? '?'} connections, ` +
      `${measured?.warmupSec ?? '?'} s warm-up then ${measured?.durationSec ?? '?'} s measured per ` +
      'body size; the load generator and all targets share this machine. ' +
      `Baseline: ${suite.baseline}, measured in this run.`,
    `Machine: ${machine.cores} × ${machine.cpu}, ${machine.memoryGiB} GiB; node ${machine.node}; ` +
      `load average (1, 5, 15 min) ${machine.loadAverageAtStart} at start, ` +
      `${machine.loadAverageAtEnd} at end.`,
    ...(busy
      ? [
          '',
          `**Busy machine**: the 1-minute load average exceeded the ${machine.cores} cores when the ` +
            'run started, so other work competed for the CPU: absolute figures are low and noisy; ' +
            'ratios between targets hold better, but only a run on a quiet machine is a reference.',
        ]
      : []),
    '',
    table,
    '',
    'Throughput ratios (req/s):',
    '',
    ...ratioLines(ratios),
    '',
    'RSS is summed over the target process and its descendants: idle before the warm-up, ' +
      'peak sampled every 250 ms under load, ΣVmHWM = sum of each process’s own high-water mark.',
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
    suite: suite.name,
    baseline: suite.baseline,
    finished: finished.toISOString(),
    machine,
    meta,
    measurements,
    startups,
    ratios,
  };

  const outDir = values['out-dir'];
  mkdirSync(outDir, { recursive: true });
  const stamp = finished
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  // The serving suite keeps its historical names (<timestamp>, latest).
  const prefix = suite.name === 'serving' ? '' : `${suite.name}-`;
  for (const name of [`${prefix}${stamp}`, `${prefix}latest`]) {
    writeFileSync(join(outDir, `${name}.md`), md);
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  }

  console.log(`\n${table}\n`);
  if (startup) console.log(`${startup}\n`);
  if (busy) {
    console.log(
      `WARNING: load average at start ${loadAtStart} > ${machine.cores} cores: figures are noisy.\n`,
    );
  }
  console.log(ratioLines(ratios).join('\n'));
  console.log(
    `\nwrote ${join(outDir, `${prefix}${stamp}.md`)} (+ .json, ${prefix}latest.md, .json)`,
  );
}

main();
