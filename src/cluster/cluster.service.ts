import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
  OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { OnAppEvent } from '../common/events/event-bus';
import { InstanceStatusEvent } from '../common/events/event-map';
import { LifecycleState } from '../common/lifecycle/lifecycle.state';
import { startNamedInterval, stopNamedInterval } from '../common/scheduling/named-interval';
import { SERVICE_VERSION } from '../common/version';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { ModelRegistry } from '../models/model-registry.service';
import { InstanceRecord, InstanceStatus } from './cluster.types';
import { Lease } from './lease';
import { STATE_STORE, StateStore } from './state-store';

/** Where each instance's heartbeat record lives in the state store (also read by the doctor). */
export const INSTANCES = 'instances:';

/** The members of the cluster as last read from the store. */
export interface Membership {
  instances: InstanceRecord[];
  /** False when the store could not be read: `instances` is the last list seen. */
  fresh: boolean;
  /** When `instances` was read. */
  asOf: Date;
}

/**
 * This instance's place in the cluster: its identity, a heartbeat that
 * registers it in the state store (expiring when it stops beating), the
 * leases it campaigns for, and the list of members. With the in-memory store
 * (one instance) the same code runs and the cluster is this instance alone.
 */
@Injectable()
export class ClusterService
  implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown
{
  static readonly jobName = 'cluster-heartbeat';
  private readonly logger = new Logger(ClusterService.name);
  readonly startedAt = new Date();
  private readonly leases = new Map<string, Lease>();
  /** As health last told it (InstanceStatusReporter); draining is read live. */
  private status: InstanceStatus = 'starting';
  private membership: Membership;
  private beating?: Promise<void>;
  private stopConnectionWatch?: () => void;
  private left = false;

  constructor(
    @Inject(STATE_STORE) readonly store: StateStore,
    @Inject(clusterConfig.KEY) private readonly config: ClusterConfig,
    private readonly scheduler: SchedulerRegistry,
    @Inject(ModelRegistry) private readonly registry: Pick<ModelRegistry, 'list'>,
    @Inject(LifecycleState) private readonly lifecycle: Pick<LifecycleState, 'draining'>,
  ) {
    this.membership = { instances: [], fresh: false, asOf: this.startedAt };
  }

  get instanceId(): string {
    return this.config.instanceId;
  }

  get distributed(): boolean {
    return this.config.distributed;
  }

  @OnAppEvent('instance.status')
  statusChanged(event: InstanceStatusEvent): void {
    this.status = event.status;
  }

  /** The lease `name`, campaigned for on every heartbeat from now on. */
  lease(name: string): Lease {
    let lease = this.leases.get(name);
    if (!lease) {
      lease = new Lease(name, this.instanceId, this.store, this.config.leaseTtlMs);
      this.leases.set(name, lease);
      void lease.campaign();
    }
    return lease;
  }

  onApplicationBootstrap(): void {
    void this.beat();
    startNamedInterval(
      this.scheduler,
      ClusterService.jobName,
      this.config.heartbeatMs,
      () => void this.beat(),
    );
    // Back after an outage: be listed again at once, not a heartbeat later.
    this.stopConnectionWatch = this.store.onConnectionChange((connected) => {
      if (connected) void this.beat();
    });
  }

  /** Leaves the cluster: no more heartbeats, leases given up, the record removed. */
  async onModuleDestroy(): Promise<void> {
    this.left = true;
    stopNamedInterval(this.scheduler, ClusterService.jobName);
    this.stopConnectionWatch?.();
    await this.beating;
    await Promise.all([...this.leases.values()].map((lease) => lease.release()));
    await this.store.delete(INSTANCES + this.instanceId).catch(() => undefined);
  }

  /** Last of all (after every module's destroy hook): the store's connections close. */
  async onApplicationShutdown(): Promise<void> {
    await this.store.stop().catch(() => undefined);
  }

  /** This instance's heartbeat record as of now. */
  selfRecord(): InstanceRecord {
    return {
      id: this.instanceId,
      address: this.config.advertiseUrl,
      serviceVersion: SERVICE_VERSION,
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      heartbeatAt: new Date().toISOString(),
      status: this.lifecycle.draining ? 'draining' : this.status,
      models: this.registry.list().map((m) => ({
        reference: m.key,
        version: m.version,
        state: m.state,
      })),
      leases: [...this.leases.values()].filter((l) => l.held).map((l) => l.name),
    };
  }

  /** The members as last read (heartbeats refresh it); this instance always among them. */
  lastMembership(): Membership {
    return this.withSelf(this.membership);
  }

  /** The members, read from the store now; the last list seen when it cannot be read. */
  async members(): Promise<Membership> {
    try {
      const entries = await this.store.entries(INSTANCES);
      const instances = [...entries.values()]
        .map((value) => parseRecord(value))
        .filter((record): record is InstanceRecord => record !== undefined)
        .sort((a, b) => a.id.localeCompare(b.id));
      this.membership = { instances, fresh: true, asOf: new Date() };
    } catch {
      this.membership = { ...this.membership, fresh: false };
    }
    return this.lastMembership();
  }

  /** One heartbeat: leases renewed or taken, the record written, the members read. Never overlaps. */
  beat(): Promise<void> {
    this.beating ??= this.heartbeat().finally(() => (this.beating = undefined));
    return this.beating;
  }

  private async heartbeat(): Promise<void> {
    if (this.left) return;
    const draining = this.lifecycle.draining;
    // A draining instance hands its leases over instead of renewing them.
    await Promise.all(
      [...this.leases.values()].map((lease) => (draining ? lease.release() : lease.campaign())),
    );
    try {
      const record = this.selfRecord();
      await this.store.set(
        INSTANCES + this.instanceId,
        JSON.stringify(record),
        this.config.instanceTtlMs,
      );
    } catch {
      // The store says once that it is gone (and once that it is back); no log per beat.
    }
    await this.members();
  }

  /** The membership with this instance's current record in place of its stored one. */
  private withSelf(membership: Membership): Membership {
    const others = membership.instances.filter((i) => i.id !== this.instanceId);
    return {
      ...membership,
      instances: [...others, this.selfRecord()].sort((a, b) => a.id.localeCompare(b.id)),
    };
  }
}

function parseRecord(value: string): InstanceRecord | undefined {
  try {
    const record = JSON.parse(value) as InstanceRecord;
    return typeof record?.id === 'string' ? record : undefined;
  } catch {
    return undefined;
  }
}
