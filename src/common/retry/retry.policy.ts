/**
 * Capped exponential backoff with full jitter, bounded both in attempts and in
 * total time. Pure: the clock, the sleep and the randomness are injected.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = a single attempt). */
  maxRetries: number;
  /** Delay before the first retry, before jitter. */
  baseDelayMs: number;
  /** No single delay is longer than this. */
  maxDelayMs: number;
  /** No retry starts if it would end past this many ms after the first attempt began. */
  maxTotalMs: number;
}

export interface RetryEnvironment {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1). */
  random: () => number;
}

export interface RetryDecisionInput {
  retryable: boolean;
  /** A delay the upstream asked for (Retry-After), if any. */
  retryAfterMs?: number;
}

export const realRetryEnvironment: RetryEnvironment = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * The un-jittered delay before attempt `attempt` (1-based): `baseMs` doubled
 * for each attempt before it, capped at `maxMs`. Both backoffs use it: the
 * upstream retries (full jitter, below) and the Redis reconnection loop.
 */
export function exponentialDelay(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** (attempt - 1));
}

/**
 * Delay before retry number `retry` (1-based): full jitter over
 * min(maxDelay, base * 2^(retry-1)), as in AWS's "Exponential Backoff And
 * Jitter" analysis; a Retry-After from the upstream is honoured but capped.
 */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
  random: () => number,
  retryAfterMs?: number,
): number {
  const ceiling = exponentialDelay(retry, policy.baseDelayMs, policy.maxDelayMs);
  const jittered = Math.floor(random() * ceiling);
  if (retryAfterMs !== undefined && retryAfterMs > jittered) {
    return Math.min(retryAfterMs, policy.maxDelayMs);
  }
  return jittered;
}

/**
 * Runs `attempt` until it succeeds, fails with an error `classify` calls not
 * retryable, or the policy's attempts or time budget run out. Rejects with the
 * last error; `onGiveUp` may decorate it (e.g. with the attempt count).
 */
export async function withRetry<T, E = unknown>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: RetryPolicy,
  classify: (error: E) => RetryDecisionInput,
  env: RetryEnvironment = realRetryEnvironment,
  onGiveUp: (error: E, attempts: number) => unknown = (error) => error,
): Promise<T> {
  const startedAt = env.now();
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt(attemptNumber);
    } catch (caught) {
      const error = caught as E;
      const decision = classify(error);
      const retry = attemptNumber; // the retry this would be
      if (!decision.retryable || retry > policy.maxRetries) {
        throw onGiveUp(error, attemptNumber);
      }
      const delay = backoffDelay(retry, policy, env.random, decision.retryAfterMs);
      if (env.now() + delay - startedAt >= policy.maxTotalMs) {
        throw onGiveUp(error, attemptNumber);
      }
      await env.sleep(delay);
    }
  }
}
