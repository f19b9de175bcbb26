// Over the ~300-line guide: one StateStore over two ioredis connections
// (commands and subscriber) whose reconnection, resubscription and
// lost/back reporting are one state machine; the failure classification
// (redis-failures.ts) and the Lua scripts (redis-scripts.ts) live apart.
import { Logger } from '@nestjs/common';
import { Redis, RedisOptions as ConnectionOptions } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { exponentialDelay } from '../common/retry/retry.policy';
import { messageOf } from '../common/values';
import { RedisOptions } from '../config/cluster.config';
import { StateStore, StoreFailureReason, StoreUnavailableError } from './state-store';
import { checkTtl } from './ttl';
import { NOT_CONNECTED, NO_ANSWER, connectionFailure, storeFailureReason } from './redis-failures';
import { SCRIPTS } from './redis-scripts';

/** Keys SCAN looks at per call (Redis's default, 10, means ten times the round trips). */
const SCAN_COUNT = 100;
/** A dropped connection's socket is destroyed if it has not closed within this many ms. */
const DISCONNECT_TIMEOUT_MS = 100;
/** The first reconnection waits this long (ms); each failure doubles it, up to the maximum. */
const FIRST_RECONNECT_DELAY_MS = 100;
/** Up to this share of a delay is taken off at random, so instances that lost Redis spread out. */
const RECONNECT_JITTER = 0.2;

/** The command connection, scripts included (EVALSHA; ioredis loads them when missing). */
type ScriptedRedis = Redis & {
  extendIfHolds(key: string, value: string, ttlMs: number): Promise<number>;
  deleteIfHolds(key: string, value: string): Promise<number>;
  incrementInWindow(key: string, ttlMs: number): Promise<number>;
};

/** One `subscribe` call: a handler may be subscribed twice and is then called twice. */
interface Subscription {
  handler: (message: string) => void;
}

/**
 * The state store shared by the instances of a cluster, in Redis. Two
 * connections: one for commands, one for SUBSCRIBE (a subscribed connection
 * takes no other commands). Every key and channel carries the configured
 * prefix; the prefix is added here, not by ioredis's `keyPrefix`, which
 * neither channels nor SCAN patterns get.
 *
 * Nothing waits for Redis: while a connection is down, commands are refused at
 * once (no offline queue), a command in flight when it drops fails, and one
 * Redis does not answer within the command timeout fails and counts as a lost
 * connection. Either way the caller gets a StoreUnavailableError, while the
 * connections retry forever with capped exponential backoff.
 *
 * `connected` is true while both connections are ready and every channel is
 * subscribed again after a reconnection, so a caller told "back" can rely on
 * commands and subscriptions alike.
 */
export class RedisStateStore implements StateStore {
  readonly kind = 'redis';
  readonly target: string;
  private readonly logger = new Logger(RedisStateStore.name);
  private readonly commands: ScriptedRedis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  /** This process's handlers, by channel (without the prefix). */
  private readonly subscriptions = new Map<string, Set<Subscription>>();
  private readonly listeners = new Set<(connected: boolean) => void>();
  private phase: 'new' | 'started' | 'stopped' = 'new';
  /** True once the subscriber, since it last connected, has subscribed to every channel again. */
  private resubscribed = false;
  private resubscribing?: Promise<void>;
  /** What listeners were last told. */
  private reported = false;
  /** Since when Redis cannot be reached, while it cannot. */
  private lostAt?: number;
  /** The last reason either connection gave (ECONNREFUSED, WRONGPASS…) for being down. */
  private lastError?: string;
  /** The same, classified from the error's code. */
  private lastReason?: StoreFailureReason;

  constructor(private readonly options: RedisOptions) {
    this.target = options.target;
    this.prefix = options.prefix;
    this.commands = connection(options, { scripts: SCRIPTS }) as ScriptedRedis;
    this.subscriber = connection(options, {});

    for (const redis of [this.commands, this.subscriber]) {
      // An error for every failed attempt: keep the reason; the outage is logged once.
      redis.on('error', (error: unknown) => this.remember(error));
    }
    this.commands.on('ready', () => this.report());
    this.commands.on('close', () => this.report());
    this.subscriber.on('ready', () => {
      this.resubscribing = this.resubscribe();
    });
    this.subscriber.on('close', () => {
      this.resubscribed = false;
      this.report();
    });
    this.subscriber.on('message', (channel: string, message: string) =>
      this.deliver(channel, message),
    );
  }

  get connected(): boolean {
    return (
      this.phase === 'started' &&
      this.commands.status === 'ready' &&
      this.subscriber.status === 'ready' &&
      this.resubscribed
    );
  }

  /**
   * Connects; rejects with StoreUnavailableError when Redis cannot be reached,
   * but keeps trying in the background: `onConnectionChange` reports it when
   * it comes, and the caller decides (and logs) whether to run degraded meanwhile.
   */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error('a RedisStateStore starts once');
    this.phase = 'started';
    try {
      await Promise.all([this.commands.connect(), this.subscriber.connect()]);
      await this.resubscribing;
    } catch (error) {
      this.lostAt ??= Date.now();
      throw new StoreUnavailableError(
        this.target,
        this.lastError ?? this.redact(messageOf(error)),
        this.lastReason ?? storeFailureReason(error),
      );
    }
  }

  /** Closes both connections and stops reconnecting; listeners are not told (it is no outage). */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    this.phase = 'stopped';
    this.listeners.clear();
    this.subscriptions.clear();
    await Promise.all([close(this.commands), close(this.subscriber)]);
  }

  ping(): Promise<number> {
    return this.run(this.commands, async () => {
      const started = performance.now();
      await this.commands.ping();
      return performance.now() - started;
    });
  }

  get(key: string): Promise<string | undefined> {
    return this.run(
      this.commands,
      async () => (await this.commands.get(this.key(key))) ?? undefined,
    );
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.run(this.commands, async () => {
      if (ttlMs === undefined) await this.commands.set(this.key(key), value);
      else await this.commands.set(this.key(key), value, 'PX', checkTtl(ttlMs));
    });
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run(this.commands, async () => {
      const reply = await this.commands.set(this.key(key), value, 'PX', checkTtl(ttlMs), 'NX');
      return reply === 'OK';
    });
  }

  extendIfHolds(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.run(this.commands, async () => {
      return (await this.commands.extendIfHolds(this.key(key), value, checkTtl(ttlMs))) === 1;
    });
  }

  deleteIfHolds(key: string, value: string): Promise<boolean> {
    return this.run(this.commands, async () => {
      return (await this.commands.deleteIfHolds(this.key(key), value)) === 1;
    });
  }

  delete(key: string): Promise<void> {
    return this.run(this.commands, async () => {
      await this.commands.del(this.key(key));
    });
  }

  entries(prefix: string): Promise<Map<string, string>> {
    const pattern = `${escapeGlob(this.key(prefix))}*`;
    return this.run(this.commands, async () => {
      const found = new Map<string, string>();
      let cursor = '0';
      do {
        const [next, keys] = await this.commands.scan(
          cursor,
          'MATCH',
          pattern,
          'COUNT',
          SCAN_COUNT,
        );
        cursor = next;
        if (keys.length === 0) continue;
        const values = await this.commands.mget(keys);
        keys.forEach((key, i) => {
          const value = values[i];
          // null: expired or deleted between SCAN and MGET.
          if (value !== null) found.set(key.slice(this.prefix.length), value);
        });
      } while (cursor !== '0');
      return found;
    });
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.run(this.commands, () =>
      this.commands.incrementInWindow(this.key(key), checkTtl(ttlMs)),
    );
  }

  publish(channel: string, message: string): Promise<void> {
    return this.run(this.commands, async () => {
      await this.commands.publish(this.key(channel), message);
    });
  }

  async subscribe(
    channel: string,
    handler: (message: string) => void,
  ): Promise<() => Promise<void>> {
    const subscription: Subscription = { handler };
    let subscriptions = this.subscriptions.get(channel);
    if (!subscriptions) this.subscriptions.set(channel, (subscriptions = new Set()));
    subscriptions.add(subscription);
    try {
      // Each call waits for Redis's confirmation (SUBSCRIBE twice is harmless).
      await this.run(this.subscriber, () => this.subscriber.subscribe(this.key(channel)));
    } catch (error) {
      subscriptions.delete(subscription);
      if (subscriptions.size === 0) this.subscriptions.delete(channel);
      throw error;
    }
    return () => this.unsubscribe(channel, subscription);
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private key(name: string): string {
    return this.prefix + name;
  }

  /**
   * Runs a command on `redis`: a failure to reach Redis becomes a
   * StoreUnavailableError; anything else (a bug, a wrong type) is rethrown as is.
   */
  private async run<T>(redis: Redis, command: () => Promise<T>): Promise<T> {
    if (this.phase !== 'started') {
      throw new StoreUnavailableError(
        this.target,
        this.phase === 'new' ? 'not started' : 'stopped',
      );
    }
    try {
      return await command();
    } catch (error) {
      const failure = connectionFailure(error);
      if (!failure) throw error;
      let detail = failure;
      let reason = storeFailureReason(error);
      if (failure === NO_ANSWER) {
        detail = this.lastError = `no answer within ${this.options.commandTimeoutMs} ms`;
        reason = this.lastReason = 'timeout';
        // A Redis that does not answer in time is as good as gone (a hung server keeps the
        // socket open): drop the connection, and let the reconnection loop find it again.
        if (redis.status === 'ready') redis.disconnect(true);
      } else if (failure === NOT_CONNECTED && this.lastError) {
        detail = `${failure} (${this.lastError})`;
        reason = this.lastReason ?? reason;
      }
      // A new error, not the cause: ioredis's errors carry the command's arguments.
      throw new StoreUnavailableError(this.target, this.redact(detail), reason);
    }
  }

  /**
   * Delivery stops at once; Redis is told when it can be. A channel left
   * subscribed because Redis was unreachable is not subscribed again after the
   * reconnection, which only restores channels that have handlers.
   */
  private async unsubscribe(channel: string, subscription: Subscription): Promise<void> {
    const subscriptions = this.subscriptions.get(channel);
    if (!subscriptions?.delete(subscription) || subscriptions.size > 0) return;
    this.subscriptions.delete(channel);
    await this.subscriber.unsubscribe(this.key(channel)).catch((error: unknown) => {
      if (!connectionFailure(error)) throw error;
    });
  }

  /** Subscribes the (re)connected subscriber to every channel that has handlers, then reports. */
  private async resubscribe(): Promise<void> {
    const channels = [...this.subscriptions.keys()].map((channel) => this.key(channel));
    try {
      if (channels.length > 0) await this.subscriber.subscribe(...channels);
      this.resubscribed = true;
    } catch (error) {
      // Lost again before Redis answered: the next 'ready' tries again.
      this.remember(error);
    }
    this.report();
  }

  private deliver(prefixedChannel: string, message: string): void {
    const channel = prefixedChannel.slice(this.prefix.length);
    for (const subscription of [...(this.subscriptions.get(channel) ?? [])]) {
      try {
        subscription.handler(message);
      } catch (error) {
        // Must not reach ioredis's reply parser, nor keep the other handlers from the message.
        this.logger.error(`a subscriber of ${channel} failed: ${messageOf(error)}`);
      }
    }
  }

  /** Logs, and tells listeners, when `connected` has changed since they were last told. */
  private report(): void {
    const connected = this.connected;
    if (this.phase !== 'started' || connected === this.reported) return;
    this.reported = connected;
    if (connected) {
      const outage = this.lostAt === undefined ? '' : ` after ${secondsSince(this.lostAt)} s`;
      this.logger.log(`connected to ${this.target}${outage}`);
      this.lostAt = undefined;
      this.lastError = undefined;
      this.lastReason = undefined;
    } else {
      this.lostAt = Date.now();
      this.logger.warn(
        `lost ${this.target} (${this.lastError ?? 'connection closed'}); reconnecting, at most ` +
          `${this.options.reconnectMaxDelayMs} ms apart`,
      );
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(connected);
      } catch (error) {
        this.logger.error(`a connection listener failed: ${messageOf(error)}`);
      }
    }
  }

  /** Keeps why a connection failed: its text for the message, its code for the classification. */
  private remember(error: unknown): void {
    this.lastError = this.redact(messageOf(error));
    this.lastReason = storeFailureReason(error);
  }

  /** `text` without the password, should an error ever quote it. */
  private redact(text: string): string {
    const { password } = this.options;
    return password ? text.split(password).join('[redacted]') : text;
  }
}

/** Delay (ms) before reconnection `attempt` (from 1): doubling from 100 ms, capped, jittered. */
export function reconnectDelay(
  attempt: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = exponentialDelay(attempt, FIRST_RECONNECT_DELAY_MS, maxDelayMs);
  return Math.round(ceiling * (1 - RECONNECT_JITTER * random()));
}

/** `text` with SCAN MATCH's glob characters escaped, so it matches only itself. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function connection(options: RedisOptions, extra: ConnectionOptions): Redis {
  const settings: ConnectionOptions = {
    ...extra,
    lazyConnect: true, // start() connects, and says whether it could
    enableOfflineQueue: false, // refuse commands while disconnected instead of queueing them
    maxRetriesPerRequest: 0, // fail what is in flight when the connection drops
    autoResendUnfulfilledCommands: false, // never replay a command whose caller was told it failed
    autoResubscribe: false, // resubscribe() does it, and says when it is done
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.commandTimeoutMs,
    // After a disconnect, how long the socket may take to close before it is destroyed (ioredis
    // waits 2 s). A hung Redis never closes it, and stop() must not leave a timer running.
    disconnectTimeout: DISCONNECT_TIMEOUT_MS,
    retryStrategy: (attempt) => reconnectDelay(attempt, options.reconnectMaxDelayMs),
    // An ACL user (AUTH username password); a URL's own user and password win, as its host does.
    username: options.username,
    password: options.password,
    // rediss:// URLs turn TLS on in ioredis; host/port settings ask for it here.
    ...(options.tls ? { tls: {} } : {}),
  };
  // The URL's host, port, database and password (if it has one) win over `settings` in ioredis.
  if (options.url) return new Redis(options.url, settings);
  return new Redis({ ...settings, host: options.host, port: options.port, db: options.db });
}

/** QUIT when connected (Redis answers what is in flight first), else cut: stops reconnecting. */
async function close(redis: Redis): Promise<void> {
  if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
  else redis.disconnect();
}

function secondsSince(epochMs: number): string {
  return ((Date.now() - epochMs) / 1000).toFixed(1);
}
