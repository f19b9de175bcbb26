import { StateStore, StoreUnavailableError } from '../state-store';

/**
 * What every StateStore does, as jest tests: the in-memory store's unit spec
 * and the Redis store's integration test both run it, so the two cannot drift.
 *
 * `create` returns a started store that sees no other test's keys or
 * channels (a fresh map, or a Redis store with a prefix of its own);
 * `cleanup`, if given, runs after each test, before the store is stopped.
 * TTLs are short and the waits real, so a store that ignored them fails.
 */
export function describeStateStoreContract(
  name: string,
  create: () => Promise<StateStore>,
  cleanup?: (store: StateStore) => Promise<void>,
): void {
  describe(`${name} (StateStore contract)`, () => {
    let sut: StateStore;

    beforeEach(async () => {
      sut = await create();
    });

    afterEach(async () => {
      await cleanup?.(sut);
      await sut.stop();
    });

    describe('keys', () => {
      it('answers undefined for a key never set', async () => {
        expect(await sut.get('missing')).toBeUndefined();
      });

      it('returns what was set, and the new value once replaced', async () => {
        await sut.set('colour', 'red');
        expect(await sut.get('colour')).toBe('red');
        await sut.set('colour', 'blue');
        expect(await sut.get('colour')).toBe('blue');
      });

      it('drops a key set with a TTL once the TTL has passed', async () => {
        await sut.set('short', 'lived', 150);
        await sut.set('long', 'lived', 60_000);
        expect(await sut.get('short')).toBe('lived');
        await sleep(300);
        expect(await sut.get('short')).toBeUndefined();
        expect(await sut.get('long')).toBe('lived');
        expect([...(await sut.entries('')).keys()]).toEqual(['long']);
      });

      it('keeps a key past its old TTL once set again without one', async () => {
        await sut.set('key', 'first', 150);
        await sut.set('key', 'second');
        await sleep(300);
        expect(await sut.get('key')).toBe('second');
      });

      it('deletes a key, and deleting a missing key is no error', async () => {
        await sut.set('key', 'value');
        await sut.delete('key');
        await sut.delete('never-set');
        expect(await sut.get('key')).toBeUndefined();
      });

      it('refuses a TTL that is not a whole, positive number of milliseconds', async () => {
        await expect(sut.set('key', 'value', 0)).rejects.toThrow(RangeError);
        await expect(sut.setIfAbsent('key', 'value', 1.5)).rejects.toThrow(RangeError);
        await expect(sut.increment('key', -1)).rejects.toThrow(RangeError);
        expect(await sut.get('key')).toBeUndefined();
      });
    });

    describe('leases', () => {
      it('setIfAbsent sets an absent key and leaves a present one alone', async () => {
        expect(await sut.setIfAbsent('lease', 'a', 60_000)).toBe(true);
        expect(await sut.setIfAbsent('lease', 'b', 60_000)).toBe(false);
        expect(await sut.get('lease')).toBe('a');
      });

      it('lets exactly one of several concurrent setIfAbsent callers win', async () => {
        const callers = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
        const won = await Promise.all(callers.map((c) => sut.setIfAbsent('lease', c, 60_000)));
        expect(won.filter(Boolean)).toHaveLength(1);
        expect(await sut.get('lease')).toBe(callers[won.indexOf(true)]);
      });

      it('lets setIfAbsent take a key again once it has expired', async () => {
        expect(await sut.setIfAbsent('lease', 'a', 150)).toBe(true);
        await sleep(300);
        expect(await sut.setIfAbsent('lease', 'b', 60_000)).toBe(true);
        expect(await sut.get('lease')).toBe('b');
      });

      it("extends the holder's key, not anyone else's", async () => {
        await sut.setIfAbsent('held', 'a', 200);
        await sut.setIfAbsent('other', 'a', 200);
        expect(await sut.extendIfHolds('held', 'a', 60_000)).toBe(true);
        expect(await sut.extendIfHolds('other', 'b', 60_000)).toBe(false);
        await sleep(400);
        expect(await sut.get('held')).toBe('a');
        expect(await sut.get('other')).toBeUndefined();
      });

      it('does not extend, nor create, a missing key', async () => {
        expect(await sut.extendIfHolds('missing', 'a', 60_000)).toBe(false);
        expect(await sut.get('missing')).toBeUndefined();
      });

      it("deletes the holder's key, not anyone else's", async () => {
        await sut.set('held', 'a', 60_000);
        expect(await sut.deleteIfHolds('held', 'b')).toBe(false);
        expect(await sut.get('held')).toBe('a');
        expect(await sut.deleteIfHolds('held', 'a')).toBe(true);
        expect(await sut.get('held')).toBeUndefined();
        expect(await sut.deleteIfHolds('held', 'a')).toBe(false);
      });
    });

    describe('entries', () => {
      it('lists the keys under a prefix with their values, and no other key', async () => {
        await sut.set('instances:a', '1');
        await sut.set('instances:b', '2', 60_000);
        await sut.set('instances', 'no colon');
        await sut.set('instancesX', 'no colon either');
        await sut.set('leases:instances:c', 'prefix elsewhere');
        expect(await sut.entries('instances:')).toEqual(
          new Map([
            ['instances:a', '1'],
            ['instances:b', '2'],
          ]),
        );
        expect(await sut.entries('nothing:')).toEqual(new Map());
      });

      it('lists every key under the empty prefix, without the store’s own prefix', async () => {
        await sut.set('a', '1');
        await sut.set('b:c', '2');
        expect(await sut.entries('')).toEqual(
          new Map([
            ['a', '1'],
            ['b:c', '2'],
          ]),
        );
      });

      it('takes glob characters in the prefix literally', async () => {
        const prefix = 'g*?[ab]\\:';
        await sut.set(`${prefix}1`, 'literal');
        // Each would match the prefix read as a glob pattern (g, anything, one char, a or b, ':').
        await sut.set('gxxya:1', 'glob match');
        await sut.set('g*?a\\:1', 'glob match');
        expect(await sut.entries(prefix)).toEqual(new Map([[`${prefix}1`, 'literal']]));
      });

      it('lists every key when there are more than one SCAN page of them', async () => {
        const keys = Array.from({ length: 250 }, (_, i) => `many:${i}`);
        await Promise.all(keys.map((key) => sut.set(key, key.toUpperCase())));
        const found = await sut.entries('many:');
        expect(found.size).toBe(250);
        expect(found.get('many:249')).toBe('MANY:249');
      });
    });

    describe('counters', () => {
      it('counts from one, each counter on its own', async () => {
        expect(await sut.increment('hits', 60_000)).toBe(1);
        expect(await sut.increment('hits', 60_000)).toBe(2);
        expect(await sut.increment('other', 60_000)).toBe(1);
        expect(await sut.increment('hits', 60_000)).toBe(3);
        expect(await sut.get('hits')).toBe('3');
      });

      it('ends a window ttlMs after its first increment, whatever came later', async () => {
        expect(await sut.increment('window', 400)).toBe(1);
        await sleep(200);
        expect(await sut.increment('window', 400)).toBe(2);
        // 500 ms in: a fixed window ended at 400; a sliding one would last until 600.
        await sleep(300);
        expect(await sut.increment('window', 400)).toBe(1);
      });
    });

    describe('messages', () => {
      it('delivers a published message to a subscriber, never inside publish', async () => {
        const inbox = new Inbox();
        await sut.subscribe('news', inbox.handler);
        const publishing = sut.publish('news', 'hello');
        expect(inbox.messages).toEqual([]);
        await publishing;
        expect(await inbox.waitFor(1)).toEqual(['hello']);
      });

      it('delivers messages in the order they were published', async () => {
        const inbox = new Inbox();
        await sut.subscribe('news', inbox.handler);
        for (const message of ['1', '2', '3']) await sut.publish('news', message);
        expect(await inbox.waitFor(3)).toEqual(['1', '2', '3']);
      });

      it('keeps channels apart', async () => {
        const [a, b] = [new Inbox(), new Inbox()];
        await sut.subscribe('a', a.handler);
        await sut.subscribe('b', b.handler);
        await sut.publish('a', 'for a');
        await sut.publish('b', 'for b');
        expect(await b.waitFor(1)).toEqual(['for b']);
        expect(await a.waitFor(1)).toEqual(['for a']);
      });

      it('stops delivering to an unsubscribed handler, and only to it', async () => {
        const [kept, dropped, marker] = [new Inbox(), new Inbox(), new Inbox()];
        await sut.subscribe('news', kept.handler);
        const unsubscribe = await sut.subscribe('news', dropped.handler);
        await sut.subscribe('marker', marker.handler);
        await sut.publish('news', 'before');
        expect(await dropped.waitFor(1)).toEqual(['before']);

        await unsubscribe();
        await sut.publish('news', 'after');
        // Messages arrive in publish order: once the marker is in, 'after' has been delivered.
        await sut.publish('marker', 'done');
        await marker.waitFor(1);
        expect(dropped.messages).toEqual(['before']);
        expect(await kept.waitFor(2)).toEqual(['before', 'after']);
      });

      it('stops delivering once the last handler of a channel is unsubscribed', async () => {
        const [news, marker] = [new Inbox(), new Inbox()];
        const unsubscribe = await sut.subscribe('news', news.handler);
        await sut.subscribe('marker', marker.handler);
        await unsubscribe();
        await sut.publish('news', 'unheard');
        await sut.publish('marker', 'done');
        await marker.waitFor(1);
        expect(news.messages).toEqual([]);
      });
    });

    describe('connection', () => {
      it('is connected once started, says what it is, and answers a ping', async () => {
        expect(sut.connected).toBe(true);
        expect(['memory', 'redis', 'ipc']).toContain(sut.kind);
        expect(sut.target).not.toBe('');
        const rtt = await sut.ping();
        expect(rtt).toBeGreaterThanOrEqual(0);
        expect(rtt).toBeLessThan(5_000);
      });

      it('refuses every call with StoreUnavailableError once stopped', async () => {
        await sut.stop();
        expect(sut.connected).toBe(false);
        const calls: (() => Promise<unknown>)[] = [
          () => sut.get('key'),
          () => sut.set('key', 'value'),
          () => sut.setIfAbsent('key', 'value', 1000),
          () => sut.increment('key', 1000),
          () => sut.entries(''),
          () => sut.publish('news', 'message'),
          () => sut.subscribe('news', () => undefined),
          () => sut.ping(),
        ];
        for (const call of calls) await expect(call()).rejects.toThrow(StoreUnavailableError);
      });
    });
  });
}

/** What one subscription received, and a way to wait for it. */
export class Inbox {
  readonly messages: string[] = [];
  readonly handler = (message: string): void => {
    this.messages.push(message);
  };

  /** The messages once there are `count` of them; fails after `timeoutMs` with what did arrive. */
  async waitFor(count: number, timeoutMs = 3_000): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      if (Date.now() > deadline) {
        throw new Error(
          `expected ${count} messages in ${timeoutMs} ms, got ${JSON.stringify(this.messages)}`,
        );
      }
      await sleep(10);
    }
    return [...this.messages];
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
