import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { ClusterController } from './cluster.controller';
import { ClusterModule } from './cluster.module';
import { ModelRefreshJob } from './model-refresh.job';
import { ReloadBroadcast } from './reload-broadcast.service';

/**
 * What ties the cluster to the models: the reload broadcast, the refresh job
 * (polling led by the cluster's lease) and `GET /v1/cluster`. Depends on
 * models/; models/ never depends on it.
 */
@Module({
  imports: [ClusterModule, ModelsModule],
  controllers: [ClusterController],
  providers: [ReloadBroadcast, ModelRefreshJob],
})
export class ClusterSyncModule {}
