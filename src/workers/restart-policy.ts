/** How the primary restarts a worker that died (src/workers/worker-supervisor.ts). */
export interface RestartPolicyOptions {
  /** Wait before the first restart after a crash. */
  initialDelayMs: number;
  /** The longest wait between two restarts (the delay doubles up to it). */
  maxDelayMs: number;
  /** A worker that ran this long was healthy: its next crash starts the backoff over. */
  stableAfterMs: number;
  /** Crashes in a row (each sooner than stableAfterMs) after which the slot is given up. */
  maxCrashesInARow: number;
}

/**
 * 200 ms, doubling to 10 s: a worker killed once (OOM, a stray SIGKILL) is
 * back before a balancer notices; one that dies at every start (a broken
 * model file, a missing library) stops after 8 tries in about 35 s, instead
 * of spinning a core on starts. 30 s of life counts as healthy, well past a
 * start with the demo model (a few seconds).
 */
export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialDelayMs: 200,
  maxDelayMs: 10_000,
  stableAfterMs: 30_000,
  maxCrashesInARow: 8,
};

export type RestartDecision =
  | { action: 'restart'; delayMs: number; crashesInARow: number }
  | { action: 'give-up'; crashesInARow: number };

/**
 * What to do once a worker has died after `livedMs`, having crashed
 * `crashesInARow` times in a row before (0 for a worker that never had):
 * restart after a capped exponential delay, or give the slot up after too
 * many quick crashes. A pure function: the supervisor keeps the count.
 */
export function decideRestart(
  crashesInARow: number,
  livedMs: number,
  options: RestartPolicyOptions = DEFAULT_RESTART_POLICY,
): RestartDecision {
  const crashes = livedMs >= options.stableAfterMs ? 1 : crashesInARow + 1;
  if (crashes > options.maxCrashesInARow) return { action: 'give-up', crashesInARow: crashes };
  const delayMs = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** (crashes - 1));
  return { action: 'restart', delayMs, crashesInARow: crashes };
}
