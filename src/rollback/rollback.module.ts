import { Module } from '@nestjs/common';
import { EventsModule } from '../common/events/events.module';
import { ClusterModule } from '../cluster/cluster.module';
import { MlflowModule } from '../mlflow/mlflow.module';
import { ModelsModule } from '../models/models.module';
import { RollbackActions } from './rollback-actions';
import { RollbackService } from './rollback.service';
import { RolloutWatch } from './rollout-watch.service';

/**
 * Automatic rollback after a bad promotion (issue 13 part 3): the watch, the
 * rollback and the vetoes. Above models/, mlflow/ and cluster/; hears of
 * swaps and predictions through events; nothing but the root imports it.
 */
@Module({
  imports: [EventsModule, MlflowModule, ModelsModule, ClusterModule],
  providers: [RollbackActions, RollbackService, RolloutWatch],
})
export class RollbackModule {}
