import { Logger } from '@nestjs/common';
import { messageOf } from '../common/values';
import { IpcEndpoint, IpcRemoteError, IpcTimeoutError } from './ipc/ipc-endpoint';
import { StateStore, StoreFailureReason, StoreUnavailableError } from './state-store';

/** What the primary says of its own store (`store.describe`). */
export interface HostedStoreDescription {
  kind: 'memory' | 'redis';
  target: string;
  connected: boolean;
}

/** The commands a worker may send; StateStoreHost answers exactly these. */
export const STORE_COMMANDS = [
  'ping',
  'get',
  'set',
  'setIfAbsent',
  'extendIfHolds',
  'deleteIfHolds',
  'delete',
  'entries',
  'increment',
  'publish',
] as const;
export type StoreCommand = (typeof STORE_COMMANDS)[number];

/** IPC topics between a worker's IpcStateStore and the primary's StateStoreHost. */
export const STORE_TOPICS = {
  describe: 'store.describe',
  command: 'store.command',
  subscribe: 'store.subscribe',
  unsubscribe: 'store.unsubscribe',
  /** Notes from the primary: a message on a channel this worker subscribed to. */
  message: 'store.message',
  /** Notes from the primary: its store became reachable or unreachable. */
  connection: 'store.connection',
} as const;

export interface StoreCommandBody {
  command: StoreCommand;
  args: unknown[];
}

/**
 * A worker's state store (API_WORKERS > 1): every call goes to the primary
 * over IPC, which runs it on the one store the host's workers share (memory,
 * or Redis in distributed mode). So leases, callback claims, rate-limit
 * counters and reload broadcasts behave between the workers of a host as
 * they do between hosts. A call the primary does not answer within the
 * endpoint's timeout fails with StoreUnavailableError (reason `timeout`), as
 * a Redis command would.
 *
 * Subscriptions are counted here: the primary is asked to forward a channel
 * once, and its messages are handed to every local handler, the publisher's
 * own included.
 */
export class IpcStateStore implements StateStore {
  readonly kind = 'ipc';
  private readonly logger = new Logger(IpcStateStore.name);
  private hosted?: HostedStoreDescription;
  private stopped = false;
  private readonly channels = new Map<string, Set<{ handler: (message: string) => void }>>();
  private readonly connectionListeners = new Set<(connected: boolean) => void>();
  private readonly detach: (() => void)[];

  constructor(private readonly primary: IpcEndpoint) {
    this.detach = [
      primary.on(STORE_TOPICS.message, (body) => this.deliver(body)),
      primary.on(STORE_TOPICS.connection, (body) => {
        const connected = (body as { connected?: unknown })?.connected === true;
        if (this.hosted) this.hosted = { ...this.hosted, connected };
        for (const listener of [...this.connectionListeners]) listener(connected);
      }),
    ];
  }

  /** The primary's store, as it described it at start. */
  get target(): string {
    return `primary (${this.hosted ? `${this.hosted.kind} ${this.hosted.target}` : 'not reached yet'})`;
  }

  get connected(): boolean {
    return !this.stopped && this.primary.open && this.hosted?.connected === true;
  }

  /** Asks the primary what its store is; fails with StoreUnavailableError when it does not answer. */
  async start(): Promise<void> {
    this.hosted = await this.call(() =>
      this.primary.request<HostedStoreDescription>(STORE_TOPICS.describe),
    );
  }

  /** Unsubscribes at the primary; later calls fail. The primary's store stays (other workers use it). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.detach.forEach((detach) => detach());
    const channels = [...this.channels.keys()];
    this.channels.clear();
    await Promise.all(
      channels.map((channel) =>
        this.primary.request(STORE_TOPICS.unsubscribe, { channel }).catch(() => undefined),
      ),
    );
  }

  ping(): Promise<number> {
    const started = Date.now();
    return this.command<number>('ping').then((inner) => inner + (Date.now() - started));
  }

  get(key: string): Promise<string | undefined> {
    return this.command<string | null>('get', key).then((value) => value ?? undefined);
  }

  set(key: string, value: string, ttlMs?: number): Promise<void> {
    return this.command('set', key, value, ttlMs ?? null).then(() => undefined);
  }

  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.command<boolean>('setIfAbsent', key, value, ttlMs);
  }

  extendIfHolds(key: string, value: string, ttlMs: number): Promise<boolean> {
    return this.command<boolean>('extendIfHolds', key, value, ttlMs);
  }

  deleteIfHolds(key: string, value: string): Promise<boolean> {
    return this.command<boolean>('deleteIfHolds', key, value);
  }

  delete(key: string): Promise<void> {
    return this.command('delete', key).then(() => undefined);
  }

  async entries(prefix: string): Promise<Map<string, string>> {
    return new Map(await this.command<[string, string][]>('entries', prefix));
  }

  increment(key: string, ttlMs: number): Promise<number> {
    return this.command<number>('increment', key, ttlMs);
  }

  publish(channel: string, message: string): Promise<void> {
    return this.command('publish', channel, message).then(() => undefined);
  }

  async subscribe(
    channel: string,
    handler: (message: string) => void,
  ): Promise<() => Promise<void>> {
    if (this.stopped) throw this.unavailable('stopped');
    const subscription = { handler };
    let subscriptions = this.channels.get(channel);
    if (!subscriptions) {
      subscriptions = new Set();
      this.channels.set(channel, subscriptions);
      try {
        await this.call(() => this.primary.request(STORE_TOPICS.subscribe, { channel }));
      } catch (error) {
        this.channels.delete(channel);
        throw error;
      }
    }
    subscriptions.add(subscription);
    return async () => {
      subscriptions.delete(subscription);
      if (subscriptions.size > 0 || this.channels.get(channel) !== subscriptions) return;
      this.channels.delete(channel);
      await this.primary.request(STORE_TOPICS.unsubscribe, { channel }).catch(() => undefined);
    };
  }

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  private command<T = unknown>(command: StoreCommand, ...args: unknown[]): Promise<T> {
    if (this.stopped) return Promise.reject(this.unavailable('stopped'));
    const body: StoreCommandBody = { command, args };
    const result = this.call(() => this.primary.request<T>(STORE_TOPICS.command, body));
    // Not described at start (the primary was slow): ask again once it answers.
    if (!this.hosted) void result.then(() => this.start()).catch(() => undefined);
    return result;
  }

  /** Runs a request, turning a silent primary or its store's outage into StoreUnavailableError. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      if (error instanceof IpcTimeoutError) throw this.unavailable(error.message, 'timeout');
      if (error instanceof IpcRemoteError && error.remote.name === 'StoreUnavailableError') {
        const fields = error.remote.fields ?? {};
        throw new StoreUnavailableError(
          typeof fields.target === 'string' ? fields.target : this.target,
          typeof fields.detail === 'string' ? fields.detail : error.message,
          (typeof fields.reason === 'string' ? fields.reason : 'network') as StoreFailureReason,
        );
      }
      // The argument checks of the store (a TTL out of range) keep their class across the channel.
      if (error instanceof IpcRemoteError && error.remote.name === 'RangeError') {
        throw new RangeError(error.message);
      }
      throw error;
    }
  }

  private unavailable(detail: string, reason: StoreFailureReason = 'network') {
    return new StoreUnavailableError(this.target, detail, reason);
  }

  private deliver(body: unknown): void {
    const { channel, message } = (body ?? {}) as { channel?: unknown; message?: unknown };
    if (typeof channel !== 'string' || typeof message !== 'string') return;
    for (const subscription of [...(this.channels.get(channel) ?? [])]) {
      try {
        subscription.handler(message);
      } catch (error) {
        // One failing subscriber must not keep the message from the others.
        this.logger.error(`a subscriber of ${channel} failed: ${messageOf(error)}`);
      }
    }
  }
}
