import { Module } from '@nestjs/common';
import { EventsModule } from '../common/events/events.module';
import { ModelsModule } from '../models/models.module';
import { Admission } from './admission';
import { InferenceService } from './inference.service';
import { MlflowScoringController } from './mlflow-scoring.controller';
import { ModelsController } from './models.controller';
import { OpenInferenceController } from './open-inference.controller';

@Module({
  imports: [ModelsModule, EventsModule],
  controllers: [MlflowScoringController, OpenInferenceController, ModelsController],
  providers: [InferenceService, Admission],
  // The gRPC adapter (src/grpc/) serves the same inference.
  exports: [InferenceService],
})
export class InferenceModule {}
