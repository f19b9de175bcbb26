import { Logger } from '@nestjs/common';
import { MemoryStateStore } from '../cluster/memory-state-store';
import { RollbackLock } from './rollback-lock';

describe(RollbackLock.name, () => {
  let clock: number;
  let store: MemoryStateStore;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    clock = 1_000_000;
    store = new MemoryStateStore(() => clock);
  });

  it('lets one instance of two act on a reference per cool-down', async () => {
    const a = new RollbackLock(store, 'api-1', 300_000, () => clock);
    const b = new RollbackLock(store, 'api-2', 300_000, () => clock);

    const outcomes = await Promise.all([a.acquire('iris@champion'), b.acquire('iris@champion')]);

    expect(outcomes.sort()).toEqual(['acquired', 'held']);
    expect(await a.holderOf('iris@champion')).toBe('api-1');
  });

  it('frees the reference once the cool-down is over, and keeps others apart meanwhile', async () => {
    const a = new RollbackLock(store, 'api-1', 300_000, () => clock);
    const b = new RollbackLock(store, 'api-2', 300_000, () => clock);
    await a.acquire('iris@champion');

    expect(await a.acquire('iris@champion')).toBe('cooling');
    expect(await b.acquire('wine@champion')).toBe('acquired');
    clock += 300_001;
    expect(await b.acquire('iris@champion')).toBe('acquired');
  });

  it('acts alone when the store is away, and still cools down locally', async () => {
    const sut = new RollbackLock(store, 'api-1', 300_000, () => clock);
    await store.stop();

    expect(await sut.acquire('iris@champion')).toBe('alone');
    expect(await sut.acquire('iris@champion')).toBe('cooling');
  });
});
