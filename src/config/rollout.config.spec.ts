import { ConfigValidationError } from './env.validation';
import { InvalidRolloutError, parseRolloutList, rolloutConfig } from './rollout.config';

describe('rolloutConfig', () => {
  const original = process.env;

  afterEach(() => {
    process.env = original;
  });

  function load(vars: Record<string, string>) {
    process.env = { ...vars };
    return rolloutConfig();
  }

  function problemsOf(vars: Record<string, string>): string[] {
    try {
      load(vars);
    } catch (error) {
      if (error instanceof ConfigValidationError) return error.problems;
      throw error;
    }
    throw new Error('expected a configuration error');
  }

  it('follows no rollout, sends 10% to a challenger and keys callers by x-modelgate-caller by default', () => {
    const sut = load({});

    expect(sut).toEqual({
      models: [],
      canaryPercent: 10,
      stickyHeader: 'x-modelgate-caller',
      shadowMaxInFlight: 8,
    });
  });

  it('reads MODEL_ROLLOUT as one champion and challenger a model, with an optional mode', () => {
    const sut = load({
      MODEL_ROLLOUT: ' iris:champion,challenger ; fraud:prod, next:shadow;',
      ROLLOUT_CANARY_PERCENT: '25',
      ROLLOUT_STICKY_HEADER: 'X-Tenant',
      ROLLOUT_SHADOW_MAX_IN_FLIGHT: '0',
    });

    expect(sut.models).toEqual([
      { name: 'iris', champion: 'champion', challenger: 'challenger' },
      { name: 'fraud', champion: 'prod', challenger: 'next', mode: 'shadow' },
    ]);
    expect(sut.canaryPercent).toBe(25);
    expect(sut.stickyHeader).toBe('x-tenant');
    expect(sut.shadowMaxInFlight).toBe(0);
  });

  it.each([
    ['iris'],
    ['iris:champion'],
    ['iris:champion,challenger,third'],
    ['iris:champion,champion'],
    ['iris:champion,challenger:blue'],
    ['ir/is:champion,challenger'],
    ['iris:champion,challenger;iris:a,b'],
  ])('refuses MODEL_ROLLOUT=%s at start, naming the setting', (value) => {
    const problems = problemsOf({ MODEL_ROLLOUT: value });

    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('MODEL_ROLLOUT must look like name:champion,challenger');
  });

  it.each([['-1'], ['101'], ['12.5'], ['ten']])(
    'refuses ROLLOUT_CANARY_PERCENT=%s (a whole percent, 0 to 100)',
    (value) => {
      expect(problemsOf({ ROLLOUT_CANARY_PERCENT: value }).join('\n')).toContain(
        'ROLLOUT_CANARY_PERCENT',
      );
    },
  );

  it('refuses a sticky header that is no header name', () => {
    expect(problemsOf({ ROLLOUT_STICKY_HEADER: 'x caller' })).toEqual([
      expect.stringContaining('ROLLOUT_STICKY_HEADER must be an HTTP header name'),
    ]);
  });

  it('names the entry it cannot read when parsed directly', () => {
    expect(() => parseRolloutList('iris:a,b;fraud:x')).toThrow(
      new InvalidRolloutError('fraud:x', 'expected two aliases, champion,challenger'),
    );
  });
});
