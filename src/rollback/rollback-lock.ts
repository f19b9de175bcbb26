import { Logger } from '@nestjs/common';
import { messageOf } from '../common/values';
import { StateStore } from '../cluster/state-store';

/**
 * What asking for the rollback lock of a reference gave: `acquired` (act),
 * `alone` (the state store cannot be reached: act, as every instance that saw
 * the breach will — they all move the alias to the same version, so they
 * repeat each other and never fight), `held` (another instance acted within
 * the cool-down), `cooling` (this one did).
 */
export type LockOutcome = 'acquired' | 'alone' | 'held' | 'cooling';

/**
 * One rollback per reference per cool-down across the cluster: a key set only
 * if absent, living ROLLOUT_COOLDOWN_SECONDS (a lease never renewed). Under
 * `leases:`, so in distributed mode its holder is signed like every lease
 * (a holder written without API_CLUSTER_SECRET reads as none). A local
 * cool-down backs it for when the store is away.
 */
export class RollbackLock {
  private readonly logger = new Logger(RollbackLock.name);
  private readonly coolingUntil = new Map<string, number>();

  constructor(
    private readonly store: StateStore,
    private readonly holder: string,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async acquire(reference: string): Promise<LockOutcome> {
    const until = this.coolingUntil.get(reference);
    if (until !== undefined && this.now() < until) return 'cooling';
    let outcome: LockOutcome;
    try {
      const taken = await this.store.setIfAbsent(
        `leases:rollback:${reference}`,
        this.holder,
        this.cooldownMs,
      );
      outcome = taken ? 'acquired' : 'held';
    } catch (error) {
      this.logger.warn(
        `${reference}: rolling back without the cluster's lock (${messageOf(error)})`,
      );
      outcome = 'alone';
    }
    if (outcome !== 'held') this.coolingUntil.set(reference, this.now() + this.cooldownMs);
    return outcome;
  }

  /** Who holds the lock of `reference` now, from the store. */
  holderOf(reference: string): Promise<string | undefined> {
    return this.store.get(`leases:rollback:${reference}`);
  }
}
