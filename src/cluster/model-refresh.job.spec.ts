import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ClusterService, Membership } from './cluster.service';
import { instanceRecord } from './testing/instance-record';
import { InstanceRecord } from './cluster.types';
import { Lease } from './lease';
import { MemoryStateStore } from './memory-state-store';
import { configServing } from '../models/testing/model-fakes';
import { ModelsConfig } from '../config/models.config';
import { ModelRefreshJob } from './model-refresh.job';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';

const LEASE = ModelRefreshJob.jobName;
const SERVED = ['iris@champion', 'wine@champion', 'digits@champion'];

/** Serves SERVED; records, per pass, which of them the job's `only` let through. */
class FakeRegistry implements Pick<ModelRegistry, 'reloadAll'> {
  readonly passes: { trigger: string; polled: string[] }[] = [];
  private gate?: Promise<void>;
  private open?: () => void;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open?.();
  }

  async reloadAll(
    trigger: string,
    only: (reference: string) => boolean = () => true,
  ): Promise<ReloadOutcome[]> {
    const polled = SERVED.filter((reference) => only(reference));
    this.passes.push({ trigger, polled });
    await this.gate;
    return polled.map((reference) => ({ reference, status: 'unchanged' }));
  }
}

/** The job's view of the cluster: a real lease on the shared store, and the membership the test sets. */
class FakeCluster implements Pick<ClusterService, 'lease' | 'lastMembership'> {
  readonly leases: Lease[] = [];
  instances: InstanceRecord[] = [];

  constructor(private readonly store: MemoryStateStore) {}

  lease(name: string): Lease {
    const lease = new Lease(name, 'api-1', this.store, 10_000);
    this.leases.push(lease);
    return lease;
  }

  lastMembership(): Membership {
    return { instances: this.instances, fresh: true, asOf: new Date() };
  }
}

function record(id: string, references: string[], leases: string[] = []): InstanceRecord {
  return instanceRecord(id, {
    models: references.map((reference) => ({ reference, version: '1', state: 'ready' })),
    leases,
  });
}

function modelsConfig(refreshIntervalMs: number): ModelsConfig {
  return configServing(SERVED, { loadOnDemand: true, refreshIntervalMs });
}

describe(ModelRefreshJob.name, () => {
  let store: MemoryStateStore;
  let registry: FakeRegistry;
  let cluster: FakeCluster;
  let scheduler: SchedulerRegistry;
  let sut: ModelRefreshJob;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    store = new MemoryStateStore();
    registry = new FakeRegistry();
    cluster = new FakeCluster(store);
    scheduler = new SchedulerRegistry();
    sut = new ModelRefreshJob(
      registry as unknown as ModelRegistry,
      scheduler,
      modelsConfig(60_000),
      cluster as unknown as ClusterService,
    );
  });

  afterEach(async () => {
    sut.onModuleDestroy();
    await store.stop();
  });

  /** Bootstraps the job, then lets its lease campaign (as the heartbeat would) and settle. */
  async function bootstrap(): Promise<Lease> {
    sut.onApplicationBootstrap();
    const [lease] = cluster.leases;
    await lease.campaign();
    return lease;
  }

  /** Another instance holding the lease in the store. */
  async function leadElsewhere(): Promise<void> {
    expect(await new Lease(LEASE, 'api-2', store, 10_000).campaign()).toBe(true);
  }

  it('campaigns for the model-refresh lease and polls on an interval of its own until destroyed', () => {
    sut.onApplicationBootstrap();

    expect(cluster.leases.map((l) => l.name)).toEqual([LEASE]);
    expect(scheduler.getIntervals()).toEqual([LEASE]);

    sut.onModuleDestroy();
    expect(scheduler.getIntervals()).toEqual([]);
  });

  it('neither campaigns nor schedules when refreshing is off', () => {
    sut = new ModelRefreshJob(
      registry as unknown as ModelRegistry,
      scheduler,
      modelsConfig(0),
      cluster as unknown as ClusterService,
    );

    sut.onApplicationBootstrap();

    expect(cluster.leases).toEqual([]);
    expect(scheduler.getIntervals()).toEqual([]);
  });

  it('polls every reference while it holds the lease', async () => {
    const lease = await bootstrap();
    expect(lease.held).toBe(true);
    // Its own heartbeat may not list the lease yet: holding it is what counts.
    cluster.instances = [record('api-1', SERVED), record('api-2', ['iris@champion'], [LEASE])];

    await sut.run();

    expect(registry.passes).toEqual([{ trigger: 'refresh job', polled: SERVED }]);
  });

  it('polls every reference while the store is unreachable, whoever led before', async () => {
    await leadElsewhere();
    const lease = await bootstrap();
    expect(lease.held).toBe(false);
    cluster.instances = [record('api-1', SERVED), record('api-2', SERVED, [LEASE])];

    await store.stop();
    await sut.run();

    expect(registry.passes).toEqual([{ trigger: 'refresh job', polled: SERVED }]);
  });

  it('polls only the references the leader’s heartbeat does not list while another instance leads', async () => {
    await leadElsewhere();
    await bootstrap();
    cluster.instances = [
      record('api-1', SERVED),
      record('api-2', ['iris@champion', 'wine@champion', 'other@champion'], [LEASE]),
      record('api-3', ['digits@champion']),
    ];

    await sut.run();

    expect(registry.passes).toEqual([{ trigger: 'refresh job', polled: ['digits@champion'] }]);
  });

  it('polls nothing while another instance holds the lease but no heartbeat names a leader yet', async () => {
    await leadElsewhere();
    await bootstrap();
    cluster.instances = [record('api-1', SERVED), record('api-2', ['iris@champion'])];

    await sut.run();

    expect(registry.passes).toEqual([{ trigger: 'refresh job', polled: [] }]);
  });

  it('skips a pass while the previous one is still running', async () => {
    await bootstrap();
    registry.hold();

    const first = sut.run();
    const second = sut.run();
    registry.release();
    await Promise.all([first, second]);
    await sut.run();

    expect(registry.passes).toHaveLength(2);
  });
});
