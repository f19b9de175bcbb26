import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { ScheduleModule } from '@nestjs/schedule';
import { AirflowModule } from './airflow/airflow.module';
import { airflowConfig } from './config/airflow.config';
import { assertValidEnvironment } from './config/env.validation';
import { ENV_FILES, ENVIRONMENT_CLASSES } from './config/environment';
import { mlflowConfig } from './config/mlflow.config';
import { modelsConfig } from './config/models.config';
import { trainingConfig } from './config/training.config';
import { serverConfig } from './config/server.config';
import { upstreamConfig } from './config/upstream.config';
import { HealthModule } from './health/health.module';
import { InferenceModule } from './inference/inference.module';
import { MlflowModule } from './mlflow/mlflow.module';
import { TrainingModule } from './training/training.module';

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
          envFilePath: ENV_FILES,
          load: [
            serverConfig,
            upstreamConfig,
            mlflowConfig,
            airflowConfig,
            modelsConfig,
            trainingConfig,
          ],
          validate: (env: Record<string, unknown>) => {
            assertValidEnvironment(ENVIRONMENT_CLASSES, env as Record<string, string>);
            return env;
          },
        }),
        ScheduleModule.forRoot(),
        MlflowModule,
        AirflowModule,
        HealthModule,
        InferenceModule,
        TrainingModule,
      ],
    };
  }
}
