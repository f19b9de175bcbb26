import { Logger } from '@nestjs/common';
import { UpstreamTransientError } from '../common/upstream/upstream.error';
import { MlflowClient } from '../mlflow/mlflow.client';
import { MetricPoint, ModelVersion } from '../mlflow/mlflow.types';
import { RollbackActions } from './rollback-actions';
import { RollbackRequest } from './rollback-request';

type Writes = Pick<
  MlflowClient,
  'setAlias' | 'setModelVersionTag' | 'getModelVersion' | 'logMetrics'
>;

/** MLflow's registry writes, recorded; `failing` names calls that answer 503. */
class FakeMlflow implements Writes {
  readonly aliases: [string, string, string][] = [];
  readonly tags: [string, string, string, string][] = [];
  readonly metrics: [string, MetricPoint[]][] = [];
  readonly failing = new Set<string>();

  setAlias(name: string, alias: string, version: string | number): Promise<void> {
    this.aliases.push([name, alias, String(version)]);
    return Promise.resolve();
  }

  setModelVersionTag(
    name: string,
    version: string | number,
    key: string,
    value: string,
  ): Promise<void> {
    if (this.failing.has(`tag ${version}`)) return Promise.reject(unavailable());
    this.tags.push([name, String(version), key, value]);
    return Promise.resolve();
  }

  getModelVersion(name: string, version: string | number): Promise<ModelVersion> {
    return Promise.resolve({
      name,
      version: String(version),
      stage: 'None',
      status: 'READY',
      runId: `run-${version}`,
      aliases: [],
      tags: {},
    });
  }

  logMetrics(runId: string, points: readonly MetricPoint[]): Promise<void> {
    if (this.failing.has('metrics')) return Promise.reject(unavailable());
    this.metrics.push([runId, [...points]]);
    return Promise.resolve();
  }
}

function unavailable(): Error {
  return new UpstreamTransientError('mlflow', 'server_error', 'MLflow answered 503');
}

const request: RollbackRequest = {
  reference: 'iris@champion',
  name: 'iris',
  alias: 'champion',
  bad: '2',
  good: '1',
  reason: 'error rate 1.000 (20 of 20) against 0.000 before',
  figures: { requests: 20, errors: 20, errorRate: 1, p99Ms: undefined },
  baseline: { requests: 40, errors: 0, errorRate: 0, p99Ms: 12 },
  watchedMs: 1500,
};

describe(RollbackActions.name, () => {
  let mlflow: FakeMlflow;
  let sut: RollbackActions;
  const at = new Date('2026-12-03T14:00:00.000Z');

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    mlflow = new FakeMlflow();
    sut = new RollbackActions(mlflow);
  });

  it('moves the alias back to the replaced version', async () => {
    await sut.moveAlias(request);

    expect(mlflow.aliases).toEqual([['iris', 'champion', '1']]);
  });

  it('tags both versions with where the alias went, why and when', async () => {
    expect(await sut.record(request, at)).toEqual([]);

    expect(mlflow.tags).toEqual([
      ['iris', '2', 'modelgate.rolled_back_to', '1'],
      ['iris', '2', 'modelgate.rollback_reason', request.reason],
      ['iris', '2', 'modelgate.rolled_back_at', '2026-12-03T14:00:00.000Z'],
      ['iris', '1', 'modelgate.rolled_back_from', '2'],
      ['iris', '1', 'modelgate.rollback_reason', request.reason],
      ['iris', '1', 'modelgate.rolled_back_at', '2026-12-03T14:00:00.000Z'],
    ]);
  });

  it("logs the figures to the bad version's run, a p99 only where there was one", async () => {
    await sut.record(request, at);

    const [[runId, points]] = mlflow.metrics;
    expect(runId).toBe('run-2');
    expect(Object.fromEntries(points.map((p) => [p.key, p.value]))).toEqual({
      'modelgate.rollback.requests': 20,
      'modelgate.rollback.errors': 20,
      'modelgate.rollback.error_rate': 1,
      'modelgate.rollback.baseline_requests': 40,
      'modelgate.rollback.baseline_error_rate': 0,
      'modelgate.rollback.baseline_p99_ms': 12,
      'modelgate.rollback.watched_seconds': 1.5,
    });
    expect(points.every((p) => p.timestamp === at.getTime())).toBe(true);
  });

  it('writes what it can when some writes fail, and names the rest', async () => {
    mlflow.failing.add('tag 1').add('metrics');

    const incomplete = await sut.record(request, at);

    expect(incomplete).toEqual([
      'tag v1 modelgate.rolled_back_from',
      'tag v1 modelgate.rollback_reason',
      'tag v1 modelgate.rolled_back_at',
      "metrics of v2's run",
    ]);
    expect(mlflow.tags.map(([, version]) => version)).toEqual(['2', '2', '2']);
  });

  it('names every bookkeeping step, as record reports them, without writing any', () => {
    mlflow.failing.add('tag 1').add('tag 2').add('metrics');

    expect(sut.bookkeeping(request)).toEqual([
      'tag v2 modelgate.rolled_back_to',
      'tag v2 modelgate.rollback_reason',
      'tag v2 modelgate.rolled_back_at',
      'tag v1 modelgate.rolled_back_from',
      'tag v1 modelgate.rollback_reason',
      'tag v1 modelgate.rolled_back_at',
      "metrics of v2's run",
    ]);
    expect(mlflow.tags).toEqual([]);
    expect(mlflow.metrics).toEqual([]);
  });
});
