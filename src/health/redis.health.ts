import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { STATE_STORE, StateStore } from '../cluster/state-store';
import { HealthConfig, healthConfig } from '../config/health.config';
import { indicatorFailure } from './failure-classifier';
import { DependencyIndicator } from './health.types';

/** What losing Redis means here, for the report (no one should guess). */
const WHILE_DOWN =
  'serving goes on with the models loaded; reloads reach other instances and leases and rate limits are shared again once Redis is back (each instance then resynchronises)';

/** Redis, in distributed mode: connected, and a PING answered. */
@Injectable()
export class RedisHealthIndicator implements DependencyIndicator {
  readonly name = 'redis';
  readonly displayName = 'Redis';

  constructor(
    @Inject(STATE_STORE) private readonly store: StateStore,
    private readonly health: HealthIndicatorService,
    @Inject(healthConfig.KEY) private readonly config: HealthConfig,
  ) {}

  get target(): string {
    return this.store.target;
  }

  async check(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check(this.name);
    try {
      // Throws StoreUnavailableError naming the last connection error while disconnected.
      const pingMs = await this.store.ping();
      return indicator.up({ pingMs: Math.round(pingMs * 10) / 10 });
    } catch (error) {
      return indicator.down({
        whileDown: WHILE_DOWN,
        failure: indicatorFailure(this, error, this.config.timeoutMs),
      });
    }
  }
}
