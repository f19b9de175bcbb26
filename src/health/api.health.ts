import { Inject, Injectable } from '@nestjs/common';
import { OnAppEvent } from '../common/events/event-bus';
import { ListenerChangedEvent } from '../common/events/event-map';
import { GrpcConfig, grpcConfig } from '../config/grpc.config';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { LifecycleState } from '../common/lifecycle/lifecycle.state';
import { SERVICE_VERSION } from '../common/version';
import { ModelReadiness, ServingReadiness } from '../models/model-readiness.service';
import { ModelRegistry } from '../models/model-registry.service';
import { CheckFailure, DependencyReport } from './health.types';

/**
 * This API server itself, as ModelReadiness answers it: ready when every
 * model of MODELS has a version serving and the instance is not draining.
 * Read live on each probe (it is memory, not a call), so SIGTERM turns
 * readiness 503 at once.
 */
@Injectable()
export class ApiHealthIndicator {
  readonly name = 'api';
  private readonly startedAt = new Date();

  constructor(
    private readonly readiness: ModelReadiness,
    private readonly registry: ModelRegistry,
    private readonly lifecycle: LifecycleState,
    private readonly health: HealthIndicatorService,
    @Inject(grpcConfig.KEY) private readonly grpc: Pick<GrpcConfig, 'enabled' | 'host' | 'port'>,
  ) {}

  /** The gRPC listener as it last told (the HTTP one is this process: it answers the probe). */
  private grpcListener?: Omit<ListenerChangedEvent, 'protocol'>;

  @OnAppEvent('listener.changed')
  listenerChanged({ protocol: _protocol, ...listener }: ListenerChangedEvent): void {
    this.grpcListener = listener;
  }

  check(): HealthIndicatorResult {
    const report = this.report();
    const indicator = this.health.check(this.name);
    const data = { ...report.details, failure: report.failure };
    return report.status === 'up' ? indicator.up(report.details) : indicator.down(data);
  }

  report(): DependencyReport {
    const models = this.registry.list().map((m) => ({
      reference: m.key,
      pinned: m.pinned,
      state: m.state,
      version: m.version,
      error: m.version === undefined ? m.lastError?.message : undefined,
    }));
    const failure = failureOf(this.readiness.report());
    return {
      name: this.name,
      displayName: 'API server',
      target: 'this process',
      status: failure ? 'down' : 'up',
      checkedAt: new Date().toISOString(),
      consecutiveFailures: 0,
      details: {
        version: SERVICE_VERSION,
        uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
        draining: this.lifecycle.draining,
        inFlightRequests: this.lifecycle.inFlightRequests,
        models,
        loadedBytes: this.registry.loadedBytes(),
        grpc: this.grpcDetails(),
      },
      failure,
    };
  }

  /**
   * `off` (API_GRPC_ENABLED=false), `starting` until it has bound, then where
   * it listens and its state: an operator sees a gRPC port that is not open
   * without a gRPC client at hand.
   */
  private grpcDetails(): Record<string, unknown> | 'off' {
    if (!this.grpc.enabled) return 'off';
    return this.grpcListener ?? { state: 'starting', host: this.grpc.host, port: this.grpc.port };
  }
}

/** Why readiness says no, worded for an operator. */
function failureOf(readiness: ServingReadiness): CheckFailure | undefined {
  if (readiness.draining) {
    return {
      kind: 'draining',
      message: `shutting down since ${readiness.draining.since.toISOString()}`,
      hint: 'This instance received SIGTERM: load balancers should stop sending it requests; the ones it accepted are finishing',
    };
  }
  if (readiness.ready) return undefined;
  if (readiness.failed.length > 0) {
    return {
      kind: 'model_load_failed',
      message: readiness.failed
        .map((m) => `${m.key}: ${m.lastError?.message ?? 'failed'}`)
        .join('; '),
      hint:
        'A model of MODELS could not be loaded; the refresh job tries again, or POST /v1/models/{name}/reload. ' +
        'Fix the registered version (an ONNX-flavor model) or MODELS',
    };
  }
  return {
    kind: 'models_not_ready',
    message: `loading ${readiness.loading.map((m) => m.key).join(', ')}`,
    hint: 'The models of MODELS are still downloading, loading or warming up',
  };
}
