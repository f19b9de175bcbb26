import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';
import { RedisStateStore } from '../src/cluster/redis-state-store';
import { StoreUnavailableError } from '../src/cluster/state-store';
import {
  Inbox,
  describeStateStoreContract,
  sleep,
} from '../src/cluster/testing/state-store.contract';
import { RedisOptions, clusterConfig } from '../src/config/cluster.config';
import { withEnvironment } from './support/env';
import { freePort } from './support/ports';
import { RedisServer, startRedisServer } from './support/redis';

/** Short, so outages show quickly; the assertions allow ten times as much. */
const COMMAND_TIMEOUT_MS = 300;
const RECONNECT_MAX_DELAY_MS = 500;

let prefixes = 0;
/** A prefix no other store uses: the tests share a Redis, not their keys or channels. */
function uniquePrefix(): string {
  return `modelgate-test:${process.pid}:${++prefixes}:`;
}

function optionsFor(port: number, overrides: Partial<RedisOptions> = {}): RedisOptions {
  const db = overrides.db ?? 0;
  return {
    target: `redis://127.0.0.1:${port}/${db}`,
    host: '127.0.0.1',
    port,
    db,
    prefix: uniquePrefix(),
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    reconnectMaxDelayMs: RECONNECT_MAX_DELAY_MS,
    ...overrides,
  };
}

/** Polls `condition` every 20 ms; fails after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not ${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

/** How long `call` took to reject, and with what. */
async function rejection(call: () => Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  try {
    await call();
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
  throw new Error('expected the call to fail');
}

describe('RedisStateStore', () => {
  let redis: RedisServer | undefined;
  const stores: RedisStateStore[] = [];
  const clients: Redis[] = [];

  /** A store on `options`, stopped after the test. */
  function storeOn(options: RedisOptions): RedisStateStore {
    const store = new RedisStateStore(options);
    stores.push(store);
    return store;
  }

  /** A plain ioredis client, to see what the store really wrote; closed after the test. */
  function rawClient(port: number, options: { db?: number; password?: string } = {}): Redis {
    const client = new Redis({ host: '127.0.0.1', port, ...options });
    clients.push(client);
    return client;
  }

  /** Stops this test's stores and clients: before their Redis, so no store logs an outage. */
  async function stopClients(): Promise<void> {
    await Promise.all(stores.splice(0).map((store) => store.stop()));
    clients.splice(0).forEach((client) => client.disconnect());
  }

  afterEach(async () => {
    await stopClients();
    jest.restoreAllMocks();
  });

  describe('on a running redis-server', () => {
    beforeAll(async () => {
      redis = await startRedisServer();
    });

    afterAll(async () => {
      await redis?.stop();
    });

    describeStateStoreContract('RedisStateStore', async () => {
      const store = storeOn(optionsFor(redis!.port));
      await store.start();
      return store;
    });

    it('writes keys and channels under its prefix in Redis itself', async () => {
      const options = optionsFor(redis!.port);
      const sut = storeOn(options);
      await sut.start();
      const raw = rawClient(redis!.port);
      const inbox = new Inbox();
      await sut.subscribe('news', inbox.handler);
      await sut.set('key', 'value');

      expect(await raw.get(`${options.prefix}key`)).toBe('value');
      expect(await raw.get('key')).toBeNull();
      expect(await raw.pubsub('CHANNELS', `${options.prefix}*`)).toEqual([`${options.prefix}news`]);
      await raw.publish('news', 'without the prefix');
      await raw.publish(`${options.prefix}news`, 'with the prefix');
      expect(await inbox.waitFor(1)).toEqual(['with the prefix']);
    });

    it('keeps stores with different prefixes apart; stores with one prefix share', async () => {
      const [prefixA, prefixB] = [uniquePrefix(), uniquePrefix()];
      const a = storeOn(optionsFor(redis!.port, { prefix: prefixA }));
      const alsoA = storeOn(optionsFor(redis!.port, { prefix: prefixA }));
      const b = storeOn(optionsFor(redis!.port, { prefix: prefixB }));
      await Promise.all([a.start(), alsoA.start(), b.start()]);

      await a.set('key', 'from a');
      await b.set('key', 'from b');
      expect(await alsoA.get('key')).toBe('from a');
      expect(await b.get('key')).toBe('from b');
      expect(await alsoA.entries('')).toEqual(new Map([['key', 'from a']]));
      expect(await b.setIfAbsent('lease', 'b', 60_000)).toBe(true);
      expect(await a.setIfAbsent('lease', 'a', 60_000)).toBe(true);

      const [inboxA, inboxB] = [new Inbox(), new Inbox()];
      await a.subscribe('news', inboxA.handler);
      await b.subscribe('news', inboxB.handler);
      await alsoA.publish('news', 'for a');
      await b.publish('news', 'for b');
      expect(await inboxA.waitFor(1)).toEqual(['for a']);
      expect(await inboxB.waitFor(1)).toEqual(['for b']);
      await sleep(200); // anything misrouted would have arrived by now
      expect(inboxA.messages).toEqual(['for a']);
      expect(inboxB.messages).toEqual(['for b']);
    });

    it('honours the database and password options', async () => {
      const password = `pw-${process.pid}-options`;
      const secured = await startRedisServer({ password });
      try {
        const options = optionsFor(secured.port, { db: 2, password });
        const sut = storeOn(options);
        await sut.start();
        await sut.set('key', 'in db 2');

        expect(await rawClient(secured.port, { password, db: 2 }).get(`${options.prefix}key`)).toBe(
          'in db 2',
        );
        expect(await rawClient(secured.port, { password }).get(`${options.prefix}key`)).toBeNull();
      } finally {
        await stopClients();
        await secured.stop();
      }
    });
  });

  describe('when Redis goes away', () => {
    beforeEach(async () => {
      redis = await startRedisServer();
    });

    afterEach(async () => {
      await stopClients();
      await redis?.stop();
    });

    it('reports a loss once, fails fast, and recovers with its subscriptions', async () => {
      const options = optionsFor(redis!.port);
      const sut = storeOn(options);
      const changes: boolean[] = [];
      sut.onConnectionChange((connected) => changes.push(connected));
      await sut.start();
      const inbox = new Inbox();
      await sut.subscribe('news', inbox.handler);
      await sut.publish('news', 'before');
      await inbox.waitFor(1);

      await redis!.stop();
      await until(() => !sut.connected, 3_000, 'disconnected');
      await expect(sut.get('key')).rejects.toThrow(/unavailable: not connected/);
      for (const call of [
        () => sut.get('key'),
        () => sut.set('key', 'value', 1000),
        () => sut.setIfAbsent('key', 'value', 1000),
        () => sut.extendIfHolds('key', 'value', 1000),
        () => sut.increment('key', 1000),
        () => sut.entries(''),
        () => sut.publish('news', 'lost'),
        () => sut.subscribe('other', () => undefined),
        () => sut.ping(),
      ]) {
        const { error, ms } = await rejection(call);
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect(ms).toBeLessThan(3_000);
      }
      await sleep(1_500); // several reconnection attempts fail meanwhile
      expect(changes).toEqual([true, false]);

      const restarted = Date.now();
      await redis!.start();
      await until(() => sut.connected, 10_000, 'reconnected');
      process.stdout.write(`reconnected ${Date.now() - restarted} ms after the restart\n`);
      expect(changes).toEqual([true, false, true]);
      await sut.set('key', 'after');
      expect(await sut.get('key')).toBe('after');

      // The subscription made before the restart still delivers, from this store and another.
      const other = storeOn(optionsFor(redis!.port, { prefix: options.prefix }));
      await other.start();
      await sut.publish('news', 'after, from itself');
      await other.publish('news', 'after, from a peer');
      expect(await inbox.waitFor(3)).toEqual([
        'before',
        'after, from itself',
        'after, from a peer',
      ]);
    });

    it('fails a call Redis does not answer in time, and reports the loss', async () => {
      const sut = storeOn(optionsFor(redis!.port));
      const changes: boolean[] = [];
      sut.onConnectionChange((connected) => changes.push(connected));
      await sut.start();

      redis!.pause();
      try {
        const { error, ms } = await rejection(() => sut.get('key'));
        expect(error).toBeInstanceOf(StoreUnavailableError);
        expect((error as Error).message).toContain(`no answer within ${COMMAND_TIMEOUT_MS} ms`);
        expect(ms).toBeGreaterThanOrEqual(COMMAND_TIMEOUT_MS - 50);
        expect(ms).toBeLessThan(3_000);
        await until(() => !sut.connected, 3_000, 'disconnected');
        expect(changes).toEqual([true, false]);
      } finally {
        redis!.resume();
      }
      await until(() => sut.connected, 10_000, 'reconnected');
      expect(changes).toEqual([true, false, true]);
      await sut.set('key', 'answered');
      expect(await sut.get('key')).toBe('answered');
    });
  });

  describe('when Redis dies with a call in flight', () => {
    beforeEach(async () => {
      redis = await startRedisServer();
    });

    afterEach(async () => {
      await stopClients();
      await redis?.stop();
    });

    it('fails the call at once as unavailable', async () => {
      // A timeout far away: the call must fail because the connection closed, not by timing out.
      const sut = storeOn(optionsFor(redis!.port, { commandTimeoutMs: 10_000 }));
      await sut.start();
      redis!.pause(); // the call is sent but not answered…
      const call = rejection(() => sut.get('key'));
      await sleep(50);
      await redis!.stop(); // …when Redis dies

      const { error, ms } = await call;
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toContain('the connection closed before Redis answered');
      expect(ms).toBeLessThan(3_000);
    });
  });

  describe('when Redis is not running at start', () => {
    afterEach(async () => {
      await stopClients();
      await redis?.stop();
    });

    it('rejects start as unavailable, then connects by itself once Redis is up', async () => {
      const port = await freePort();
      const sut = storeOn(optionsFor(port));
      const changes: boolean[] = [];
      sut.onConnectionChange((connected) => changes.push(connected));

      const { error, ms } = await rejection(() => sut.start());
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toContain(`redis://127.0.0.1:${port}/0`);
      expect(ms).toBeLessThan(3_000);
      expect(sut.connected).toBe(false);
      await expect(sut.get('key')).rejects.toThrow(StoreUnavailableError);

      redis = await startRedisServer({ port });
      await until(() => sut.connected, 10_000, 'connected');
      expect(changes).toEqual([true]);
      await sut.set('key', 'value');
      expect(await sut.get('key')).toBe('value');
    });
  });

  describe('with a password', () => {
    const password = `s3cret-${process.pid}-pw`;

    beforeEach(async () => {
      redis = await startRedisServer({ password });
    });

    afterEach(async () => {
      await stopClients();
      await redis?.stop();
    });

    /** Every line the stores log from now on. */
    function logged(): () => string[] {
      const spies = (['log', 'warn', 'error', 'debug'] as const).map((level) =>
        jest.spyOn(Logger.prototype, level),
      );
      return () => spies.flatMap((spy) => spy.mock.calls.map((call) => JSON.stringify(call)));
    }

    it('never shows the password, in its target, errors or logs', async () => {
      const lines = logged();
      const sut = storeOn(optionsFor(redis!.port, { password }));
      await sut.start();
      await sut.set('key', 'value');
      await redis!.stop();
      await until(() => !sut.connected, 3_000, 'disconnected');
      const { error } = await rejection(() => sut.get('key'));

      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(sut.target).not.toContain(password);
      expect((error as Error).message).not.toContain(password);
      expect(lines().some((line) => line.includes('lost'))).toBe(true);
      expect(lines().join('\n')).not.toContain(password);
    });

    it('rejects start with a wrong password as unavailable, without showing it', async () => {
      const lines = logged();
      const wrong = `wrong-${process.pid}-pw`;
      const sut = storeOn(optionsFor(redis!.port, { password: wrong }));

      const { error } = await rejection(() => sut.start());

      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as Error).message).toMatch(/WRONGPASS/);
      expect((error as Error).message).not.toContain(wrong);
      expect(lines().join('\n')).not.toContain(wrong);
    });

    it('takes host, port, password and database from API_REDIS_URL', async () => {
      const prefix = uniquePrefix();
      const options = await withEnvironment(
        {
          API_REDIS_URL: `redis://:${password}@127.0.0.1:${redis!.port}/3`,
          API_REDIS_HOST: 'not-this-host.invalid',
          API_REDIS_PREFIX: prefix,
          API_REDIS_COMMAND_TIMEOUT: String(COMMAND_TIMEOUT_MS),
        },
        () => Promise.resolve(clusterConfig().redis),
      );
      expect(options.target).toBe(`redis://127.0.0.1:${redis!.port}/3`);
      const sut = storeOn(options);
      await sut.start();
      await sut.set('key', 'in db 3');

      expect(await rawClient(redis!.port, { password, db: 3 }).get(`${prefix}key`)).toBe('in db 3');
      expect(await rawClient(redis!.port, { password }).get(`${prefix}key`)).toBeNull();
    });
  });
});
