import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { HealthImplementation, ServingStatus } from 'grpc-health-check';
import type { Server } from '@grpc/grpc-js';
import { ModelReadiness } from '../models/model-readiness.service';

/** The whole server ('') and the inference service: what balancers ask by name. */
export const HEALTH_SERVICES = ['', 'inference.GRPCInferenceService'] as const;

/** Readiness can change without an event (a model finishes loading): it is read this often. */
const SYNC_MS = 1000;

/**
 * grpc.health.v1.Health as readiness says (ModelReadiness, the owner REST's
 * probes ask too): SERVING when every model of MODELS is loaded and the
 * instance is not draining, NOT_SERVING otherwise. Watchers hear of changes.
 */
@Injectable()
export class GrpcHealth implements OnModuleDestroy {
  private readonly health = new HealthImplementation();
  private current?: ServingStatus;
  private timer?: NodeJS.Timeout;

  constructor(private readonly readiness: ModelReadiness) {}

  /** Adds the service to `server` and keeps its status in step with readiness. */
  serveOn(server: Server): void {
    // Check reads readiness first: a model that loaded a moment ago is SERVING
    // now, not at the next tick (watchers hear of it at the tick).
    this.health.addToServer({
      addService: (definition, implementation) =>
        server.addService(definition, {
          ...implementation,
          check: (call: unknown, callback: unknown) => {
            this.sync();
            (implementation.check as (call: unknown, callback: unknown) => void)(call, callback);
          },
        }),
    });
    this.sync();
    this.timer ??= setInterval(() => this.sync(), SYNC_MS);
    this.timer.unref();
  }

  /** Reads readiness now (draining has begun, say) rather than at the next tick. */
  sync(): void {
    const status: ServingStatus = this.readiness.ready() ? 'SERVING' : 'NOT_SERVING';
    if (status === this.current) return;
    this.current = status;
    for (const service of HEALTH_SERVICES) this.health.setStatus(service, status);
  }

  get status(): ServingStatus | undefined {
    return this.current;
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
}
