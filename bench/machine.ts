/**
 * What every report says of the run it describes: the facts the suite's
 * shell wrote to meta.json, and the machine the figures were measured on.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export type RunMeta = Record<string, unknown>;

/** meta.json as the suite wrote it; nothing when the report is run without one. */
export function readMeta(path: string | undefined): RunMeta {
  return path ? (JSON.parse(readFileSync(path, 'utf8')) as RunMeta) : {};
}

/** A fact of meta.json as text (the suites write strings). */
export function metaText(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : fallback;
}

/** The 1, 5 and 15 minute load averages now, as `uptime` prints them. */
export function loadAverageNow(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}

export interface Machine {
  node: string;
  cpu: string | undefined;
  cores: number;
  memoryGiB: number;
  loadAverageAtStart: string;
  loadAverageAtEnd: string;
}

/**
 * The machine as of the end of the run, with the load average the suite saw
 * when it started; `busy` when that exceeded the cores (the figures are noisy).
 */
export function describeMachine(meta: RunMeta): { machine: Machine; busy: boolean } {
  const machine: Machine = {
    node: process.version,
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadAverageAtStart: metaText(meta.loadavg_at_start, '?'),
    loadAverageAtEnd: loadAverageNow(),
  };
  const busy = Number(machine.loadAverageAtStart.split(' ')[0]) > machine.cores;
  return { machine, busy };
}
