import { BUCKETS, ROLLOUT_TAGS, bucketOf, rolloutOf, variantFor } from './rollout-policy';

describe('rollout policy', () => {
  const defaults = { percent: 10, defaultAlias: 'champion' };
  const setting = { name: 'iris', champion: 'champion', challenger: 'challenger' };

  describe('bucketOf', () => {
    it('gives one caller key the same bucket every time', () => {
      const first = bucketOf('iris', 'caller-7');

      expect(Array.from({ length: 20 }, () => bucketOf('iris', 'caller-7'))).toEqual(
        Array(20).fill(first),
      );
    });

    it('spreads 10,000 keys over the 100 buckets within a binomial bound', () => {
      const counts = new Array<number>(BUCKETS).fill(0);
      for (let i = 0; i < 10_000; i++) counts[bucketOf('iris', `caller-${i}`)]++;

      // 100 per bucket expected, σ = √(10000·0.01·0.99) ≈ 9.95: 5σ either side.
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(50);
      expect(Math.max(...counts)).toBeLessThanOrEqual(150);
    });

    it('puts a caller in unrelated buckets for two models', () => {
      const same = Array.from({ length: 200 }, (_, i) => `k${i}`).filter(
        (k) => bucketOf('iris', k) === bucketOf('fraud', k),
      );

      // 2 expected by chance (1 in 100).
      expect(same.length).toBeLessThan(12);
    });
  });

  describe('variantFor', () => {
    it('answers the first `percent` buckets of a canary from the challenger', () => {
      const canary = { mode: 'canary' as const, percent: 25 };

      expect(variantFor(canary, 0)).toBe('challenger');
      expect(variantFor(canary, 24)).toBe('challenger');
      expect(variantFor(canary, 25)).toBe('champion');
      expect(variantFor(canary, 99)).toBe('champion');
    });

    it('never answers from the challenger at 0%, always at 100%', () => {
      const buckets = Array.from({ length: BUCKETS }, (_, b) => b);

      expect(buckets.map((b) => variantFor({ mode: 'canary', percent: 0 }, b))).not.toContain(
        'challenger',
      );
      expect(buckets.map((b) => variantFor({ mode: 'canary', percent: 100 }, b))).not.toContain(
        'champion',
      );
    });

    it('never answers from a shadow, whatever its percent', () => {
      expect(variantFor({ mode: 'shadow', percent: 100 }, 0)).toBe('champion');
    });
  });

  describe('rolloutOf', () => {
    it('follows MODEL_ROLLOUT with the default percent when the model has no tags', () => {
      expect(rolloutOf('iris', setting, {}, defaults)).toEqual({
        rollout: { ...setting, mode: 'canary', percent: 10, source: 'settings' },
        problems: [],
      });
    });

    it('lets the tags override the challenger, the percent and the mode', () => {
      const { rollout } = rolloutOf(
        'iris',
        setting,
        {
          [ROLLOUT_TAGS.challenger]: 'candidate',
          [ROLLOUT_TAGS.canaryPercent]: '40',
          [ROLLOUT_TAGS.shadow]: 'TRUE',
        },
        defaults,
      );

      expect(rollout).toEqual({
        name: 'iris',
        champion: 'champion',
        challenger: 'candidate',
        mode: 'shadow',
        percent: 40,
        source: 'settings+tags',
      });
    });

    it('turns a shadow of the settings into a canary with modelgate.shadow=false', () => {
      const { rollout } = rolloutOf(
        'iris',
        { ...setting, mode: 'shadow' },
        { [ROLLOUT_TAGS.shadow]: 'false' },
        defaults,
      );

      expect(rollout?.mode).toBe('canary');
    });

    it('starts a rollout from tags alone, against the default alias', () => {
      const { rollout } = rolloutOf(
        'fraud',
        undefined,
        { [ROLLOUT_TAGS.challenger]: 'next' },
        defaults,
      );

      expect(rollout).toMatchObject({
        champion: 'champion',
        challenger: 'next',
        mode: 'canary',
        source: 'tags',
      });
    });

    it('is no rollout without a challenger, whatever the other tags say', () => {
      expect(rolloutOf('iris', undefined, { [ROLLOUT_TAGS.shadow]: 'true' }, defaults)).toEqual({
        problems: [],
      });
    });

    it('leaves out tags it cannot read, says why, and follows the rest', () => {
      const { rollout, problems } = rolloutOf(
        'iris',
        setting,
        {
          [ROLLOUT_TAGS.challenger]: 'champion',
          [ROLLOUT_TAGS.canaryPercent]: '150',
          [ROLLOUT_TAGS.shadow]: 'maybe',
        },
        defaults,
      );

      expect(rollout).toMatchObject({ challenger: 'challenger', mode: 'canary', percent: 10 });
      expect(problems).toEqual([
        expect.stringContaining('modelgate.challenger="champion"'),
        expect.stringContaining('modelgate.shadow="maybe"'),
        expect.stringContaining('modelgate.canary_percent="150"'),
      ]);
    });
  });
});
