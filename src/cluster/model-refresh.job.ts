import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { startNamedInterval, stopNamedInterval } from '../common/scheduling/named-interval';
import { ModelsConfig, modelsConfig } from '../config/models.config';
import { ClusterService } from './cluster.service';
import { POLLING_LEASE, leaderOf } from './cluster.types';
import { Lease } from './lease';
import { ModelRegistry } from '../models/model-registry.service';

/**
 * Polls the registry every MODEL_REFRESH_INTERVAL seconds so moved aliases
 * reach this server without a restart. A run never overlaps the previous one,
 * and one model's failure never stops the others (the registry reports it).
 *
 * In a cluster only the holder of the `model-refresh` lease polls; what it
 * finds reaches the others through the reload broadcast. The others poll only
 * references the leader does not serve. While the state store is unreachable
 * no one can lead, and every instance polls for itself.
 */
@Injectable()
export class ModelRefreshJob implements OnApplicationBootstrap, OnModuleDestroy {
  static readonly jobName = 'model-refresh';
  private readonly logger = new Logger(ModelRefreshJob.name);
  private running?: Promise<void>;
  private lease?: Lease;

  constructor(
    private readonly registry: ModelRegistry,
    private readonly scheduler: SchedulerRegistry,
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
    private readonly cluster: ClusterService,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.refreshIntervalMs <= 0) {
      this.logger.log('model refresh job is off (MODEL_REFRESH_INTERVAL=0)');
      return;
    }
    this.lease = this.cluster.lease(POLLING_LEASE);
    startNamedInterval(
      this.scheduler,
      ModelRefreshJob.jobName,
      this.config.refreshIntervalMs,
      () => void this.run(),
    );
  }

  onModuleDestroy(): void {
    stopNamedInterval(this.scheduler, ModelRefreshJob.jobName);
  }

  /** One pass over the references this instance polls; skipped while the previous pass runs. */
  run(): Promise<void> {
    this.running ??= this.registry
      .reloadAll('refresh job', this.polledHere())
      .then((outcomes) => {
        const swapped = outcomes.filter((o) => o.status === 'swapped');
        if (swapped.length > 0)
          this.logger.log(`refresh: ${swapped.map((o) => `${o.reference} → v${o.to}`).join(', ')}`);
      })
      .catch((error: unknown) => this.logger.error(`refresh failed: ${String(error)}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }

  /** Everything when leading (or alone); otherwise what the leader's heartbeat does not list. */
  private polledHere(): ((reference: string) => boolean) | undefined {
    if (!this.lease || this.lease.shouldAct()) return undefined;
    const members = this.cluster.lastMembership().instances;
    const leader = leaderOf(members);
    if (!leader) return () => false; // between leaders: the next one polls within a heartbeat
    const led = new Set(leader.models.map((m) => m.reference));
    return (reference) => !led.has(reference);
  }
}
