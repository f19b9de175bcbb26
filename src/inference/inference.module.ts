import { Module } from '@nestjs/common';
import { EventsModule } from '../common/events/events.module';
import { ModelsModule } from '../models/models.module';
import { Admission } from './admission';
import { Batcher } from './batching/batcher.service';
import { InferenceService } from './inference.service';
import { MlflowScoringController } from './mlflow-scoring.controller';
import { ModelRepository } from './model-repository.service';
import { ModelsController } from './models.controller';
import { OpenInferenceController } from './open-inference.controller';
import { PredictionRoutes } from './prediction.routes';
import { RepositoryController } from './repository.controller';
import { ShadowCopies } from './shadow-copies';

@Module({
  imports: [ModelsModule, EventsModule],
  controllers: [
    MlflowScoringController,
    OpenInferenceController,
    RepositoryController,
    ModelsController,
  ],
  providers: [
    InferenceService,
    Admission,
    Batcher,
    ModelRepository,
    PredictionRoutes,
    // Rollouts (issue 13 part 2): the challenger's copies in shadow mode.
    ShadowCopies,
  ],
  // The gRPC adapter (src/grpc/) serves the same inference and repository.
  exports: [InferenceService, ModelRepository, PredictionRoutes],
})
export class InferenceModule {}
