import { IpcEndpoint, IpcTimeoutError } from './ipc/ipc-endpoint';
import { IpcStateStore } from './ipc-state-store';
import { MemoryStateStore } from './memory-state-store';
import { StateStoreHost } from './state-store-host';
import { StateStore, StoreUnavailableError } from './state-store';
import { IpcChannelPair, ipcChannelPair } from './testing/ipc-channel-pair';
import { Inbox, describeStateStoreContract } from './testing/state-store.contract';

/** A primary's store served to `count` workers over fake channels. */
function host(count: number, timeoutMs = 1_000, inner: StateStore = new MemoryStateStore()) {
  const storeHost = new StateStoreHost(inner);
  const workers = Array.from({ length: count }, () => {
    const pair = ipcChannelPair();
    const primarySide = new IpcEndpoint(pair.primary, timeoutMs);
    const detach = storeHost.serve(primarySide);
    const sut = new IpcStateStore(new IpcEndpoint(pair.worker, timeoutMs));
    return { pair, sut, detach };
  });
  return { inner, workers };
}

describeStateStoreContract('IpcStateStore over a MemoryStateStore', async () => {
  const [worker] = host(1).workers;
  await worker.sut.start();
  return worker.sut;
});

describe('IpcStateStore', () => {
  let pairs: IpcChannelPair[] = [];

  afterEach(() => {
    pairs.forEach((pair) => pair.close());
    pairs = [];
  });

  const started = async (count: number, timeoutMs?: number, inner?: StateStore) => {
    const made = host(count, timeoutMs, inner);
    pairs.push(...made.workers.map((w) => w.pair));
    await Promise.all(made.workers.map((w) => w.sut.start()));
    return made;
  };

  it('shares keys, leases and counters between the workers of a host', async () => {
    const { workers } = await started(2);
    const [a, b] = workers.map((w) => w.sut);

    await a.set('colour', 'red');
    expect(await b.get('colour')).toBe('red');
    const claims = await Promise.all([
      a.setIfAbsent('leases:refresh', 'a', 5_000),
      b.setIfAbsent('leases:refresh', 'b', 5_000),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect([await a.increment('rate:x', 60_000), await b.increment('rate:x', 60_000)]).toEqual([
      1, 2,
    ]);
    expect([...(await b.entries('leases:')).keys()]).toEqual(['leases:refresh']);
  });

  it('delivers a publication to every subscribed worker, the publisher included', async () => {
    const { workers } = await started(3);
    const inboxes = workers.map(() => new Inbox());
    await Promise.all(workers.map((w, n) => w.sut.subscribe('reloads', inboxes[n].handler)));

    await workers[1].sut.publish('reloads', 'iris v2');

    for (const inbox of inboxes) expect(await inbox.waitFor(1)).toEqual(['iris v2']);
  });

  it('asks the primary to forward a channel once, whatever the local handlers', async () => {
    const inner = new MemoryStateStore();
    const subscribe = jest.spyOn(inner, 'subscribe');
    const { workers } = await started(1, 1_000, inner);
    const [first, second] = [new Inbox(), new Inbox()];

    const dropFirst = await workers[0].sut.subscribe('news', first.handler);
    await workers[0].sut.subscribe('news', second.handler);
    await dropFirst();
    await workers[0].sut.publish('news', 'one');

    expect(await second.waitFor(1)).toEqual(['one']);
    expect(first.messages).toEqual([]);
    expect(subscribe).toHaveBeenCalledTimes(1);
  });

  it('matches each answer to its request when answers come back out of order', async () => {
    const inner = new MemoryStateStore();
    const { workers } = await started(1, 1_000, inner);
    const slow = inner.get.bind(inner);
    jest.spyOn(inner, 'get').mockImplementation(async (key) => {
      if (key === 'slow') await new Promise((resolve) => setTimeout(resolve, 50));
      return slow(key);
    });
    await workers[0].sut.set('slow', 'S');
    await workers[0].sut.set('fast', 'F');

    const order: string[] = [];
    const answers = await Promise.all(
      ['slow', 'fast'].map((key) =>
        workers[0].sut.get(key).then((value) => {
          order.push(key);
          return value;
        }),
      ),
    );

    expect(order).toEqual(['fast', 'slow']);
    expect(answers).toEqual(['S', 'F']);
  });

  it('fails with StoreUnavailableError (timeout) when the primary does not answer', async () => {
    const { workers } = await started(1, 100);
    workers[0].pair.muted = true;

    const failure = await workers[0].sut.get('key').catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(failure).toMatchObject({ reason: 'timeout' });
    expect((failure as Error).message).toMatch(/no answer within 100 ms/);
  });

  it("passes the primary's own store outage on as StoreUnavailableError, with its target and reason", async () => {
    const inner = new MemoryStateStore();
    const { workers } = await started(1, 1_000, inner);
    jest
      .spyOn(inner, 'increment')
      .mockRejectedValue(
        new StoreUnavailableError(
          'redis://10.0.0.5:6379/0',
          'connection refused',
          'connection_refused',
        ),
      );

    const failure = await workers[0].sut.increment('rate:x', 1_000).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(failure).toMatchObject({
      target: 'redis://10.0.0.5:6379/0',
      detail: 'connection refused',
      reason: 'connection_refused',
    });
  });

  it("reports the primary's store going away and coming back", async () => {
    const inner = new MemoryStateStore();
    let tell: (connected: boolean) => void = () => undefined;
    jest.spyOn(inner, 'onConnectionChange').mockImplementation((listener) => {
      tell = listener;
      return () => undefined;
    });
    const { workers } = await started(1, 1_000, inner);
    const seen: boolean[] = [];
    workers[0].sut.onConnectionChange((connected) => seen.push(connected));
    expect(workers[0].sut.connected).toBe(true);

    tell(false);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(workers[0].sut.connected).toBe(false);
    tell(true);
    await new Promise((resolve) => setTimeout(resolve, 10));

    expect(seen).toEqual([false, true]);
    expect(workers[0].sut.connected).toBe(true);
  });

  it("drops a worker's subscriptions at the primary when the worker goes", async () => {
    const inner = new MemoryStateStore();
    const { workers } = await started(2, 1_000, inner);
    const [gone, stays] = [new Inbox(), new Inbox()];
    await workers[0].sut.subscribe('news', gone.handler);
    await workers[1].sut.subscribe('news', stays.handler);

    await workers[0].detach();
    await workers[1].sut.publish('news', 'after');

    expect(await stays.waitFor(1)).toEqual(['after']);
    expect(gone.messages).toEqual([]);
  });

  it('says it is the primary’s store, and what that is', async () => {
    const { workers } = await started(1);
    expect(workers[0].sut.kind).toBe('ipc');
    expect(workers[0].sut.target).toBe('primary (memory this process)');
  });

  it('rejects waiting requests at once when the channel closes', async () => {
    const pair = ipcChannelPair();
    pairs.push(pair);
    const sut = new IpcEndpoint(pair.worker, 10_000);
    const waiting = sut.request('anything').catch((error: unknown) => error);
    pair.close();
    expect(await waiting).toBeInstanceOf(IpcTimeoutError);
    expect(sut.open).toBe(false);
  });
});
