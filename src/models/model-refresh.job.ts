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
import { ModelRegistry } from './model-registry.service';

/**
 * Polls the registry every MODEL_REFRESH_INTERVAL seconds so moved aliases
 * reach this server without a restart. A run never overlaps the previous one,
 * and one model's failure never stops the others (the registry reports it).
 */
@Injectable()
export class ModelRefreshJob implements OnApplicationBootstrap, OnModuleDestroy {
  static readonly jobName = 'model-refresh';
  private readonly logger = new Logger(ModelRefreshJob.name);
  private running?: Promise<void>;

  constructor(
    private readonly registry: ModelRegistry,
    private readonly scheduler: SchedulerRegistry,
    @Inject(modelsConfig.KEY) private readonly config: ModelsConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.refreshIntervalMs <= 0) {
      this.logger.log('model refresh job is off (MODEL_REFRESH_INTERVAL=0)');
      return;
    }
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

  /** One pass over every served reference; skipped while the previous pass runs. */
  run(): Promise<void> {
    this.running ??= this.registry
      .reloadAll('refresh job')
      .then((outcomes) => {
        const swapped = outcomes.filter((o) => o.status === 'swapped');
        if (swapped.length > 0)
          this.logger.log(`refresh: ${swapped.map((o) => `${o.reference} → v${o.to}`).join(', ')}`);
      })
      .catch((error: unknown) => this.logger.error(`refresh failed: ${String(error)}`))
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
