import { ErrorReportLimiter } from './error-report.limiter';

describe('ErrorReportLimiter', () => {
  let clock: number;
  const now = () => clock;

  beforeEach(() => {
    clock = 1_000_000;
  });

  it('logs the first error of a kind', () => {
    const sut = new ErrorReportLimiter({ now });

    expect(sut.take('TypeError')).toEqual({ log: true, suppressed: 0 });
  });

  it('does not log the same kind again within the minute', () => {
    const sut = new ErrorReportLimiter({ now });
    sut.take('TypeError');
    clock += 59_999;

    expect(sut.take('TypeError')).toEqual({ log: false });
  });

  it('logs each kind on its own: one kind flooding does not silence another', () => {
    const sut = new ErrorReportLimiter({ now });
    sut.take('TypeError');

    expect(sut.take('RangeError')).toEqual({ log: true, suppressed: 0 });
  });

  it('logs the kind again after the window, with the count it did not log', () => {
    const sut = new ErrorReportLimiter({ now });
    sut.take('TypeError');
    sut.take('TypeError');
    sut.take('TypeError');
    clock += 60_000;

    expect(sut.take('TypeError')).toEqual({ log: true, suppressed: 2 });
    expect(sut.take('TypeError')).toEqual({ log: false });
  });

  it('honours a configured window', () => {
    const sut = new ErrorReportLimiter({ now, windowMs: 10 });
    sut.take('TypeError');
    clock += 10;

    expect(sut.take('TypeError')).toEqual({ log: true, suppressed: 0 });
  });

  it('remembers at most maxKinds kinds, forgetting the longest unlogged first', () => {
    const sut = new ErrorReportLimiter({ now, maxKinds: 2 });
    sut.take('a');
    sut.take('b');
    sut.take('c');

    expect(sut.size).toBe(2);
    expect(sut.take('a')).toEqual({ log: true, suppressed: 0 });
    expect(sut.take('c')).toEqual({ log: false });
  });
});
