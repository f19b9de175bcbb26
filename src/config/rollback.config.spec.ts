import { ConfigValidationError } from './env.validation';
import { rollbackConfig } from './rollback.config';

describe('rollback watch configuration', () => {
  const original = process.env;

  afterEach(() => {
    process.env = original;
  });

  it('watches for 10 minutes and rolls back by default, in milliseconds', () => {
    process.env = {};

    expect(rollbackConfig()).toEqual({
      watchMs: 600_000,
      rollback: true,
      maxErrorRate: 0.05,
      maxP99Ms: 250,
      minRequests: 20,
      cooldownMs: 300_000,
      standbyMs: 0,
    });
  });

  it('keeps the replaced version for the watch with ROLLOUT_KEEP_REPLACED, only when it can roll back', () => {
    process.env = { ROLLOUT_KEEP_REPLACED: 'true', ROLLOUT_WATCH_SECONDS: '60' };
    expect(rollbackConfig()).toMatchObject({ standbyMs: 60_000 });

    process.env = { ROLLOUT_KEEP_REPLACED: 'true', ROLLBACK: 'false' };
    expect(rollbackConfig()).toMatchObject({ standbyMs: 0 });
  });

  it('turns rollback off with the watch, and on its own with ROLLBACK=false', () => {
    process.env = { ROLLOUT_WATCH_SECONDS: '0', ROLLBACK: 'true' };
    expect(rollbackConfig()).toMatchObject({ watchMs: 0, rollback: false });

    process.env = { ROLLBACK: 'false' };
    expect(rollbackConfig()).toMatchObject({ watchMs: 600_000, rollback: false });
  });

  it('names every bad variable', () => {
    process.env = {
      ROLLOUT_MAX_ERROR_RATE: '1.5',
      ROLLOUT_MIN_REQUESTS: '0',
      ROLLOUT_COOLDOWN_SECONDS: 'soon',
      ROLLBACK: 'maybe',
    };

    let error: unknown;
    try {
      rollbackConfig();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    const message = (error as Error).message;
    for (const name of [
      'ROLLOUT_MAX_ERROR_RATE',
      'ROLLOUT_MIN_REQUESTS',
      'ROLLOUT_COOLDOWN_SECONDS',
      'ROLLBACK',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('maybe');
  });
});
