import { ConfigType, registerAs } from '@nestjs/config';
import { IsIn, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { Environment, parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

export const WORKER_SCHEDULING = ['os', 'round-robin'] as const;
export type WorkerScheduling = (typeof WORKER_SCHEDULING)[number];

/** More would be a typo: a process per core on the largest machines we deploy to, and then some. */
export const MAX_WORKERS = 256;

const HEAP_GROWTH_MESSAGE =
  'API_HEAP_GROWTH_PERCENT must be a whole number of percent from 0 to 400';

/**
 * Worker processes of one host (node:cluster): `API_WORKERS=1`, the default,
 * is one process and no cluster at all; N > 1 makes the process a primary
 * that forks N workers sharing API_PORT and API_GRPC_PORT, supervises them
 * and holds the state they share (src/workers/).
 */
export class WorkersEnvironment {
  /** A number of processes (1–256), or `auto`: one per available core (os.availableParallelism()). */
  @Matches(/^\s*(auto|[1-9]\d?|1\d\d|2[0-4]\d|25[0-6])\s*$/i, {
    message: `API_WORKERS must be auto or a whole number of processes from 1 to ${MAX_WORKERS}`,
  })
  API_WORKERS = '1';

  /**
   * Who spreads new connections over the workers. `os`: every worker accepts
   * on the shared socket itself (Node's SCHED_NONE), so a worker that dies
   * takes only the connections it had accepted, which the kernel resets and
   * nginx retries. `round-robin`: the primary accepts and hands each
   * connection to the next worker (Node's default, an even spread whatever
   * the kernel does), but a connection handed to a worker at the moment it
   * dies stays open in the primary with no one to answer it, until the
   * client times out (nginx: a 504 after proxy_read_timeout).
   */
  @IsIn(WORKER_SCHEDULING, {
    message: `API_WORKER_SCHEDULING must be one of ${WORKER_SCHEDULING.join(', ')}`,
  })
  API_WORKER_SCHEDULING: WorkerScheduling = 'os';

  /**
   * Set by the primary in the environment of each worker it forks (1..N):
   * the worker's slot, kept by its restarts. Not for operators.
   */
  @IsOptional()
  @ToNumber()
  @IsInt()
  @Min(1)
  @Max(MAX_WORKERS)
  MODELGATE_WORKER_NUMBER?: number;

  /**
   * How far V8 lets the heap grow past what the last full collection kept
   * before it collects again, in percent (V8's --heap-growing-percent), in
   * every process of the host; 0: V8's own choice. Under load a prediction's
   * short-lived objects (the body, its parse, the answer) outlive a young
   * collection while the request waits for onnxruntime and are promoted; with
   * V8's own factor (up to 4× on a large machine) that garbage piles up in the
   * old space to several times the live heap before a full collection, so a
   * server whose live heap is ~45 MB peaks at ~300 MB of RSS. At 50 the peak is
   * ~195 MB for the price of a full collection (~8 ms) about every second
   * under load (bench/README.md, cores).
   */
  @ToNumber()
  @IsInt({ message: HEAP_GROWTH_MESSAGE })
  @Min(0, { message: HEAP_GROWTH_MESSAGE })
  @Max(400, { message: HEAP_GROWTH_MESSAGE })
  API_HEAP_GROWTH_PERCENT = 50;
}

export interface WorkerSettings {
  /** Worker processes of this host; 1: a single process, no primary. */
  count: number;
  /** This process's slot when it is one of the workers (1..count); absent in a single process and in the primary. */
  number?: number;
  /** Who spreads connections over the workers (API_WORKER_SCHEDULING). */
  scheduling: WorkerScheduling;
  /** Cores this process may use (os.availableParallelism()), for the defaults that divide them. */
  cores: number;
  /** V8's heap growing percent (API_HEAP_GROWTH_PERCENT); 0: V8's own. */
  heapGrowthPercent: number;
}

/**
 * The settings from an environment, for main.ts (which must know whether to
 * fork before Nest starts) and the namespaces below. `cores` is injectable so
 * tests do not depend on the machine.
 */
export function readWorkerSettings(
  env: Environment = process.env,
  cores: number = availableParallelism(),
): WorkerSettings {
  const parsed = parseEnvironment(WorkersEnvironment, env);
  const value = parsed.API_WORKERS.trim().toLowerCase();
  const count = value === 'auto' ? Math.min(MAX_WORKERS, Math.max(1, cores)) : Number(value);
  return {
    count,
    number: parsed.MODELGATE_WORKER_NUMBER,
    scheduling: parsed.API_WORKER_SCHEDULING,
    cores,
    heapGrowthPercent: parsed.API_HEAP_GROWTH_PERCENT,
  };
}

/**
 * Applies API_HEAP_GROWTH_PERCENT to this process's V8, before the app
 * allocates much (main.ts, in the primary and in every worker). V8 reads the
 * flag at each full collection, so setting it once the VM runs takes effect
 * from the next one (measured: RSS peak under load 311 → 195 MB at 50).
 */
export function applyHeapSettings(
  settings: Pick<WorkerSettings, 'heapGrowthPercent'>,
  setFlags: (flags: string) => void = setFlagsFromString,
): void {
  if (settings.heapGrowthPercent > 0) {
    setFlags(`--heap-growing-percent=${settings.heapGrowthPercent}`);
  }
}

/**
 * onnxruntime's intra-op threads per session when ONNX_INTRA_OP_THREADS is
 * unset: the cores shared out among the workers, so workers × threads does
 * not oversubscribe the machine (onnxruntime's own default is a thread per
 * core in every process). One worker keeps onnxruntime's default (0).
 */
export function defaultIntraOpThreads(settings: Pick<WorkerSettings, 'count' | 'cores'>): number {
  if (settings.count <= 1) return 0;
  return Math.max(1, Math.floor(settings.cores / settings.count));
}

export const workersConfig = registerAs('workers', () => readWorkerSettings(process.env));

export type WorkersConfig = ConfigType<typeof workersConfig>;
