import { Logger } from '@nestjs/common';
import { ModelResolvedEvent, RepositoryChangedEvent } from '../common/events/event-map';
import { ModelPinnedError } from '../models/model.errors';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { ClusterService } from './cluster.service';
import { MemoryStateStore } from './memory-state-store';
import { ReloadBroadcast } from './reload-broadcast.service';
import { StateStore, StoreUnavailableError } from './state-store';
import { Inbox } from './testing/state-store.contract';

const CHANNEL = 'reloads';

/** What ReloadBroadcast uses of the registry, recording what it is asked. */
class FakeRegistry implements Pick<
  ModelRegistry,
  'followVersion' | 'reloadAll' | 'loadModel' | 'unloadModel'
> {
  readonly follows: { reference: string; version: string; trigger: string }[] = [];
  /** Repository changes applied here, as `load wine (trigger)` / `unload wine`. */
  readonly changes: string[] = [];
  /** Names MODELS lists here: unloading them is refused. */
  readonly pinned = new Set<string>();
  readonly reloads: { trigger: string; only?: (reference: string) => boolean }[] = [];
  /** Who hears 'model.resolved' (Nest subscribes ReloadBroadcast.publish; here the test does). */
  readonly listeners: ((event: ModelResolvedEvent) => void)[] = [];

  followVersion(reference: string, version: string, trigger: string): Promise<ReloadOutcome> {
    this.follows.push({ reference, version, trigger });
    return Promise.resolve({ reference, status: 'swapped', from: '2', to: version });
  }

  reloadAll(trigger: string, only?: (reference: string) => boolean): Promise<ReloadOutcome[]> {
    this.reloads.push({ trigger, only });
    return Promise.resolve([{ reference: 'iris@champion', status: 'unchanged' }]);
  }

  loadModel(name: string, trigger: string): Promise<ReloadOutcome[]> {
    this.changes.push(`load ${name} (${trigger})`);
    return Promise.resolve([{ reference: name, status: 'loaded', to: '1' }]);
  }

  unloadModel(name: string): Promise<string[]> {
    this.changes.push(`unload ${name}`);
    if (this.pinned.has(name)) return Promise.reject(new ModelPinnedError(name));
    return Promise.resolve([`${name}/1`]);
  }

  /** What the real registry does when MLflow has answered for a reference: emits 'model.resolved'. */
  resolved(event: ModelResolvedEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

class FakeCluster implements Pick<ClusterService, 'instanceId'> {
  constructor(readonly instanceId: string) {}
}

/**
 * The shared memory store as one instance sees it, with a connection the test
 * cuts and restores: while down every call fails as the Redis store's do, and
 * listeners hear of each change.
 */
class SwitchableStore implements StateStore {
  readonly kind = 'redis';
  readonly target = 'redis://redis:6379/0';
  private down = false;
  private readonly listeners = new Set<(connected: boolean) => void>();

  constructor(private readonly shared: MemoryStateStore) {}

  get connected(): boolean {
    return !this.down;
  }

  /** Cuts (false) or restores (true) the connection, and tells the listeners. */
  connect(connected: boolean): void {
    this.down = !connected;
    for (const listener of [...this.listeners]) listener(connected);
  }

  /** Cuts the connection without telling anyone yet (the loss shows first as a failing command). */
  cutSilently(): void {
    this.down = true;
  }

  start = () => this.call(() => this.shared.start());
  stop = () => this.call(() => this.shared.stop());
  ping = () => this.call(() => this.shared.ping());
  get = (key: string) => this.call(() => this.shared.get(key));
  set = (key: string, value: string, ttlMs?: number) =>
    this.call(() => this.shared.set(key, value, ttlMs));
  setIfAbsent = (key: string, value: string, ttlMs: number) =>
    this.call(() => this.shared.setIfAbsent(key, value, ttlMs));
  extendIfHolds = (key: string, value: string, ttlMs: number) =>
    this.call(() => this.shared.extendIfHolds(key, value, ttlMs));
  deleteIfHolds = (key: string, value: string) =>
    this.call(() => this.shared.deleteIfHolds(key, value));
  delete = (key: string) => this.call(() => this.shared.delete(key));
  entries = (prefix: string) => this.call(() => this.shared.entries(prefix));
  increment = (key: string, ttlMs: number) => this.call(() => this.shared.increment(key, ttlMs));
  publish = (channel: string, message: string) =>
    this.call(() => this.shared.publish(channel, message));
  subscribe = (channel: string, handler: (message: string) => void) =>
    this.call(() => this.shared.subscribe(channel, handler));

  onConnectionChange(listener: (connected: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private call<T>(operation: () => Promise<T>): Promise<T> {
    if (this.down) return Promise.reject(new StoreUnavailableError(this.target, 'connection lost'));
    return operation();
  }
}

/** Lets messages and the promise chains they start run: the memory store delivers on a later turn. */
async function flush(turns = 5): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Flushes until `done` holds; fails naming `what` if it never does. */
async function until(done: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 50 && !done(); turn++) await flush(1);
  if (!done()) throw new Error(`still waiting for ${what}`);
}

function resolvedEvent(overrides: Partial<ModelResolvedEvent> = {}): ModelResolvedEvent {
  return {
    reference: 'iris@champion',
    name: 'iris',
    version: '3',
    trigger: 'reload endpoint',
    ...overrides,
  };
}

function message(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    origin: 'api-9',
    reference: 'iris@champion',
    version: '4',
    trigger: 'refresh job',
    at: new Date().toISOString(),
    ...overrides,
  });
}

interface Instance {
  registry: FakeRegistry;
  cluster: FakeCluster;
  sut: ReloadBroadcast;
}

describe(ReloadBroadcast.name, () => {
  let shared: MemoryStateStore;
  let started: ReloadBroadcast[];
  /** What Nest would deliver of 'repository.changed' to each instance's broadcast, by instance id. */
  let repositoryChanged: Map<string, (event: RepositoryChangedEvent) => void>;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    shared = new MemoryStateStore();
    started = [];
    repositoryChanged = new Map();
  });

  afterEach(async () => {
    jest.restoreAllMocks();
    for (const broadcast of started) await broadcast.onModuleDestroy();
    await shared.stop();
  });

  /** An instance's broadcast, initialised and bootstrapped as Nest would, on `store`. */
  async function instance(id: string, store: StateStore = shared): Promise<Instance> {
    const registry = new FakeRegistry();
    const cluster = new FakeCluster(id);
    const sut = new ReloadBroadcast(
      registry as unknown as ModelRegistry,
      cluster as unknown as ClusterService,
      store,
    );
    started.push(sut);
    registry.listeners.push((event) => void sut.publish(event));
    repositoryChanged.set(id, (event) => void sut.publishRepositoryChange(event));
    await sut.onApplicationBootstrap();
    return { registry, cluster, sut };
  }

  it('moves a peer to the version the origin resolved, naming the origin in the trigger', async () => {
    const origin = await instance('api-1');
    const peer = await instance('api-2');

    origin.registry.resolved(resolvedEvent());
    await until(() => peer.registry.follows.length > 0, 'the peer to follow');

    expect(peer.registry.follows).toEqual([
      { reference: 'iris@champion', version: '3', trigger: 'peer api-1: reload endpoint' },
    ]);
  });

  it('never follows its own message, either way round', async () => {
    const origin = await instance('api-1');
    const peer = await instance('api-2');

    origin.registry.resolved(resolvedEvent({ version: '3' }));
    await until(() => peer.registry.follows.length === 1, 'the peer to follow');
    // Every subscriber gets a message on the same turn: the origin has had its own by now.
    expect(origin.registry.follows).toEqual([]);

    peer.registry.resolved(resolvedEvent({ version: '4', trigger: 'airflow callback run_1' }));
    await until(() => origin.registry.follows.length === 1, 'the origin to follow');

    expect(origin.registry.follows).toEqual([
      { reference: 'iris@champion', version: '4', trigger: 'peer api-2: airflow callback run_1' },
    ]);
    expect(peer.registry.follows).toHaveLength(1);
  });

  it('ignores malformed messages, logging a warning, and follows the next good one', async () => {
    const peer = await instance('api-2');
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const error = jest.spyOn(Logger.prototype, 'error');

    await shared.publish(CHANNEL, 'not json');
    await shared.publish(CHANNEL, 'null');
    await shared.publish(CHANNEL, '["api-1", "iris@champion", "3"]');
    await shared.publish(CHANNEL, message({ version: 3 }));
    await shared.publish(CHANNEL, message({ origin: undefined }));
    await shared.publish(CHANNEL, message());
    await until(() => peer.registry.follows.length > 0, 'the good message');

    expect(peer.registry.follows).toEqual([
      { reference: 'iris@champion', version: '4', trigger: 'peer api-9: refresh job' },
    ]);
    const ignored = warn.mock.calls.filter(([text]) =>
      String(text).startsWith(`ignored a malformed message on ${CHANNEL}`),
    );
    expect(ignored).toHaveLength(5);
    // Had receive thrown, the store would have logged that a subscriber failed.
    expect(error).not.toHaveBeenCalled();
  });

  it('resolves everything it serves once when the store comes back (messages were lost meanwhile)', async () => {
    const store = new SwitchableStore(shared);
    const peer = await instance('api-2', store);

    store.connect(false);
    await flush();
    expect(peer.registry.reloads).toEqual([]);

    store.connect(true);
    await until(() => peer.registry.reloads.length > 0, 'the catch-up');
    await flush();

    expect(peer.registry.reloads).toEqual([
      { trigger: 'resync after the state store came back', only: undefined },
    ]);
  });

  it('subscribes when the store comes back if it could not at start, and follows from then on', async () => {
    const store = new SwitchableStore(shared);
    store.cutSilently();
    const origin = await instance('api-1');
    const peer = await instance('api-2', store);
    const delivered = new Inbox();
    await shared.subscribe(CHANNEL, delivered.handler);

    origin.registry.resolved(resolvedEvent({ version: '3' }));
    await delivered.waitFor(1);
    await flush();
    expect(peer.registry.follows).toEqual([]);

    store.connect(true);
    await until(() => peer.registry.reloads.length > 0, 'the catch-up');
    origin.registry.resolved(resolvedEvent({ version: '4' }));
    await until(() => peer.registry.follows.length > 0, 'the peer to follow');

    expect(peer.registry.follows).toEqual([
      { reference: 'iris@champion', version: '4', trigger: 'peer api-1: reload endpoint' },
    ]);
    expect(peer.registry.reloads).toHaveLength(1);
  });

  it('keeps a failed publish inside the observer, and publishes again once the store is back', async () => {
    const store = new SwitchableStore(shared);
    const origin = await instance('api-1', store);
    const peer = await instance('api-2');
    const delivered = new Inbox();
    await shared.subscribe(CHANNEL, delivered.handler);
    store.cutSilently();

    expect(() => origin.registry.resolved(resolvedEvent({ version: '3' }))).not.toThrow();
    // A rejection escaping the observer would fail this test as unhandled by now.
    await flush();
    expect(delivered.messages).toEqual([]);

    store.connect(true);
    origin.registry.resolved(resolvedEvent({ version: '4' }));
    await until(() => peer.registry.follows.length > 0, 'the peer to follow');

    expect(peer.registry.follows.map((f) => f.version)).toEqual(['4']);
    expect(delivered.messages).toHaveLength(1);
  });

  it('stops following once destroyed', async () => {
    const peer = await instance('api-2');
    const delivered = new Inbox();
    await shared.subscribe(CHANNEL, delivered.handler);

    await peer.sut.onModuleDestroy();
    await shared.publish(CHANNEL, message());
    await delivered.waitFor(1);
    await flush();

    expect(peer.registry.follows).toEqual([]);
  });

  it("loads and unloads on a peer what the origin's repository API was asked, never on the origin again", async () => {
    const origin = await instance('api-1');
    const peer = await instance('api-2');

    repositoryChanged.get('api-1')!({ action: 'load', name: 'wine', trigger: 'repository load' });
    await until(() => peer.registry.changes.length === 1, 'the peer to load');
    repositoryChanged.get('api-1')!({
      action: 'unload',
      name: 'wine',
      trigger: 'repository unload',
    });
    await until(() => peer.registry.changes.length === 2, 'the peer to unload');

    expect(peer.registry.changes).toEqual([
      'load wine (peer api-1: repository load)',
      'unload wine',
    ]);
    expect(origin.registry.changes).toEqual([]);
    expect(peer.registry.follows).toEqual([]);
  });

  it("logs a peer's unload it refuses (MODELS lists the model here), and goes on following", async () => {
    const origin = await instance('api-1');
    const peer = await instance('api-2');
    peer.registry.pinned.add('iris');
    const error = jest.spyOn(Logger.prototype, 'error');

    repositoryChanged.get('api-1')!({
      action: 'unload',
      name: 'iris',
      trigger: 'repository unload',
    });
    await until(() => error.mock.calls.length > 0, 'the refusal to be logged');
    origin.registry.resolved(resolvedEvent({ version: '5' }));
    await until(() => peer.registry.follows.length > 0, 'the peer to follow');

    expect(String(error.mock.calls[0][0])).toMatch(/iris: cannot unload it .*listed in MODELS/);
    expect(peer.registry.follows.map((f) => f.version)).toEqual(['5']);
  });

  it('ignores a repository message with an unknown action or a missing name', async () => {
    const peer = await instance('api-2');
    const warn = jest.spyOn(Logger.prototype, 'warn');
    const at = new Date().toISOString();

    await shared.publish(
      CHANNEL,
      JSON.stringify({ origin: 'api-9', action: 'delete', name: 'wine', trigger: 't', at }),
    );
    await shared.publish(
      CHANNEL,
      JSON.stringify({ origin: 'api-9', action: 'unload', trigger: 't', at }),
    );
    await shared.publish(
      CHANNEL,
      JSON.stringify({ origin: 'api-9', action: 'unload', name: 'wine', trigger: 't', at }),
    );
    await until(() => peer.registry.changes.length > 0, 'the good message');

    expect(peer.registry.changes).toEqual(['unload wine']);
    expect(
      warn.mock.calls.filter(([text]) => String(text).startsWith('ignored a malformed')),
    ).toHaveLength(2);
  });
});
