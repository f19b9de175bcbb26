import { OutcomeRing } from './outcome-ring';

describe(OutcomeRing.name, () => {
  it('counts failures as errors, and neither rejected nor refused requests', () => {
    const sut = new OutcomeRing();
    sut.add('ok', 10);
    sut.add('failed', 1);
    sut.add('rejected', 1);
    sut.add('refused', 1);

    expect(sut.figures()).toEqual({ requests: 2, errors: 1, errorRate: 0.5, p99Ms: 10 });
  });

  it('takes the p99 over answers only, by nearest rank', () => {
    const sut = new OutcomeRing();
    for (let ms = 1; ms <= 200; ms++) sut.add('ok', ms);
    sut.add('failed', 10_000);

    expect(sut.figures().p99Ms).toBe(198);
  });

  it('keeps only the newest samples once full', () => {
    const sut = new OutcomeRing(3);
    sut.add('failed', 1);
    sut.add('ok', 1);
    sut.add('ok', 1);
    sut.add('ok', 1);

    expect(sut.figures()).toMatchObject({ requests: 3, errors: 0 });
  });

  it('has no p99 and an error rate of 0 with nothing kept', () => {
    expect(new OutcomeRing().figures()).toEqual({
      requests: 0,
      errors: 0,
      errorRate: 0,
      p99Ms: undefined,
    });
  });
});
