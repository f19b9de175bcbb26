/**
 * What bench/load.ts and bench/grpc-load.ts append, one JSON line per target
 * and body size, and what bench/report.ts reads.
 */
import type { MemoryStats } from './memory';

export interface LatencyMs {
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
}

export interface Measurement {
  kind?: 'load';
  target: string;
  rows: number;
  status: 'measured' | 'invalid' | 'skipped';
  reason?: string;
  connections?: number;
  warmupSec?: number;
  durationSec?: number;
  reqPerSec?: number;
  requests?: number;
  latencyMs?: LatencyMs;
  non2xx?: number;
  errors?: number;
  timeouts?: number;
  memory?: MemoryStats;
  /** The cores suite: which model the target served (forest, iris). */
  model?: string;
  /** `autocannon` (default, absent) or `wrk` (bench/wrk-load.ts). */
  loadGenerator?: string;
  /** taskset CPU lists, when the load generator and the server were pinned apart. */
  cpus?: { loadGenerator?: string; server?: string };
  /** The cores suite's N-worker scaling runs carry `scaling`; the main table's none. */
  group?: string;
  /** The cores suite with BENCH_ROUNDS > 1: which pass over the targets (1…N). */
  round?: number;
  /** Set by the cores report on the measurement standing for several rounds: their req/s, lowest first. */
  roundsReqPerSec?: number[];
}

/** Seconds from a target's start until it answered (run.sh's suites write these). */
export interface Startup {
  kind: 'startup';
  target: string;
  status: 'measured' | 'skipped';
  seconds?: number;
  reason?: string;
  note?: string;
}

export type ResultLine = Measurement | Startup;

export function isStartup(line: ResultLine): line is Startup {
  return line.kind === 'startup';
}

export function roundTo(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
