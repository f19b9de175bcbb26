import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { AirflowModule } from './airflow/airflow.module';
import { airflowConfig } from './config/airflow.config';
import { assertValidEnvironment } from './config/env.validation';
import { ENV_FILES, ENVIRONMENT_CLASSES } from './config/environment';
import { mlflowConfig } from './config/mlflow.config';
import { serverConfig } from './config/server.config';
import { upstreamConfig } from './config/upstream.config';
import { HealthModule } from './health/health.module';
import { MlflowModule } from './mlflow/mlflow.module';

@Module({
  imports: [
    ConfigModule.forRoot({
      isGlobal: true,
      cache: true,
      envFilePath: ENV_FILES,
      load: [serverConfig, upstreamConfig, mlflowConfig, airflowConfig],
      validate: (env: Record<string, unknown>) => {
        assertValidEnvironment(ENVIRONMENT_CLASSES, env as Record<string, string>);
        return env;
      },
    }),
    ScheduleModule.forRoot(),
    MlflowModule,
    AirflowModule,
    HealthModule,
  ],
})
export class AppModule {}
