import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ClusterModule } from '../cluster/cluster.module';
import { EventsModule } from '../common/events/events.module';
import { LifecycleModule } from '../common/lifecycle/lifecycle.module';
import { InferenceModule } from '../inference/inference.module';
import { MetricsModule } from '../metrics/metrics.module';
import { ModelsModule } from '../models/models.module';
import { GrpcCallPipeline } from './grpc-call.pipeline';
import { GrpcHealth } from './grpc-health';
import { GrpcServer } from './grpc.server';
import { OpenInferenceGrpcService } from './open-inference.grpc-service';

/**
 * Open Inference over gRPC. The server binds when main.ts (or the test
 * harness) calls startGrpc once the HTTP server listens, not at module init:
 * a process that fails to start serving HTTP never opens the gRPC port.
 */
@Module({
  imports: [
    InferenceModule,
    ModelsModule,
    AuthModule,
    ClusterModule,
    MetricsModule,
    LifecycleModule,
    EventsModule,
  ],
  providers: [GrpcCallPipeline, GrpcHealth, OpenInferenceGrpcService, GrpcServer],
  exports: [GrpcServer],
})
export class GrpcModule {}
