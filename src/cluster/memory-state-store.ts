import { Logger } from '@nestjs/common';
import { messageOf } from '../common/values';
import { StateStore, StoreUnavailableError } from './state-store';
import { checkTtl } from './ttl';

interface Entry {
  value: string;
  /** Epoch ms after which the entry is gone; none: it stays. */
  expiresAt?: number;
}

/** One `subscribe` call: a handler may be subscribed twice and is then called twice. */
interface Subscription {
  handler: (message: string) => void;
}

const TARGET = 'this process';

/**
 * Entries every write looks at for expiry, besides its own. Two are enough
 * for a bound: a pass over n entries ends within n/2 writes, which add at most
 * n/2 entries, so an expired entry is gone within two passes and the map holds
 * at most a small multiple of the entries written within one TTL — a million
 * one-off clients leave nothing behind once their windows end.
 */
const SWEEP_PER_WRITE = 2;

/**
 * The state store of a single instance: a map in this process. Expired
 * entries are dropped when read, and every write sweeps a few more (no timer
 * runs: memory grows only by writes, so writes pay for its release). Messages reach this
 * process's own subscribers, on a later turn of the event loop as they would
 * over the network. Always connected, until stopped.
 */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory';
  readonly target = TARGET;
  private readonly logger = new Logger(MemoryStateStore.name);
  private readonly entriesByKey = new Map<string, Entry>();
  private readonly channels = new Map<string, Set<Subscription>>();
  /** Where the incremental sweep has got to (Map iterators survive deletions). */
  private sweepCursor?: Iterator<[string, Entry]>;
  private stopped = false;

  /** `now` is the clock TTLs are measured on. */
  constructor(private readonly now: () => number = Date.now) {}

  get connected(): boolean {
    return !this.stopped;
  }

  /** Entries held, expired ones not yet swept included (what memory holds). */
  get size(): number {
    return this.entriesByKey.size;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  /** Forgets everything; later calls reject with StoreUnavailableError. */
  stop(): Promise<void> {
    this.stopped = true;
    this.entriesByKey.clear();
    this.channels.clear();
    return Promise.resolve();
  }

  ping(): Promise<number> {
    return this.run(() => 0);
  }

  get(key: string): Promise<string | undefined> {
    return this.run(() => this.live(key)?.value);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.run(() => {
      if (ttlMs !== undefined) checkTtl(ttlMs);
      this.sweepSome();
      this.entriesByKey.set(key, { value, expiresAt: this.expiry(ttlMs) });
    });
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run(() => {
      checkTtl(ttlMs);
      this.sweepSome();
      if (this.live(key)) return false;
      this.entriesByKey.set(key, { value, expiresAt: this.expiry(ttlMs) });
      return true;
    });
  }

  extendIfHolds(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run(() => {
      checkTtl(ttlMs);
      const entry = this.live(key);
      if (entry?.value !== value) return false;
      entry.expiresAt = this.expiry(ttlMs);
      return true;
    });
  }

  deleteIfHolds(key: string, value: string): Promise<boolean> {
    return this.run(() => this.live(key)?.value === value && this.entriesByKey.delete(key));
  }

  delete(key: string): Promise<void> {
    return this.run(() => {
      this.entriesByKey.delete(key);
    });
  }

  entries(prefix: string): Promise<Map<string, string>> {
    return this.run(() => {
      const found = new Map<string, string>();
      for (const key of this.entriesByKey.keys()) {
        const entry = key.startsWith(prefix) ? this.live(key) : undefined;
        if (entry) found.set(key, entry.value);
      }
      return found;
    });
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.run(() => {
      checkTtl(ttlMs);
      this.sweepSome();
      const entry = this.live(key);
      if (!entry) {
        this.entriesByKey.set(key, { value: '1', expiresAt: this.expiry(ttlMs) });
        return 1;
      }
      // As Redis INCR: the count is stored as text, and the window keeps its first expiry.
      if (!/^-?\d+$/.test(entry.value)) throw new Error(`${key} does not hold a counter`);
      entry.value = String(Number(entry.value) + 1);
      return Number(entry.value);
    });
  }

  publish(channel: string, message: string): Promise<void> {
    return this.run(() => {
      const subscriptions = [...(this.channels.get(channel) ?? [])];
      if (subscriptions.length === 0) return;
      // Never inside publish: a subscriber that publishes in turn must not re-enter its caller.
      setImmediate(() => {
        for (const subscription of subscriptions) {
          // Unsubscribed since publish: Redis would not deliver it either.
          if (this.channels.get(channel)?.has(subscription))
            this.deliver(channel, subscription, message);
        }
      });
    });
  }

  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>> {
    return this.run(() => {
      const subscription: Subscription = { handler };
      let subscriptions = this.channels.get(channel);
      if (!subscriptions) this.channels.set(channel, (subscriptions = new Set()));
      subscriptions.add(subscription);
      return () => {
        subscriptions.delete(subscription);
        if (subscriptions.size === 0 && this.channels.get(channel) === subscriptions) {
          this.channels.delete(channel);
        }
        return Promise.resolve();
      };
    });
  }

  /** Never called: the store is reachable for as long as the process runs. */
  onConnectionChange(_listener: (connected: boolean) => void): () => void {
    return () => undefined;
  }

  /** Runs `operation` unless stopped; its errors become rejections, as the Redis store's would. */
  private run<T>(operation: () => T): Promise<T> {
    if (this.stopped) return Promise.reject(new StoreUnavailableError(TARGET, 'stopped'));
    return new Promise((resolve) => resolve(operation()));
  }

  /** The entry under `key` unless it has expired (then it is dropped). */
  private live(key: string): Entry | undefined {
    const entry = this.entriesByKey.get(key);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= this.now()) {
      this.entriesByKey.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Drops expired entries among the next SWEEP_PER_WRITE of the map, resuming where the last call stopped. */
  private sweepSome(): void {
    const now = this.now();
    for (let n = 0; n < SWEEP_PER_WRITE; n++) {
      this.sweepCursor ??= this.entriesByKey.entries();
      const next = this.sweepCursor.next();
      if (next.done) {
        this.sweepCursor = undefined; // the next write starts a new pass
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entriesByKey.delete(key);
    }
  }

  private expiry(ttlMs: number | undefined): number | undefined {
    return ttlMs === undefined ? undefined : this.now() + ttlMs;
  }

  private deliver(channel: string, subscription: Subscription, message: string): void {
    try {
      subscription.handler(message);
    } catch (error) {
      // One failing subscriber must not keep the message from the others.
      this.logger.error(`a subscriber of ${channel} failed: ${messageOf(error)}`);
    }
  }
}
