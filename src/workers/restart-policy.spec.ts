import { DEFAULT_RESTART_POLICY, RestartPolicyOptions, decideRestart } from './restart-policy';

const policy: RestartPolicyOptions = {
  initialDelayMs: 100,
  maxDelayMs: 1_000,
  stableAfterMs: 5_000,
  maxCrashesInARow: 5,
};

describe('decideRestart', () => {
  it('restarts a first crash after the initial delay', () => {
    expect(decideRestart(0, 10, policy)).toEqual({
      action: 'restart',
      delayMs: 100,
      crashesInARow: 1,
    });
  });

  it('doubles the delay with every quick crash in a row, up to the cap', () => {
    const delays: number[] = [];
    let crashes = 0;
    for (let n = 0; n < 5; n++) {
      const decision = decideRestart(crashes, 10, policy);
      if (decision.action !== 'restart') throw new Error('gave up too early');
      delays.push(decision.delayMs);
      crashes = decision.crashesInARow;
    }
    expect(delays).toEqual([100, 200, 400, 800, 1_000]);
  });

  it('gives the slot up after too many quick crashes in a row', () => {
    expect(decideRestart(5, 10, policy)).toEqual({ action: 'give-up', crashesInARow: 6 });
  });

  it('starts the backoff over for a worker that ran long enough to count as healthy', () => {
    expect(decideRestart(4, 5_000, policy)).toEqual({
      action: 'restart',
      delayMs: 100,
      crashesInARow: 1,
    });
  });

  it('gives up on a worker that dies at every start within a minute by default', () => {
    let crashes = 0;
    let waited = 0;
    for (;;) {
      const decision = decideRestart(crashes, 500, DEFAULT_RESTART_POLICY);
      if (decision.action === 'give-up') break;
      waited += decision.delayMs + 500;
      crashes = decision.crashesInARow;
    }
    expect(crashes).toBe(DEFAULT_RESTART_POLICY.maxCrashesInARow);
    expect(waited).toBeLessThan(60_000);
  });
});
