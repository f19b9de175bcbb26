import { ConfigType, registerAs } from '@nestjs/config';
import { IsInt, Max, Min } from 'class-validator';
import { RetryPolicy } from '../common/retry/retry.policy';
import { parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

/** Backoff shared by the MLflow and Airflow clients; each sets its own retry count. */
export class UpstreamEnvironment {
  @ToNumber()
  @IsInt()
  @Min(0)
  UPSTREAM_RETRY_BASE_DELAY_MS = 200;

  @ToNumber()
  @IsInt()
  @Min(0)
  UPSTREAM_RETRY_MAX_DELAY_MS = 3000;

  @ToNumber()
  @IsInt()
  @Min(0)
  @Max(600_000)
  UPSTREAM_RETRY_MAX_TOTAL_MS = 15000;
}

export const upstreamConfig = registerAs('upstream', () => {
  const env = parseEnvironment(UpstreamEnvironment, process.env);
  return {
    retryPolicy: (maxRetries: number): RetryPolicy => ({
      maxRetries,
      baseDelayMs: env.UPSTREAM_RETRY_BASE_DELAY_MS,
      maxDelayMs: env.UPSTREAM_RETRY_MAX_DELAY_MS,
      maxTotalMs: env.UPSTREAM_RETRY_MAX_TOTAL_MS,
    }),
  };
});

export type UpstreamConfig = ConfigType<typeof upstreamConfig>;
