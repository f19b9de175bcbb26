import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { AirflowHealthIndicator } from './airflow.health';
import { ApiHealthIndicator } from './api.health';
import { healthClientProviders } from './health-clients';
import { HealthController } from './health.controller';
import { DEPENDENCY_INDICATORS, DependencyIndicator } from './health.types';
import { LifecycleState } from './lifecycle.state';
import { MlflowHealthIndicator } from './mlflow.health';
import { RootController } from './root.controller';
import { TopologyCheckJob } from './topology-check.job';
import { TopologyService } from './topology.service';

@Module({
  // Terminus logs every failed check; the job logs state changes instead.
  imports: [TerminusModule.forRoot({ logger: false }), ModelsModule, MetricsModule],
  controllers: [HealthController, RootController],
  providers: [
    ...healthClientProviders,
    MlflowHealthIndicator,
    AirflowHealthIndicator,
    // The remote dependencies the background job checks, in display order.
    // Distributed mode adds RedisHealthIndicator (redis.health.ts) here.
    {
      provide: DEPENDENCY_INDICATORS,
      inject: [MlflowHealthIndicator, AirflowHealthIndicator],
      useFactory: (...indicators: DependencyIndicator[]) => indicators,
    },
    ApiHealthIndicator,
    LifecycleState,
    TopologyCheckJob,
    TopologyService,
  ],
  exports: [TopologyService, TopologyCheckJob, LifecycleState],
})
export class HealthModule {}
