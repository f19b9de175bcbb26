import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EventBus, OnAppEvent } from '../common/events/event-bus';
import { startNamedInterval, stopNamedInterval } from '../common/scheduling/named-interval';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { ServiceStatus, TopologyService } from './topology.service';

/**
 * Tells the other modules (the cluster's heartbeat) how this instance is,
 * when it may have changed: a model loaded, failed, swapped or was evicted,
 * and once a heartbeat interval for the dependencies' checks. Emitted only
 * on a change. The cluster sits below health, so it hears this as an event
 * instead of calling up into health.
 */
@Injectable()
export class InstanceStatusReporter implements OnApplicationBootstrap, OnModuleDestroy {
  static readonly jobName = 'instance-status';
  private last?: ServiceStatus;

  constructor(
    private readonly topology: TopologyService,
    private readonly events: EventBus,
    private readonly scheduler: SchedulerRegistry,
    @Inject(clusterConfig.KEY) private readonly config: Pick<ClusterConfig, 'heartbeatMs'>,
  ) {}

  onApplicationBootstrap(): void {
    void this.events.whenListening().then(() => this.report());
    startNamedInterval(
      this.scheduler,
      InstanceStatusReporter.jobName,
      this.config.heartbeatMs,
      () => this.report(),
    );
  }

  onModuleDestroy(): void {
    stopNamedInterval(this.scheduler, InstanceStatusReporter.jobName);
  }

  @OnAppEvent('model.loaded')
  @OnAppEvent('model.failed')
  @OnAppEvent('model.swapped')
  @OnAppEvent('model.evicted')
  modelChanged(): void {
    // Told while the registry is mid-change (a load is told before its binding serves it).
    setImmediate(() => this.report());
  }

  private report(): void {
    const status = this.topology.summary().status;
    if (status === this.last) return;
    this.last = status;
    this.events.emit('instance.status', { status });
  }
}
