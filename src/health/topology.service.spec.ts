import { Logger } from '@nestjs/common';
import { HealthIndicatorFunction, HealthIndicatorService } from '@nestjs/terminus';
import { HealthConfig } from '../config/health.config';
import { MetricsService } from '../metrics/metrics.service';
import { ModelReadiness } from '../models/model-readiness.service';
import { ModelRegistry } from '../models/model-registry.service';
import { ModelView } from '../models/model-view';
import { ApiHealthIndicator } from './api.health';
import { DependencyReport } from './health.types';
import { LifecycleState } from './lifecycle.state';
import { TopologyCheckJob } from './topology-check.job';
import { TopologyService } from './topology.service';

type RegistryView = Pick<
  ModelRegistry,
  'list' | 'pinnedReady' | 'loadedBytes' | 'answering' | 'assertServable'
>;

/** The registry as readiness reads it: bindings and whether MODELS serve. */
class FakeRegistry implements RegistryView {
  bindings: ModelView[] = [];
  list(): readonly ModelView[] {
    return this.bindings;
  }
  get pinnedReady(): boolean {
    return this.bindings.every((b) => !b.pinned || b.version !== undefined);
  }
  loadedBytes(): number {
    return 0;
  }
  answering(): ModelView | undefined {
    return this.bindings[0];
  }
  assertServable(): void {}
}

/** The job's last results, as the test sets them. */
class FakeJob implements Pick<TopologyCheckJob, 'reports'> {
  last: DependencyReport[] = [report('mlflow', 'up'), report('airflow', 'up')];
  reports(): DependencyReport[] {
    return this.last;
  }
}

function report(name: string, status: 'up' | 'down'): DependencyReport {
  return {
    name,
    displayName: name,
    target: `http://${name}:1`,
    status,
    consecutiveFailures: status === 'up' ? 0 : 1,
    details: {},
    failure:
      status === 'down'
        ? { kind: 'connection_refused', hint: 'start it', message: 'refused' }
        : undefined,
  };
}

function binding(state: ModelView['state'], loaded: boolean): ModelView {
  return {
    ref: { name: 'iris', selector: { kind: 'alias', alias: 'champion' } },
    key: 'iris@champion',
    name: 'iris',
    pinned: true,
    challenger: false,
    state,
    version: loaded ? '3' : undefined,
    lastError: state === 'failed' ? { message: 'bad onnx', at: new Date() } : undefined,
  };
}

async function statusOf(checks: HealthIndicatorFunction[]) {
  const results = [];
  for (const check of checks) results.push(await check());
  return Object.assign({}, ...results) as Record<
    string,
    { status: string; failure?: { kind: string } }
  >;
}

describe('TopologyService', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  let registry: FakeRegistry;
  let job: FakeJob;
  let lifecycle: LifecycleState;

  function sut(requires: HealthConfig['readinessRequires'] = { mlflow: false, airflow: false }) {
    const terminus = new HealthIndicatorService();
    const readiness = new ModelReadiness(registry, lifecycle);
    const api = new ApiHealthIndicator(
      readiness,
      registry as unknown as ModelRegistry,
      lifecycle,
      terminus,
      { enabled: false, host: '0.0.0.0', port: 8001 },
    );
    return new TopologyService(
      job as unknown as TopologyCheckJob,
      api,
      lifecycle,
      terminus,
      { intervalMs: 15_000, timeoutMs: 5_000, readinessRequires: requires },
      new MetricsService({ enabled: false }),
      { enabled: true },
    );
  }

  beforeEach(() => {
    registry = new FakeRegistry();
    registry.bindings = [binding('ready', true)];
    job = new FakeJob();
    lifecycle = new LifecycleState();
  });

  it('is ready when MODELS serve, whatever MLflow and Airflow say by default', async () => {
    job.last = [report('mlflow', 'down'), report('airflow', 'down')];
    const service = sut();

    expect(service.isReady()).toBe(true);
    expect(await statusOf(service.readinessChecks())).toEqual({
      api: expect.objectContaining({ status: 'up' }),
    });
    expect(service.summary()).toMatchObject({ status: 'degraded', ready: true });
  });

  it('is not ready while a model of MODELS is loading, then when it failed', async () => {
    registry.bindings = [binding('loading', false)];
    expect((await statusOf(sut().readinessChecks())).api.failure?.kind).toBe('models_not_ready');
    expect(sut().summary().status).toBe('starting');

    registry.bindings = [binding('failed', false)];
    expect((await statusOf(sut().readinessChecks())).api.failure?.kind).toBe('model_load_failed');
    expect(sut().summary().status).toBe('unavailable');
  });

  it('turns not ready at once when draining', async () => {
    const service = sut();
    lifecycle.startDraining('SIGTERM received');

    expect(service.isReady()).toBe(false);
    expect((await statusOf(service.readinessChecks())).api.failure?.kind).toBe('draining');
    expect(service.summary().status).toBe('draining');
  });

  it('gates readiness on MLflow when READINESS_REQUIRES_MLFLOW is on', async () => {
    job.last = [report('mlflow', 'down'), report('airflow', 'down')];
    const service = sut({ mlflow: true, airflow: false });

    const results = await statusOf(service.readinessChecks());

    expect(service.isReady()).toBe(false);
    expect(Object.keys(results)).toEqual(['api', 'mlflow']);
    expect(results.mlflow.status).toBe('down');
    expect(service.summary().status).toBe('unavailable');
  });

  it('reports the whole topology with each dependency’s failure', async () => {
    job.last = [report('mlflow', 'up'), report('airflow', 'down')];

    const results = await statusOf(sut().topologyChecks());

    expect(Object.keys(results)).toEqual(['api', 'mlflow', 'airflow']);
    expect(results.airflow).toMatchObject({
      status: 'down',
      failure: { kind: 'connection_refused' },
    });
    expect(sut().summary()).toMatchObject({
      status: 'degraded',
      topology: {
        airflow: { status: 'down', failure: { kind: 'connection_refused', hint: 'start it' } },
      },
    });
  });

  it('shows the gRPC listener as it last told, and off when it is disabled', () => {
    const terminus = new HealthIndicatorService();
    const readiness = new ModelReadiness(registry, lifecycle);
    const make = (enabled: boolean) =>
      new ApiHealthIndicator(readiness, registry as unknown as ModelRegistry, lifecycle, terminus, {
        enabled,
        host: '0.0.0.0',
        port: 8001,
      });
    const on = make(true);
    const starting = on.report().details.grpc;
    on.listenerChanged({
      protocol: 'grpc',
      state: 'listening',
      host: '0.0.0.0',
      port: 8001,
      tls: 'on',
    });
    const listening = on.report().details.grpc;
    on.listenerChanged({
      protocol: 'grpc',
      state: 'draining',
      host: '0.0.0.0',
      port: 8001,
      tls: 'on',
    });

    expect(starting).toEqual({ state: 'starting', host: '0.0.0.0', port: 8001 });
    expect(listening).toEqual({ state: 'listening', host: '0.0.0.0', port: 8001, tls: 'on' });
    expect(on.report().details.grpc).toMatchObject({ state: 'draining' });
    expect(make(false).report().details.grpc).toBe('off');
  });

  it('says ok when everything is up', () => {
    expect(sut().summary().status).toBe('ok');
  });
});
