import { Logger } from '@nestjs/common';
import { PredictionOutcome } from '../common/events/event-map';
import { RollbackConfig } from '../config/rollback.config';
import { RollbackRequest } from './rollback-request';
import { RollbackOutcome, RollbackService } from './rollback.service';
import { RolloutWatch } from './rollout-watch.service';

const config: RollbackConfig = {
  watchMs: 600_000,
  rollback: true,
  maxErrorRate: 0.05,
  maxP99Ms: 250,
  minRequests: 20,
  cooldownMs: 300_000,
  standbyMs: 0,
};

class FakeRollback implements Pick<RollbackService, 'rollBack'> {
  readonly asked: RollbackRequest[] = [];

  rollBack(request: RollbackRequest): Promise<RollbackOutcome> {
    this.asked.push(request);
    return Promise.resolve('rolled-back');
  }
}

describe(RolloutWatch.name, () => {
  let rollback: FakeRollback;
  let sut: RolloutWatch;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    rollback = new FakeRollback();
    sut = new RolloutWatch(config, rollback);
  });

  afterEach(() => sut.onModuleDestroy());

  function predictions(
    version: string,
    outcome: PredictionOutcome,
    count: number,
    durationMs = 10,
  ) {
    for (let i = 0; i < count; i++) {
      sut.finished({ name: 'iris', version, outcome, durationMs });
    }
  }

  function swap(
    reference: string,
    from: string,
    to: string,
    outcome: 'swapped' | 'failed' = 'swapped',
  ) {
    sut.swapped({ reference, name: 'iris', from, to, outcome, durationMs: 5 });
  }

  it('rolls a version failing real requests back to the one it replaced, with both records', () => {
    predictions('1', 'ok', 30);
    swap('iris@champion', '1', '2');

    predictions('2', 'failed', 19);
    expect(rollback.asked).toEqual([]);
    predictions('2', 'failed', 1);

    expect(rollback.asked).toEqual([
      expect.objectContaining({
        reference: 'iris@champion',
        alias: 'champion',
        bad: '2',
        good: '1',
        figures: expect.objectContaining({ requests: 20, errors: 20, errorRate: 1 }),
        baseline: expect.objectContaining({ requests: 30, errors: 0 }),
      }),
    ]);
    expect(sut.open()).toEqual([]);
  });

  it("does not count the callers' rejected input against the version", () => {
    swap('iris@champion', '1', '2');

    predictions('2', 'rejected', 50);
    predictions('2', 'refused', 50);
    predictions('2', 'ok', 20);

    expect(rollback.asked).toEqual([]);
    expect(sut.open()).toHaveLength(1);
  });

  it('watches only references by alias, only after a swap, and not at all with ROLLOUT_WATCH_SECONDS=0', () => {
    swap('iris/2', '1', '2');
    swap('iris@champion', '1', '2', 'failed');
    expect(sut.open()).toEqual([]);

    const off = new RolloutWatch({ ...config, watchMs: 0 }, rollback);
    off.swapped({
      reference: 'iris@champion',
      name: 'iris',
      from: '1',
      to: '2',
      outcome: 'swapped',
      durationMs: 1,
    });
    expect(off.open()).toEqual([]);
  });

  it('closes the window once the watch is over: later failures roll nothing back', () => {
    jest.useFakeTimers();
    try {
      swap('iris@champion', '1', '2');
      jest.advanceTimersByTime(600_001);
      predictions('2', 'failed', 50);
    } finally {
      jest.useRealTimers();
    }
    expect(rollback.asked).toEqual([]);
  });

  it('rolls back a version much slower than the one it replaced', () => {
    predictions('1', 'ok', 30, 20);
    swap('iris@champion', '1', '2');

    predictions('2', 'ok', 20, 400);

    expect(rollback.asked).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('p99 400 ms against 20 ms') }),
    ]);
  });
});
