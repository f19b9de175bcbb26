import { Logger } from '@nestjs/common';
import { Lease } from './lease';
import { MemoryStateStore } from './memory-state-store';
import { ClusterMessageRejections, SigningStateStore } from './signing-state-store';
import { describeStateStoreContract } from './testing/state-store.contract';

const SECRET = 'a-cluster-secret-of-at-least-32-chars';

// Signing must not change what a store does: every key but the contract's counters is signed.
const COUNTERS = new Set(['hits', 'other', 'window']);
describeStateStoreContract('SigningStateStore', async () => {
  const store = new SigningStateStore(
    new MemoryStateStore(),
    SECRET,
    new ClusterMessageRejections(),
    (key) => !COUNTERS.has(key),
  );
  await store.start();
  return store;
});

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(SigningStateStore.name, () => {
  let redis: MemoryStateStore;
  let sut: SigningStateStore;
  let received: string[];
  let now: number;

  beforeEach(async () => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    now = 1_800_000_000_000;
    redis = new MemoryStateStore(() => now);
    sut = new SigningStateStore(redis, SECRET, undefined, undefined, () => now);
    received = [];
    await sut.subscribe('reloads', (message) => received.push(message));
  });

  afterEach(() => jest.restoreAllMocks());

  it('delivers what another instance with the same secret published', async () => {
    const peer = new SigningStateStore(redis, SECRET, undefined, undefined, () => now);

    await peer.publish('reloads', '{"reference":"iris@champion","version":"3"}');
    await flush();

    expect(received).toEqual(['{"reference":"iris@champion","version":"3"}']);
    expect(sut.rejections.snapshot()).toMatchObject({ unsigned: 0, 'bad-signature': 0 });
  });

  it('drops and counts an unsigned message', async () => {
    await redis.publish('reloads', '{"reference":"iris@champion","version":"1"}');
    await flush();

    expect(received).toEqual([]);
    expect(sut.rejections.snapshot().unsigned).toBe(1);
  });

  it('drops and counts a message signed with another secret, or altered after signing', async () => {
    const stranger = new SigningStateStore(
      redis,
      'another-secret-of-at-least-32-characters',
      undefined,
      undefined,
      () => now,
    );
    await stranger.publish('reloads', 'forged');
    // A genuine message with its body changed in transit.
    const tapped: string[] = [];
    await redis.subscribe('reloads', (raw) => tapped.push(raw));
    await sut.publish('reloads', '{"version":"3"}');
    await flush();
    received.length = 0;
    await redis.publish('reloads', tapped[0].replace('"3"', '"1"'));
    await flush();

    expect(received).toEqual([]);
    expect(sut.rejections.snapshot()['bad-signature']).toBe(2);
  });

  it('drops a replayed message, and one too old to be news', async () => {
    const tapped: string[] = [];
    await redis.subscribe('reloads', (raw) => tapped.push(raw));
    await sut.publish('reloads', '{"version":"3"}');
    await flush();
    expect(received).toEqual(['{"version":"3"}']);

    await redis.publish('reloads', tapped[0]);
    await flush();
    now += 60_000;
    await redis.publish('reloads', tapped[0]);
    await flush();

    expect(received).toEqual(['{"version":"3"}']);
    expect(sut.rejections.snapshot()).toMatchObject({ replayed: 1, stale: 1 });
  });

  it('stores lease holders signed, and reads a forged holder as no holder', async () => {
    await sut.setIfAbsent('leases:polling', 'api-1', 60_000);
    expect(await sut.get('leases:polling')).toBe('api-1');
    expect(await redis.get('leases:polling')).not.toBe('api-1');

    await redis.set('leases:polling', 'attacker', 60_000);

    expect(await sut.get('leases:polling')).toBeUndefined();
    expect(sut.rejections.snapshot().unsigned).toBe(1);
  });

  it('takes a lease held by a forged value instead of leaving it blocked', async () => {
    // Shaped like a signed value, with a signature no secret of ours made.
    await redis.set('leases:polling', `mg1.${'A'.repeat(43)}.attacker`, 60_000);
    const lease = new Lease('polling', 'api-1', sut, 60_000);

    expect(await lease.campaign()).toBe(true);
    expect(await lease.holderNow()).toBe('api-1');
    expect(sut.rejections.snapshot()['bad-signature']).toBeGreaterThan(0);
  });

  it('leaves out of entries a heartbeat record no instance signed', async () => {
    await sut.set('instances:api-1', '{"id":"api-1"}', 60_000);
    await redis.set('instances:ghost', '{"id":"ghost"}', 60_000);

    expect([...(await sut.entries('instances:')).keys()]).toEqual(['instances:api-1']);
  });

  it('leaves counters as numbers, so INCR keeps working', async () => {
    await sut.increment('ratelimit:1:ip:10.0.0.1', 60_000);

    expect(await redis.get('ratelimit:1:ip:10.0.0.1')).toBe('1');
  });
});
