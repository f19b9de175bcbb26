import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClusterModule } from '../cluster/cluster.module';
import { EventsModule } from '../common/events/events.module';
import { LifecycleModule } from '../common/lifecycle/lifecycle.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { AirflowHealthIndicator } from './airflow.health';
import { ClusterHealthIndicator } from './cluster.health';
import { ApiHealthIndicator } from './api.health';
import { healthClientProviders } from './health-clients';
import { HealthController } from './health.controller';
import { DEPENDENCY_INDICATORS, DependencyIndicator } from './health.types';
import { InstanceStatusReporter } from './instance-status.reporter';
import { MlflowHealthIndicator } from './mlflow.health';
import { RedisHealthIndicator } from './redis.health';
import { RootController } from './root.controller';
import { TopologyCheckJob } from './topology-check.job';
import { TopologyService } from './topology.service';

@Module({
  // Terminus logs every failed check; the job logs state changes instead.
  imports: [
    TerminusModule.forRoot({ logger: false }),
    ModelsModule,
    MetricsModule,
    ClusterModule,
    EventsModule,
    LifecycleModule,
  ],
  controllers: [HealthController, RootController],
  providers: [
    ...healthClientProviders,
    MlflowHealthIndicator,
    AirflowHealthIndicator,
    RedisHealthIndicator,
    ClusterHealthIndicator,
    // The remote dependencies the background job checks, in display order:
    // in distributed mode, Redis and the peer instances too.
    {
      provide: DEPENDENCY_INDICATORS,
      inject: [
        clusterConfig.KEY,
        MlflowHealthIndicator,
        AirflowHealthIndicator,
        RedisHealthIndicator,
        ClusterHealthIndicator,
      ],
      useFactory: (
        cluster: ClusterConfig,
        mlflow: DependencyIndicator,
        airflow: DependencyIndicator,
        redis: DependencyIndicator,
        peers: DependencyIndicator,
      ) => (cluster.distributed ? [mlflow, airflow, redis, peers] : [mlflow, airflow]),
    },
    ApiHealthIndicator,
    InstanceStatusReporter,
    TopologyCheckJob,
    TopologyService,
  ],
  exports: [TopologyService, TopologyCheckJob, LifecycleModule],
})
export class HealthModule {}
