import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ClusterConfig } from '../config/cluster.config';
import { ClusterService } from './cluster.service';
import { InstanceRecord, ServedModel } from './cluster.types';
import { MemoryStateStore } from './memory-state-store';
import { FakeLifecycle, FakeRegistry } from './testing/served-models';

const HEARTBEAT_MS = 1_000;
const INSTANCE_TTL_MS = 3 * HEARTBEAT_MS;

function configFor(instanceId: string): ClusterConfig {
  return {
    distributed: true,
    redis: {
      target: 'redis://redis:6379/0',
      host: 'redis',
      port: 6379,
      db: 0,
      prefix: 'test:',
      commandTimeoutMs: 1_000,
      reconnectMaxDelayMs: 5_000,
    },
    instanceId,
    advertiseUrl: `http://${instanceId}:8000`,
    heartbeatMs: HEARTBEAT_MS,
    instanceTtlMs: INSTANCE_TTL_MS,
    leaseTtlMs: 10_000,
    skewGraceMs: 10_000,
    rateLimit: { limit: 0, windowMs: 60_000 },
  };
}

/** Lets a heartbeat started by a timer finish: the memory store answers within a few turns. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
}

function served(reference: string, version: string): ServedModel {
  return { reference, version, state: 'ready' };
}

describe(ClusterService.name, () => {
  let clock: number;
  let store: MemoryStateStore;
  let instances: ClusterService[];
  const registries = new Map<ClusterService, FakeRegistry>();
  const lifecycles = new Map<ClusterService, FakeLifecycle>();
  const serving = (instance: ClusterService, ...models: ServedModel[]) =>
    (registries.get(instance)!.served = models);

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    clock = 1_000_000;
    store = new MemoryStateStore(() => clock);
    instances = [];
  });

  afterEach(async () => {
    for (const instance of instances) await instance.onModuleDestroy();
    await store.stop();
  });

  /** An instance on the shared store, with a scheduler of its own; destroyed after each test. */
  function join(id: string, scheduler = new SchedulerRegistry()): ClusterService {
    const registry = new FakeRegistry();
    const lifecycle = new FakeLifecycle();
    const instance = new ClusterService(store, configFor(id), scheduler, registry, lifecycle);
    registries.set(instance, registry);
    lifecycles.set(instance, lifecycle);
    // What health tells once the instance is up (InstanceStatusReporter).
    instance.statusChanged({ status: 'ok' });
    instances.push(instance);
    return instance;
  }

  const ids = (list: { id: string }[]) => list.map((i) => i.id);

  describe('with two instances sharing the store', () => {
    let sut: ClusterService;
    let peer: ClusterService;

    beforeEach(() => {
      // The peer registers first, so sorting, not insertion order, puts api-1 first.
      peer = join('api-2');
      sut = join('api-1');
    });

    it('lists both once they have beaten, sorted by id, with what each serves and how it is', async () => {
      serving(sut, served('iris@champion', '3'));
      serving(peer, served('iris@champion', '2'), served('wine/1', '1'));
      peer.statusChanged({ status: 'degraded' });

      await peer.beat();
      await sut.beat();
      const membership = await sut.members();

      expect(membership.fresh).toBe(true);
      expect(membership.instances).toEqual([
        expect.objectContaining({
          id: 'api-1',
          address: 'http://api-1:8000',
          status: 'ok',
          models: [served('iris@champion', '3')],
          leases: [],
        }),
        expect.objectContaining({
          id: 'api-2',
          address: 'http://api-2:8000',
          status: 'degraded',
          models: [served('iris@champion', '2'), served('wine/1', '1')],
          leases: [],
        }),
      ]);
      expect(ids((await peer.members()).instances)).toEqual(['api-1', 'api-2']);
    });

    it('drops an instance whose heartbeat has expired, and keeps the one still beating', async () => {
      await peer.beat();
      await sut.beat();

      clock += INSTANCE_TTL_MS - 1;
      await sut.beat();
      expect(ids((await sut.members()).instances)).toEqual(['api-1', 'api-2']);

      clock += 1;
      expect(ids((await sut.members()).instances)).toEqual(['api-1']);
    });

    it('removes its record and gives up its leases at once when destroyed', async () => {
      sut.lease('model-refresh');
      await sut.beat();
      await peer.beat();
      expect(await store.get('leases:model-refresh')).toBe('api-1');
      expect((await peer.members()).instances[0]).toMatchObject({
        id: 'api-1',
        leases: ['model-refresh'],
      });

      await sut.onModuleDestroy();

      expect(ids((await peer.members()).instances)).toEqual(['api-2']);
      expect(await store.get('leases:model-refresh')).toBeUndefined();
      // Gone for good: a late heartbeat does not register it again.
      await sut.beat();
      expect(ids((await peer.members()).instances)).toEqual(['api-2']);
      // The peer takes the lease at its next heartbeat, not a lease TTL later.
      peer.lease('model-refresh');
      await peer.beat();
      expect(await store.get('leases:model-refresh')).toBe('api-2');
    });

    it('hands its leases over instead of renewing them while draining', async () => {
      const lease = sut.lease('model-refresh');
      await sut.beat();
      expect(lease.held).toBe(true);

      lifecycles.get(sut)!.draining = true;
      await sut.beat();

      expect(lease.held).toBe(false);
      expect(await store.get('leases:model-refresh')).toBeUndefined();
      expect((await peer.members()).instances[0]).toMatchObject({
        id: 'api-1',
        status: 'draining',
        leases: [],
      });
      // Still draining: the next heartbeat does not take it back.
      await sut.beat();
      expect(lease.held).toBe(false);
      const peerLease = peer.lease('model-refresh');
      await peer.beat();
      expect(peerLease.held).toBe(true);
    });

    it('answers the last list seen, marked stale, with its own record current, once the store is unreachable', async () => {
      serving(sut, served('iris@champion', '2'));
      serving(peer, served('iris@champion', '2'));
      await peer.beat();
      await sut.beat();
      const before = await sut.members();
      expect(before.fresh).toBe(true);

      await store.stop();
      serving(sut, served('iris@champion', '3'));
      const after = await sut.members();

      expect(after.fresh).toBe(false);
      expect(after.asOf).toEqual(before.asOf);
      expect(ids(after.instances)).toEqual(['api-1', 'api-2']);
      expect(after.instances[0].models).toEqual([served('iris@champion', '3')]);
      expect(after.instances[1].models).toEqual([served('iris@champion', '2')]);
      // A heartbeat that cannot reach the store does not throw, and changes nothing else.
      await expect(sut.beat()).resolves.toBeUndefined();
      expect(sut.lastMembership()).toMatchObject({ fresh: false });
    });
  });

  describe('heartbeat record', () => {
    it('tells heartbeats what the registry serves', async () => {
      const sut = join('api-1');
      serving(sut, { reference: 'iris@champion', version: '2', state: 'ready' });

      await sut.beat();

      const record = JSON.parse((await store.get('instances:api-1')) ?? '{}') as InstanceRecord;
      expect(record.models).toEqual([{ reference: 'iris@champion', version: '2', state: 'ready' }]);
    });

    it('says starting until health tells otherwise, and draining once SIGTERM came', () => {
      const sut = new ClusterService(
        store,
        configFor('api-1'),
        new SchedulerRegistry(),
        new FakeRegistry(),
        { draining: false },
      );
      instances.push(sut);
      expect(sut.selfRecord().status).toBe('starting');

      sut.statusChanged({ status: 'degraded' });
      expect(sut.selfRecord().status).toBe('degraded');

      const draining = new ClusterService(
        store,
        configFor('api-2'),
        new SchedulerRegistry(),
        new FakeRegistry(),
        { draining: true },
      );
      instances.push(draining);
      draining.statusChanged({ status: 'ok' });
      expect(draining.selfRecord().status).toBe('draining');
    });
  });

  describe('lastMembership', () => {
    it('lists this instance before its first heartbeat', () => {
      const sut = join('api-1');
      serving(sut, served('iris@champion', '1'));

      const membership = sut.lastMembership();

      expect(membership.fresh).toBe(false);
      expect(membership.instances).toEqual([
        expect.objectContaining({ id: 'api-1', models: [served('iris@champion', '1')] }),
      ]);
    });

    it('lists this instance among the others even when the store has no record of it', async () => {
      const sut = join('api-1');
      await join('api-0').beat();
      await join('api-2').beat();

      await sut.members();

      expect(ids(sut.lastMembership().instances)).toEqual(['api-0', 'api-1', 'api-2']);
      expect(await store.get('instances:api-1')).toBeUndefined();
    });
  });

  describe('on the scheduler', () => {
    afterEach(() => jest.useRealTimers());

    it('beats at bootstrap and every heartbeat after, and leaves no interval behind once destroyed', async () => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
      const scheduler = new SchedulerRegistry();
      const sut = join('api-1', scheduler);

      sut.onApplicationBootstrap();
      await sut.beat();
      expect(scheduler.getIntervals()).toEqual([ClusterService.jobName]);
      expect(await store.get('instances:api-1')).toBeDefined();

      // Only a heartbeat from the interval keeps the record past its first TTL.
      clock += INSTANCE_TTL_MS - 1;
      await jest.advanceTimersByTimeAsync(HEARTBEAT_MS);
      await settle();
      clock += 2;
      expect(await store.get('instances:api-1')).toBeDefined();

      await sut.onModuleDestroy();
      expect(scheduler.getIntervals()).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
      expect(await store.get('instances:api-1')).toBeUndefined();
    });
  });
});
