import { INestApplication } from '@nestjs/common';
import { GrpcListener, GrpcServer } from './grpc.server';

/** Starts the gRPC listener of a listening app (main.ts, test/support/app.ts). */
export function startGrpc(app: INestApplication): Promise<GrpcListener | undefined> {
  return app.get(GrpcServer).start();
}
