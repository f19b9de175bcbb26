import { Logger } from '@nestjs/common';
import { StateStore } from './state-store';

/**
 * A named lease in the state store: at most one instance holds it, for
 * `ttlMs` unless renewed; a holder that dies loses it when it expires.
 * Instances campaign on every heartbeat: the holder renews, the others try
 * to take it, so a new holder appears within a heartbeat of the expiry.
 * In distributed mode the store signs the holder (SigningStateStore): a holder
 * written by anyone without API_CLUSTER_SECRET reads as none and is replaced.
 */
export class Lease {
  private readonly logger = new Logger(Lease.name);
  /** Until when the store keeps it ours, as far as this process knows. */
  private heldUntil = 0;
  /** The campaign under way: callers that overlap share it. */
  private campaigning?: Promise<boolean>;

  constructor(
    readonly name: string,
    private readonly holder: string,
    private readonly store: StateStore,
    private readonly ttlMs: number,
  ) {}

  private get key(): string {
    return `leases:${this.name}`;
  }

  /** True while this instance holds the lease (renewed, not expired). */
  get held(): boolean {
    return this.store.connected && Date.now() < this.heldUntil;
  }

  /**
   * True when this instance should do the leased work: it holds the lease, or
   * the store cannot be reached, so no one can coordinate and every instance
   * does the work on its own (degraded, but nothing is missed).
   */
  shouldAct(): boolean {
    return this.held || !this.store.connected;
  }

  /**
   * Renews the lease if held, takes it if free. Never throws: a store error means not held.
   * Overlapping calls (`ClusterService.lease` campaigns at once, a heartbeat may too) share one
   * campaign: two would both find `heldUntil` at 0 and both try to take the key; the loser,
   * answering last, would mark the lease not held while the store keeps it ours until it expires.
   */
  campaign(): Promise<boolean> {
    this.campaigning ??= this.renewOrTake().finally(() => (this.campaigning = undefined));
    return this.campaigning;
  }

  private async renewOrTake(): Promise<boolean> {
    const wasHeld = this.held;
    const started = Date.now();
    try {
      const ours =
        (this.heldUntil > 0 &&
          (await this.store.extendIfHolds(this.key, this.holder, this.ttlMs))) ||
        (await this.store.setIfAbsent(this.key, this.holder, this.ttlMs));
      // Counted from before the call: the store's clock started no later than that.
      this.heldUntil = ours ? started + this.ttlMs : 0;
    } catch {
      this.heldUntil = 0;
    }
    if (this.held !== wasHeld) {
      this.logger.log(`${this.held ? 'took' : 'lost'} the ${this.name} lease`);
    }
    return this.held;
  }

  /** Gives the lease up (shutdown), so another instance takes it at its next heartbeat. */
  async release(): Promise<void> {
    if (this.heldUntil === 0) return;
    this.heldUntil = 0;
    await this.store.deleteIfHolds(this.key, this.holder).catch(() => undefined);
  }

  /** Who holds the lease now, from the store. */
  async holderNow(): Promise<string | undefined> {
    return this.store.get(this.key);
  }
}
