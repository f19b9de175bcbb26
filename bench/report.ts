/**
 * Turns the JSON lines of bench/load.ts into bench/results/<timestamp>.{md,json}
 * and latest.{md,json}, and prints the table and the throughput ratios.
 *
 *   node report.js --in results.jsonl --out-dir bench/results --meta meta.json
 *
 * meta.json: free-form facts about the run (written by run.sh) that the
 * report copies; the machine's facts are added here.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Measurement } from './load';

const TARGETS = ['ours', 'ours-key', 'mlflow-serve', 'bare-fastify'];

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
  for (const m of [ma, mb]) {
    if (m?.status !== 'measured' || !m.reqPerSec) {
      const who = m?.target ?? (m === ma ? a : b);
      return { name, rows, value: null, why: `${who} not measured` };
    }
  }
  return {
    name,
    rows,
    value: Math.round(((ma?.reqPerSec ?? 0) / (mb?.reqPerSec ?? 1)) * 100) / 100,
  };
}

function cell(v: number | undefined): string {
  return v === undefined ? '' : String(v);
}

function table(ms: Measurement[]): string {
  const head =
    '| target | rows | req/s | p50 ms | p99 ms | non-2xx | errors | timeouts | idle RSS MiB | peak RSS MiB | ΣVmHWM MiB | procs |\n' +
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = ms.map((m) => {
    if (m.status !== 'measured') {
      return `| ${m.target} | ${m.rows || ''} | ${m.status.toUpperCase()}: ${m.reason?.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |||||||||`;
    }
    return (
      `| ${m.target} | ${m.rows} | ${cell(m.reqPerSec)} | ${cell(m.latencyMs?.p50)} | ${cell(m.latencyMs?.p99)} | ` +
      `${cell(m.non2xx)} | ${cell(m.errors)} | ${cell(m.timeouts)} | ${cell(m.memory?.idleMiB)} | ` +
      `${cell(m.memory?.peakMiB)} | ${cell(m.memory?.hwmSumMiB)} | ${cell(m.memory?.processes)} |`
    );
  });
  return [head, ...lines].join('\n');
}

function ratioLines(ratios: Ratio[]): string[] {
  return ratios.map(
    (r) => `- ${r.name}, ${r.rows} row(s): ${r.value === null ? `n/a (${r.why})` : `${r.value}×`}`,
  );
}

function main(): void {
  const { values } = parseArgs({
    options: {
      in: { type: 'string' },
      'out-dir': { type: 'string' },
      meta: { type: 'string' },
    },
  });
  if (!values.in || !values['out-dir']) {
    throw new Error('usage: report.js --in results.jsonl --out-dir DIR [--meta meta.json]');
  }
  const measurements = readFileSync(values.in, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Measurement)
    .sort((a, b) => TARGETS.indexOf(a.target) - TARGETS.indexOf(b.target) || a.rows - b.rows);
  const meta = values.meta
    ? (JSON.parse(readFileSync(values.meta, 'utf8')) as Record<string, unknown>)
    : {};
  const finished = new Date();
  const loadAtStart = typeof meta.loadavg_at_start === 'string' ? meta.loadavg_at_start : '?';
  const machine = {
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: loadAtStart,
    loadAverageAtEnd: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  };
  const busy = Number(loadAtStart.split(' ')[0]) > machine.cores;
  const rowsMeasured = [...new Set(measurements.map((m) => m.rows).filter((r) => r > 0))];
  const ratios = rowsMeasured.flatMap((rows) => [
    // The cost of authentication on the hot path: the same load with an API key vs API_AUTH=off.
    ratio(measurements, 'ours-key', 'ours', rows),
    ratio(measurements, 'ours', 'mlflow-serve', rows),
    ratio(measurements, 'ours', 'bare-fastify', rows),
    ratio(measurements, 'mlflow-serve', 'bare-fastify', rows),
  ]);
  const measured = measurements.find((m) => m.status === 'measured');

  const md = [
    `# Modelgate benchmark, ${finished.toISOString()}`,
    '',
    `POST /invocations with dataframe_split bodies; ${measured?.connections ?? '?'} connections, ` +
      `${measured?.warmupSec ?? '?'} s warm-up then ${measured?.durationSec ?? '?'} s measured per ` +
      'body size; ' +
      'autocannon and all targets share this machine.',
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
    table(measurements),
    '',
    'Throughput ratios (req/s):',
    '',
    ...ratioLines(ratios),
    '',
    'RSS is summed over the target process and its descendants: idle before the warm-up, ' +
      'peak sampled every 250 ms under load, ΣVmHWM = sum of each process’s own high-water mark.',
    '',
    '## Run',
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
  ].join('\n');
  const json = { finished: finished.toISOString(), machine, meta, measurements, ratios };

  const outDir = values['out-dir'];
  mkdirSync(outDir, { recursive: true });
  const stamp = finished
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
  for (const name of [stamp, 'latest']) {
    writeFileSync(join(outDir, `${name}.md`), md);
    writeFileSync(join(outDir, `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  }

  console.log(`\n${table(measurements)}\n`);
  if (busy) {
    console.log(
      `WARNING: load average at start ${loadAtStart} > ${machine.cores} cores: figures are noisy.\n`,
    );
  }
  console.log(ratioLines(ratios).join('\n'));
  console.log(`\nwrote ${join(outDir, `${stamp}.md`)} (+ .json, latest.md, latest.json)`);
}

main();
