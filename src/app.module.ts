import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { AirflowModule } from './airflow/airflow.module';
import { AuthModule } from './auth/auth.module';
import { ClusterModule } from './cluster/cluster.module';
import { ClusterSyncModule } from './cluster/cluster-sync.module';
import { airflowConfig } from './config/airflow.config';
import { authConfig } from './config/auth.config';
import { clusterConfig } from './config/cluster.config';
import { assertValidEnvironment } from './config/env.validation';
import { ENVIRONMENT_CLASSES } from './config/environment';
import { grpcConfig } from './config/grpc.config';
import { healthConfig } from './config/health.config';
import { limitsConfig } from './config/limits.config';
import { loggingConfig } from './config/logging.config';
import { metricsConfig } from './config/metrics.config';
import { mlflowConfig } from './config/mlflow.config';
import { modelsConfig } from './config/models.config';
import { pyfuncConfig } from './config/pyfunc.config';
import { rolloutConfig } from './config/rollout.config';
import { rollbackConfig } from './config/rollback.config';
import { trainingConfig } from './config/training.config';
import { serverConfig } from './config/server.config';
import { shutdownConfig } from './config/shutdown.config';
import { upstreamConfig } from './config/upstream.config';
import { workersConfig } from './config/workers.config';
import { GrpcModule } from './grpc/grpc.module';
import { HealthModule } from './health/health.module';
import { InferenceModule } from './inference/inference.module';
import { MetricsModule } from './metrics/metrics.module';
import { MlflowModule } from './mlflow/mlflow.module';
import { RollbackModule } from './rollback/rollback.module';
import { StatusModule } from './status/status.module';
import { TrainingModule } from './training/training.module';
import { TracingLifecycle } from './common/tracing/tracing.lifecycle';

@Module({})
export class AppModule {
  /**
   * A function, not a static `imports` list: ConfigModule.forRoot reads and
   * validates the environment when called, and that must be when the app is
   * built (tests set the environment first), not when this file is imported.
   */
  static forRoot(): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          cache: true,
          // main.ts (loadEnvironment) has read the .env files into the process
          // environment, once; tests set the process environment themselves.
          ignoreEnvFile: true,
          load: [
            serverConfig,
            limitsConfig,
            upstreamConfig,
            mlflowConfig,
            airflowConfig,
            modelsConfig,
            rolloutConfig,
            pyfuncConfig,
            trainingConfig,
            healthConfig,
            shutdownConfig,
            loggingConfig,
            metricsConfig,
            clusterConfig,
            authConfig,
            grpcConfig,
            workersConfig,
            rollbackConfig,
          ],
          validate: (env: Record<string, unknown>) => {
            assertValidEnvironment(ENVIRONMENT_CLASSES, env as Record<string, string>);
            return env;
          },
        }),
        ScheduleModule.forRoot(),
        EventEmitterModule.forRoot(),
        ClusterModule,
        AuthModule,
        MlflowModule,
        AirflowModule,
        MetricsModule,
        HealthModule,
        StatusModule,
        InferenceModule,
        TrainingModule,
        GrpcModule,
        ClusterSyncModule,
        RollbackModule,
      ],
      providers: [TracingLifecycle],
    };
  }
}
