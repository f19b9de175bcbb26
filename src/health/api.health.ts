import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { SERVICE_VERSION } from '../common/version';
import { ModelRegistry } from '../models/model-registry.service';
import { CheckFailure, DependencyReport } from './health.types';
import { LifecycleState } from './lifecycle.state';

/**
 * This API server itself: ready when every model of MODELS has a version
 * serving and the instance is not draining. Read live on each probe (it is
 * memory, not a call), so SIGTERM turns readiness 503 at once.
 */
@Injectable()
export class ApiHealthIndicator {
  readonly name = 'api';
  private readonly startedAt = new Date();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly lifecycle: LifecycleState,
    private readonly health: HealthIndicatorService,
  ) {}

  check(): HealthIndicatorResult {
    const report = this.report();
    const indicator = this.health.check(this.name);
    const data = { ...report.details, failure: report.failure };
    return report.status === 'up' ? indicator.up(report.details) : indicator.down(data);
  }

  report(): DependencyReport {
    const bindings = this.registry.list();
    const models = bindings.map((b) => ({
      reference: b.key,
      pinned: b.pinned,
      state: b.state,
      version: b.model?.version,
      error: b.model ? undefined : b.lastError?.message,
    }));
    const failure = this.failure();
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
      },
      failure,
    };
  }

  private failure(): CheckFailure | undefined {
    if (this.lifecycle.draining) {
      return {
        kind: 'draining',
        message: `shutting down since ${this.lifecycle.drainingSinceAt?.toISOString()}`,
        hint: 'This instance received SIGTERM: load balancers should stop sending it requests; the ones it accepted are finishing',
      };
    }
    if (this.registry.pinnedReady) return undefined;
    const waiting = this.registry.list().filter((b) => b.pinned && !b.model);
    const failed = waiting.filter((b) => b.state === 'failed');
    if (failed.length > 0) {
      return {
        kind: 'model_load_failed',
        message: failed.map((b) => `${b.key}: ${b.lastError?.message ?? 'failed'}`).join('; '),
        hint:
          'A model of MODELS could not be loaded; the refresh job tries again, or POST /v1/models/{name}/reload. ' +
          'Fix the registered version (an ONNX-flavor model) or MODELS',
      };
    }
    return {
      kind: 'models_not_ready',
      message: `loading ${waiting.map((b) => b.key).join(', ')}`,
      hint: 'The models of MODELS are still downloading, loading or warming up',
    };
  }
}
