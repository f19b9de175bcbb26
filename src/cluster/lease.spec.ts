import { Logger } from '@nestjs/common';
import { Lease } from './lease';
import { MemoryStateStore } from './memory-state-store';
import { StateStore } from './state-store';

describe(Lease.name, () => {
  let clock: number;
  let store: MemoryStateStore;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    clock = 1_000_000;
    store = new MemoryStateStore(() => clock);
  });

  const lease = (holder: string, on: StateStore = store) =>
    new Lease('model-refresh', holder, on, 10_000);

  it('is held by one instance at a time', async () => {
    const a = lease('api-1');
    const b = lease('api-2');

    expect(await a.campaign()).toBe(true);
    expect(await b.campaign()).toBe(false);
    expect(a.held).toBe(true);
    expect(b.held).toBe(false);
    expect(b.shouldAct()).toBe(false);
    expect(await b.holderNow()).toBe('api-1');
  });

  it('stays held when campaigns overlap (the first one and a heartbeat’s)', async () => {
    const a = lease('api-1');

    const results = await Promise.all([a.campaign(), a.campaign()]);

    expect(results).toEqual([true, true]);
    expect(a.held).toBe(true);
    clock += 6_000;
    expect(await a.campaign()).toBe(true);
    expect(await a.holderNow()).toBe('api-1');
  });

  it('stays with its holder while renewed', async () => {
    const a = lease('api-1');
    const b = lease('api-2');
    await a.campaign();

    for (let n = 0; n < 5; n++) {
      clock += 6_000;
      expect(await a.campaign()).toBe(true);
      expect(await b.campaign()).toBe(false);
    }
  });

  it('passes to another instance once the holder stops renewing and it expires', async () => {
    const a = lease('api-1');
    const b = lease('api-2');
    await a.campaign();

    clock += 10_001;

    expect(await b.campaign()).toBe(true);
    expect(await a.campaign()).toBe(false);
    expect(await b.holderNow()).toBe('api-2');
  });

  it('passes at once when its holder releases it', async () => {
    const a = lease('api-1');
    const b = lease('api-2');
    await a.campaign();

    await a.release();

    expect(a.held).toBe(false);
    expect(await b.campaign()).toBe(true);
  });

  it('never releases a lease another instance holds', async () => {
    const a = lease('api-1');
    const b = lease('api-2');
    await a.campaign();
    clock += 10_001;
    await b.campaign();

    await a.release();

    expect(await b.holderNow()).toBe('api-2');
  });

  it('is not held, and every instance acts on its own, while the store is unreachable', async () => {
    const a = lease('api-1');
    await a.campaign();

    await store.stop();

    expect(a.held).toBe(false);
    expect(a.shouldAct()).toBe(true);
    expect(await a.campaign()).toBe(false);
  });
});
