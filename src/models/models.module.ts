import { Module } from '@nestjs/common';
import { MlflowModule } from '../mlflow/mlflow.module';
import { ArtifactCache } from './artifact-cache.service';
import { ModelCatalog } from './model-catalog.service';
import { ModelLoader } from './model-loader.service';
import { ModelRefreshJob } from './model-refresh.job';
import { ModelRegistry } from './model-registry.service';
import { ModelResolver } from './model-resolver.service';

@Module({
  imports: [MlflowModule],
  providers: [
    ArtifactCache,
    ModelResolver,
    ModelLoader,
    ModelRegistry,
    ModelRefreshJob,
    ModelCatalog,
  ],
  exports: [ModelRegistry, ModelResolver, ModelLoader, ModelCatalog],
})
export class ModelsModule {}
