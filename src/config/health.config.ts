import { ConfigType, registerAs } from '@nestjs/config';
import { IsBoolean, IsNumber, Max, Min } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';

/**
 * The background topology check and what readiness waits for. Probes answer
 * from the last check, so the interval bounds the load probes put on MLflow
 * and Airflow, whatever the probe rate.
 */
export class HealthEnvironment {
  /** Seconds between two checks of MLflow, Airflow and this process. */
  @ToNumber()
  @IsNumber({}, { message: 'HEALTH_CHECK_INTERVAL must be a number of seconds' })
  @Min(1)
  @Max(3600)
  HEALTH_CHECK_INTERVAL = 15;

  /** Seconds one dependency's check may take before it counts as a timeout. */
  @ToNumber()
  @IsNumber({}, { message: 'HEALTH_CHECK_TIMEOUT must be a number of seconds' })
  @Min(0.1)
  @Max(300)
  HEALTH_CHECK_TIMEOUT = 5;

  /** /health/ready answers 503 while MLflow's last check failed (default: serving goes on). */
  @ToBoolean()
  @IsBoolean()
  READINESS_REQUIRES_MLFLOW = false;

  /** /health/ready answers 503 while Airflow's last check failed. */
  @ToBoolean()
  @IsBoolean()
  READINESS_REQUIRES_AIRFLOW = false;
}

export const healthConfig = registerAs('health', () => {
  const env = parseEnvironment(HealthEnvironment, process.env);
  return {
    intervalMs: Math.round(env.HEALTH_CHECK_INTERVAL * 1000),
    timeoutMs: Math.round(env.HEALTH_CHECK_TIMEOUT * 1000),
    readinessRequires: {
      mlflow: env.READINESS_REQUIRES_MLFLOW,
      airflow: env.READINESS_REQUIRES_AIRFLOW,
    },
  };
});

export type HealthConfig = ConfigType<typeof healthConfig>;
