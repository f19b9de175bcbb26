import { ConfigType, registerAs } from '@nestjs/config';
import { IsNumber, Max, Min } from 'class-validator';
import { parseEnvironment } from './env.validation';
import { ToNumber } from './env.transforms';

/** What happens between SIGTERM and the process's exit. */
export class ShutdownEnvironment {
  /**
   * Seconds in-flight requests get to finish once the server stops taking new
   * connections; those still running then are cut. 25 leaves 5 s of
   * Kubernetes' default 30 s terminationGracePeriodSeconds for the rest.
   */
  @ToNumber()
  @IsNumber({}, { message: 'SHUTDOWN_GRACE_PERIOD must be a number of seconds' })
  @Min(0)
  @Max(3600)
  SHUTDOWN_GRACE_PERIOD = 25;

  /**
   * Seconds between readiness turning 503 and the listener closing, during
   * which requests are still served: time for a load balancer that polls
   * /health/ready to stop sending here. 0 closes the listener at once.
   */
  @ToNumber()
  @IsNumber({}, { message: 'SHUTDOWN_DRAIN_DELAY must be a number of seconds' })
  @Min(0)
  @Max(600)
  SHUTDOWN_DRAIN_DELAY = 0;
}

export const shutdownConfig = registerAs('shutdown', () => {
  const env = parseEnvironment(ShutdownEnvironment, process.env);
  return {
    gracePeriodMs: Math.round(env.SHUTDOWN_GRACE_PERIOD * 1000),
    drainDelayMs: Math.round(env.SHUTDOWN_DRAIN_DELAY * 1000),
  };
});

export type ShutdownConfig = ConfigType<typeof shutdownConfig>;
