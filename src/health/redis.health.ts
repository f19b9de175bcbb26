import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { STATE_STORE, StateStore } from '../cluster/state-store';
import { HealthConfig, healthConfig } from '../config/health.config';
import { indicatorFailure } from './failure-classifier';
import { CheckStep, SteppedIndicator, runSteps } from './check-steps';

/** What losing Redis means here, for the report (no one should guess). */
const WHILE_DOWN =
  'serving goes on with the models loaded; reloads reach other instances and leases and rate limits are shared again once Redis is back (each instance then resynchronises)';

/** Redis, in distributed mode: connected, and a PING answered. */
@Injectable()
export class RedisHealthIndicator implements SteppedIndicator {
  readonly name = 'redis';
  readonly displayName = 'Redis';

  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    private readonly health: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: Pick<HealthConfig, 'timeoutMs'>,
  ) {}

  get target(): string {
    return this.store.target;
  }

  steps(): CheckStep[] {
    return [
      {
        name: 'PING',
        run: async (seen) => {
          // Throws StoreUnavailableError, classified by the store from ioredis's error code.
          const pingMs = await this.store.ping();
          seen.pingMs = Math.round(pingMs * 10) / 10;
          return `${pingMs.toFixed(1)} ms`;
        },
      },
    ];
  }

  async check(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.name);
    const { seen, error } = await runSteps(this.steps());
    if (error === undefined) return indicator.up(seen);
    return indicator.down({
      whileDown: WHILE_DOWN,
      failure: indicatorFailure(this, error, this.config.timeoutMs),
    });
  }
}
