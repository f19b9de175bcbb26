import type { UpstreamFailureReason } from '../common/upstream/upstream.error';

/**
 * The state instances share: one interface, an in-memory implementation for a
 * single instance (the default) and a Redis one for several (distributed
 * mode). Nothing outside `src/cluster/` knows which one it has.
 *
 * Keys and channels are given without the deployment's prefix; the store adds
 * it (API_REDIS_PREFIX), so several deployments can share one Redis.
 *
 * Every call fails fast with a StoreUnavailableError while the store cannot be
 * reached (no queueing behind a dead connection): callers keep serving on what
 * they know and catch up when `onConnectionChange` reports the store back.
 */
export interface StateStore {
  /**
   * `memory`, `redis`, or `ipc` (a worker of API_WORKERS > 1, whose store is
   * the primary's), for /v1/cluster and health.
   */
  readonly kind: StateStoreKind;
  /** Where it is (redis://host:port/db, never the password), `this process`, or the primary's. */
  readonly target: string;
  /** True while commands can be expected to succeed. */
  readonly connected: boolean;

  /** Connects (Redis: first connection, or throws StoreUnavailableError); memory: nothing. */
  start(): Promise<void>;
  /** Closes connections and subscriptions; later calls fail. */
  stop(): Promise<void>;

  /** Round-trip time of a no-op command, in milliseconds. */
  ping(): Promise<number>;

  get(key: string): Promise<string | undefined>;
  /** Sets `key`; with `ttlMs`, it disappears after that many milliseconds. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets `key` only when absent: true when this call set it. The basis of leases. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Extends `key`'s expiry only while it still holds `value` (atomic): true when extended. */
  extendIfHolds(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Deletes `key` only while it still holds `value` (atomic): true when deleted. */
  deleteIfHolds(key: string, value: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Every live key starting with `prefix` (the store's own prefix not included) and its value. */
  entries(prefix: string): Promise<Map<string, string>>;

  /**
   * Adds one to a counter and returns the new count; a new counter expires
   * `ttlMs` after its first increment (a fixed window).
   */
  increment(key: string, ttlMs: number): Promise<number>;

  /** Delivers `message` to every subscriber of `channel`, this process's included. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `handler` for every message on `channel` until the returned function
   * is called. Subscriptions survive reconnects; messages published while
   * disconnected are lost (callers resynchronise on reconnect).
   */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;

  /** Told when the store becomes reachable (`true`) or unreachable (`false`); returns an unsubscribe. */
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}

export type StateStoreKind = 'memory' | 'redis' | 'ipc';

/** Why the store cannot be reached, in the words the health checks use for any dependency. */
export type StoreFailureReason = Extract<
  UpstreamFailureReason,
  | 'connection_refused'
  | 'connection_reset'
  | 'timeout'
  | 'dns'
  | 'unauthorized'
  | 'server_error'
  | 'network'
>;

/** The store cannot be reached now (connection lost, timed out, not started). */
export class StoreUnavailableError extends Error {
  constructor(
    readonly target: string,
    /** What went wrong, without the target (the message has both). */
    readonly detail: string,
    /** Classified where the failure is seen (from error codes), never from this message. */
    readonly reason: StoreFailureReason = 'network',
  ) {
    super(`state store ${target} is unavailable: ${detail}`);
    this.name = 'StoreUnavailableError';
  }
}

/** Injection token of the process's StateStore. */
export const STATE_STORE = Symbol('STATE_STORE');
