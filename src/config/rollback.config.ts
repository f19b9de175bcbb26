import { ConfigType, registerAs } from '@nestjs/config';
import { IsBoolean, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';

/**
 * The watch after a promotion (issue 13 part 3): for ROLLOUT_WATCH_SECONDS
 * after a reference by alias swaps to a new version, that version's answers
 * are compared with what the version it replaced did before the swap, and a
 * version that does clearly worse is rolled back in MLflow.
 */
export class RollbackEnvironment {
  /** Seconds a new version is watched after its swap; 0 watches nothing (and turns ROLLBACK off). */
  @ToNumber()
  @IsInt({ message: 'ROLLOUT_WATCH_SECONDS must be a whole number of seconds' })
  @Min(0)
  @Max(86_400)
  ROLLOUT_WATCH_SECONDS = 600;

  /**
   * Error rate (failed / answered, 0..1) the new version may have above the
   * replaced one's: 0.05 rolls back a version failing 5 points more often.
   */
  @ToNumber()
  @IsNumber({}, { message: 'ROLLOUT_MAX_ERROR_RATE must be a number between 0 and 1' })
  @Min(0)
  @Max(1)
  ROLLOUT_MAX_ERROR_RATE = 0.05;

  /**
   * Milliseconds the new version's p99 latency may exceed the replaced
   * version's p99 by (an allowance over the old p99, which counts as 0 when
   * the old version had no answered requests); 0 judges no latency.
   */
  @ToNumber()
  @IsNumber({}, { message: 'ROLLOUT_MAX_P99_MS must be a number of milliseconds' })
  @Min(0)
  @Max(600_000)
  ROLLOUT_MAX_P99_MS = 250;

  /** Requests the new version must have answered or failed before any verdict. */
  @ToNumber()
  @IsInt({ message: 'ROLLOUT_MIN_REQUESTS must be a whole number' })
  @Min(1)
  @Max(1_000_000)
  ROLLOUT_MIN_REQUESTS = 20;

  /**
   * Seconds after a rollback during which no instance rolls the same
   * reference back again: the lock every instance asks for lives this long,
   * so two instances never move the alias against each other.
   */
  @ToNumber()
  @IsInt({ message: 'ROLLOUT_COOLDOWN_SECONDS must be a whole number of seconds' })
  @Min(1)
  @Max(86_400)
  ROLLOUT_COOLDOWN_SECONDS = 300;

  /**
   * Keep the replaced version loaded while its successor is watched, so a
   * rollback swaps back at once instead of loading it again (a pyfunc
   * version's Python workers take seconds to start). Costs the memory of a
   * second version per promoted reference during the watch; the cache's
   * bounds (MODEL_CACHE_MAX_*) may still evict it.
   */
  @ToBoolean()
  @IsBoolean({ message: 'ROLLOUT_KEEP_REPLACED must be true or false' })
  ROLLOUT_KEEP_REPLACED = false;

  /** Automatic rollback on a breach; default: on when ROLLOUT_WATCH_SECONDS > 0. */
  @IsOptional()
  @ToBoolean()
  @IsBoolean({ message: 'ROLLBACK must be true or false' })
  ROLLBACK?: boolean;
}

export const rollbackConfig = registerAs('rollback', () => {
  const env = parseEnvironment(RollbackEnvironment, process.env);
  const watchMs = env.ROLLOUT_WATCH_SECONDS * 1000;
  return {
    /** A watch that cannot act is still kept: its verdicts are logged and told. */
    watchMs,
    rollback: watchMs > 0 && (env.ROLLBACK ?? true),
    maxErrorRate: env.ROLLOUT_MAX_ERROR_RATE,
    maxP99Ms: env.ROLLOUT_MAX_P99_MS,
    minRequests: env.ROLLOUT_MIN_REQUESTS,
    cooldownMs: env.ROLLOUT_COOLDOWN_SECONDS * 1000,
    /** How long a replaced version stays loaded for a rollback to swap back to; 0: not kept. */
    standbyMs: watchMs > 0 && (env.ROLLBACK ?? true) && env.ROLLOUT_KEEP_REPLACED ? watchMs : 0,
  };
});

export type RollbackConfig = ConfigType<typeof rollbackConfig>;
