import { Module } from '@nestjs/common';
import { ModelsModule } from '../models/models.module';
import { ClusterController } from './cluster.controller';
import { ReloadBroadcast } from './reload-broadcast.service';

/** What ties the cluster to the models: the reload broadcast and `GET /v1/cluster`. */
@Module({
  imports: [ModelsModule],
  controllers: [ClusterController],
  providers: [ReloadBroadcast],
})
export class ClusterSyncModule {}
