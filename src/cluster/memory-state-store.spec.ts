import { Logger } from '@nestjs/common';
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
