import { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { UpstreamTransientError } from '../common/upstream/upstream.error';
import { HealthConfig } from '../config/health.config';
import { MetricsService } from '../metrics/metrics.service';
import { DependencyIndicator } from './health.types';
import { TopologyCheckJob } from './topology-check.job';

/** An indicator whose next answers the test decides. */
class FakeIndicator implements DependencyIndicator {
  readonly displayName: string;
  readonly target = 'http://dep.internal:5000';
  calls = 0;
  next: () => Promise<HealthIndicatorResult> = () => this.up();
  private readonly terminus = new HealthIndicatorService();

  constructor(readonly name: string) {
    this.displayName = name.toUpperCase();
  }

  check(): Promise<HealthIndicatorResult> {
    this.calls++;
    return this.next();
  }

  up(details: Record<string, unknown> = { version: '1' }): Promise<HealthIndicatorResult> {
    return Promise.resolve(this.terminus.check(this.name).up(details));
  }
}

function metricsOff(): MetricsService {
  return new MetricsService({ enabled: false });
}

const config: HealthConfig = {
  intervalMs: 60_000,
  timeoutMs: 50,
  readinessRequires: { mlflow: false, airflow: false },
};

describe('TopologyCheckJob', () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  let mlflow: FakeIndicator;
  let airflow: FakeIndicator;
  let scheduler: SchedulerRegistry;
  let sut: TopologyCheckJob;

  beforeEach(() => {
    mlflow = new FakeIndicator('mlflow');
    airflow = new FakeIndicator('airflow');
    scheduler = new SchedulerRegistry();
    sut = new TopologyCheckJob([mlflow, airflow], scheduler, config, metricsOff());
  });

  afterEach(() => sut.onModuleDestroy());

  it('reports every dependency as not checked yet before the first pass', () => {
    expect(sut.reports().map((r) => [r.name, r.status, r.failure?.kind])).toEqual([
      ['mlflow', 'down', 'not_checked_yet'],
      ['airflow', 'down', 'not_checked_yet'],
    ]);
  });

  it('keeps status, latency, details and last success of a passing check', async () => {
    await sut.run();

    const report = sut.report('mlflow')!;
    expect(report).toMatchObject({
      status: 'up',
      details: { version: '1' },
      consecutiveFailures: 0,
    });
    expect(report.latencyMs).toEqual(expect.any(Number));
    expect(report.lastSuccess).toBe(report.checkedAt);
    expect(report.failure).toBeUndefined();
  });

  it('classifies a thrown error and keeps the last success through failures', async () => {
    await sut.run();
    const lastSuccess = sut.report('airflow')!.lastSuccess;
    airflow.next = () =>
      Promise.reject(new UpstreamTransientError('airflow', 'connection_refused', 'refused'));

    await sut.run();
    await sut.run();

    const report = sut.report('airflow')!;
    expect(report.status).toBe('down');
    expect(report.failure?.kind).toBe('connection_refused');
    expect(report.failure?.hint).toContain('AIRFLOW_BASE_URL');
    expect(report.lastSuccess).toBe(lastSuccess);
    expect(report.consecutiveFailures).toBe(2);
    expect(sut.report('mlflow')!.status).toBe('up');
  });

  it('reports a check that never settles as a timeout, without waiting for it', async () => {
    mlflow.next = () => new Promise(() => undefined);

    await sut.run();

    expect(sut.report('mlflow')!.failure?.kind).toBe('timeout');
    expect(sut.report('airflow')!.status).toBe('up');
  });

  it('takes the failure an indicator reports with its down result', async () => {
    const terminus = new HealthIndicatorService();
    mlflow.next = () =>
      Promise.resolve(
        terminus.check('mlflow').down({
          health: 'OK',
          failure: { kind: 'rejected_host', hint: 'allow the host', message: '403' },
        }),
      );

    await sut.run();

    const report = sut.report('mlflow')!;
    expect(report.details).toEqual({ health: 'OK' });
    expect(report.failure).toEqual({
      kind: 'rejected_host',
      hint: 'allow the host',
      message: '403',
    });
  });

  it('joins a pass already running instead of starting another', async () => {
    await Promise.all([sut.run(), sut.run(), sut.run()]);

    expect(mlflow.calls).toBe(1);
  });

  it('checks at start and schedules the next checks', async () => {
    sut.onApplicationBootstrap();
    await sut.run();

    expect(mlflow.calls).toBe(1);
    expect(scheduler.doesExist('interval', TopologyCheckJob.jobName)).toBe(true);
  });
});
