import type { RolloutFigures } from '../common/events/event-map';
import { BreachRule, judge } from './breach-rule';

const rule: BreachRule = { maxErrorRate: 0.05, maxP99Ms: 100, minRequests: 20 };

function figures(requests: number, errors: number, p99Ms?: number): RolloutFigures {
  return { requests, errors, errorRate: requests === 0 ? 0 : errors / requests, p99Ms };
}

describe('judge (the rollout breach rule)', () => {
  const healthyBefore = figures(200, 2, 30);

  it('gives no verdict before the minimum of requests, however bad', () => {
    expect(judge(figures(19, 19), healthyBefore, rule)).toEqual({ kind: 'too-early' });
  });

  it('breaks on an error rate more than the allowance above the replaced version', () => {
    const verdict = judge(figures(20, 20), healthyBefore, rule);

    expect(verdict).toEqual({
      kind: 'breach',
      reason: expect.stringContaining('error rate 1.000 (20 of 20)'),
    });
  });

  it('allows an error rate up to the allowance above the replaced version', () => {
    // 0.01 before, 0.06 now: 0.05 above, not more.
    expect(judge(figures(100, 6, 30), healthyBefore, rule)).toEqual({ kind: 'healthy' });
  });

  it('judges against an error rate of 0 when the replaced version answered nothing', () => {
    expect(judge(figures(20, 2), figures(0, 0), rule)).toMatchObject({ kind: 'breach' });
  });

  it('breaks on a p99 more than the allowance above the replaced version', () => {
    expect(judge(figures(50, 0, 131), healthyBefore, rule)).toEqual({
      kind: 'breach',
      reason: expect.stringContaining('p99 131 ms against 30 ms before'),
    });
    expect(judge(figures(50, 0, 130), healthyBefore, rule)).toEqual({ kind: 'healthy' });
  });

  it('judges latency only on enough answers, and not at all when ROLLOUT_MAX_P99_MS is 0', () => {
    // 20 requests, 1 failed: 19 answers, under the minimum of 20.
    expect(judge(figures(20, 1, 5000), healthyBefore, rule)).toEqual({ kind: 'healthy' });
    expect(judge(figures(50, 0, 5000), healthyBefore, { ...rule, maxP99Ms: 0 })).toEqual({
      kind: 'healthy',
    });
  });
});
