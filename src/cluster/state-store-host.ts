import { IpcEndpoint } from './ipc/ipc-endpoint';
import {
  HostedStoreDescription,
  STORE_COMMANDS,
  STORE_TOPICS,
  StoreCommand,
  StoreCommandBody,
} from './ipc-state-store';
import { StateStore } from './state-store';

/**
 * The primary's side of IpcStateStore: the one store of the host (memory, or
 * signed Redis in distributed mode), answering each worker's commands on
 * that worker's endpoint. A worker's subscriptions are the primary's
 * subscriptions on its behalf, dropped when the worker goes.
 */
export class StateStoreHost {
  constructor(private readonly store: StateStore) {}

  /** Answers `worker`'s store commands until the returned function is called (the worker exited). */
  serve(worker: IpcEndpoint): () => Promise<void> {
    const subscriptions = new Map<string, Promise<() => Promise<void>>>();
    const store = this.store;
    const describe = (): HostedStoreDescription => ({
      kind: store.kind === 'redis' ? 'redis' : 'memory',
      target: store.target,
      connected: store.connected,
    });

    worker.handle(STORE_TOPICS.describe, describe);
    worker.handle(STORE_TOPICS.command, (body) => this.run(body as StoreCommandBody));
    worker.handle(STORE_TOPICS.subscribe, async (body) => {
      const channel = channelOf(body);
      if (subscriptions.has(channel)) return;
      const subscribed = store.subscribe(channel, (message) =>
        worker.notify(STORE_TOPICS.message, { channel, message }),
      );
      subscriptions.set(channel, subscribed);
      try {
        await subscribed;
      } catch (error) {
        subscriptions.delete(channel);
        throw error;
      }
    });
    worker.handle(STORE_TOPICS.unsubscribe, async (body) => {
      const channel = channelOf(body);
      const subscribed = subscriptions.get(channel);
      subscriptions.delete(channel);
      if (subscribed) await (await subscribed)();
    });
    const stopWatching = store.onConnectionChange((connected) =>
      worker.notify(STORE_TOPICS.connection, { connected }),
    );

    return async () => {
      stopWatching();
      const all = [...subscriptions.values()];
      subscriptions.clear();
      await Promise.all(
        all.map((subscribed) =>
          subscribed.then((unsubscribe) => unsubscribe()).catch(() => undefined),
        ),
      );
    };
  }

  private async run({ command, args }: StoreCommandBody): Promise<unknown> {
    if (!(STORE_COMMANDS as readonly string[]).includes(command)) {
      throw new Error(`unknown state store command ${String(command)}`);
    }
    const a = Array.isArray(args) ? args : [];
    const store = this.store;
    const commands: Record<StoreCommand, () => Promise<unknown>> = {
      ping: () => store.ping(),
      get: () => store.get(text(a[0])).then((value) => value ?? null),
      set: () => store.set(text(a[0]), text(a[1]), optionalNumber(a[2])),
      setIfAbsent: () => store.setIfAbsent(text(a[0]), text(a[1]), Number(a[2])),
      extendIfHolds: () => store.extendIfHolds(text(a[0]), text(a[1]), Number(a[2])),
      deleteIfHolds: () => store.deleteIfHolds(text(a[0]), text(a[1])),
      delete: () => store.delete(text(a[0])),
      entries: () => store.entries(text(a[0])).then((entries) => [...entries]),
      increment: () => store.increment(text(a[0]), Number(a[1])),
      publish: () => store.publish(text(a[0]), text(a[1])),
    };
    return commands[command]();
  }
}

function channelOf(body: unknown): string {
  return text((body as { channel?: unknown } | undefined)?.channel);
}

function text(value: unknown): string {
  if (typeof value !== 'string') throw new TypeError('a state store key or value must be text');
  return value;
}

function optionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : Number(value);
}
