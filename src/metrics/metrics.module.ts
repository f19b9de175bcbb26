import { Module } from '@nestjs/common';
import { PrimaryLinkModule } from '../cluster/primary-link.module';
import { ModelsModule } from '../models/models.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { ModelMetricsObserver } from './model-metrics.observer';
import { RolloutMetricsObserver } from './rollout-metrics.observer';

@Module({
  imports: [ModelsModule, PrimaryLinkModule],
  controllers: [MetricsController],
  providers: [
    MetricsService,
    ModelMetricsObserver,
    // Per-version and rollout metrics (issue 13 part 2).
    RolloutMetricsObserver,
  ],
  exports: [MetricsService],
})
export class MetricsModule {}
