import { Module } from '@nestjs/common';
import { AirflowModule } from '../airflow/airflow.module';
import { CallbackTokenGuard } from '../auth/callback-token.guard';
import { MlflowWebhookGuard } from '../auth/mlflow-webhook.guard';
import { ClusterModule } from '../cluster/cluster.module';
import { ModelsModule } from '../models/models.module';
import { CallbackHandler } from './callback-handler.service';
import { HooksController } from './hooks.controller';
import { MlflowWebhookHandler } from './mlflow-webhook.service';
import { TrainingController } from './training.controller';
import { TrainingPolicy } from './training.policy';
import { TrainingService } from './training.service';

@Module({
  imports: [AirflowModule, ModelsModule, ClusterModule],
  controllers: [TrainingController, HooksController],
  providers: [
    TrainingService,
    TrainingPolicy,
    CallbackHandler,
    CallbackTokenGuard,
    MlflowWebhookHandler,
    MlflowWebhookGuard,
  ],
})
export class TrainingModule {}
