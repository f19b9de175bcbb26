import { Logger } from '@nestjs/common';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MemoryStateStore } from './memory-state-store';
import { describeStateStoreContract } from './testing/state-store.contract';

describeStateStoreContract('MemoryStateStore', async () => {
  const store = new MemoryStateStore();
  await store.start();
  return store;
});

describe('MemoryStateStore', () => {
  it('measures TTLs on the clock it is given', async () => {
    let now = 1_000;
    const sut = new MemoryStateStore(() => now);
    await sut.set('key', 'value', 100);
    now += 99;
    expect(await sut.get('key')).toBe('value');
    now += 1;
    expect(await sut.get('key')).toBeUndefined();
  });

  it('keeps delivering to other subscribers when one throws, and logs the failure', async () => {
    const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
    const sut = new MemoryStateStore();
    const received: string[] = [];
    await sut.subscribe('news', () => {
      throw new Error('subscriber bug');
    });
    await sut.subscribe('news', (message) => received.push(message));
    await sut.publish('news', 'hello');
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toEqual(['hello']);
    expect(logged).toHaveBeenCalledWith('a subscriber of news failed: subscriber bug');
    logged.mockRestore();
  });
});

describe('MemoryStateStore memory bound', () => {
  // A quarter of a million: each entry holds ~150 bytes of heap, so one
  // window left behind is ~37 MB, well past the bound below. (A million took
  // 9 s alone but 100 s inside the whole suite's jest process, whose large
  // heap every full collection walks, against a timeout of 120 s.)
  const CLIENTS = 250_000;
  const TTL_MS = 1_000;
  /** Heap the test's own allocations may leave: a quarter of one window's entries. */
  const SLACK_BYTES = 10 * 1024 * 1024;

  /** Full collection, so heap figures measure what is still referenced. */
  function collectGarbage(): void {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  }

  it('sweeps the windows of a quarter of a million one-off clients once they expire, as later writes arrive', async () => {
    let now = 1_000_000;
    const sut = new MemoryStateStore(() => now);
    collectGarbage();
    const heapBefore = process.memoryUsage().heapUsed;

    for (let n = 0; n < CLIENTS; n++) await sut.increment(`ratelimit:1:ip:client-${n}`, TTL_MS);
    expect(sut.size).toBe(CLIENTS);

    // A second crowd in the next window: the first one's expired entries make room.
    now += TTL_MS;
    let peak = 0;
    for (let n = 0; n < CLIENTS; n++) {
      await sut.increment(`ratelimit:2:ip:client-${n}`, TTL_MS);
      peak = Math.max(peak, sut.size);
    }
    expect(peak).toBeLessThan(1.5 * CLIENTS);

    // Then the windows end and one client keeps calling: nothing of either crowd is left.
    now += TTL_MS;
    for (let n = 0; n < CLIENTS; n++) await sut.increment('ratelimit:3:ip:regular', TTL_MS);
    expect(sut.size).toBeLessThanOrEqual(2);

    collectGarbage();
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(SLACK_BYTES);
  }, 60_000);
});
