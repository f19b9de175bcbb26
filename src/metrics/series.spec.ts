import { AggregatorRegistry, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CounterSeries, GaugeSeries, HistogramSeries } from './series';

/**
 * The series must be indistinguishable from prom-client's own metrics to
 * whoever scrapes /metrics and to the primary that aggregates the workers':
 * each case feeds both the same observations and compares what they give.
 */
describe('metric series', () => {
  const labelNames = ['model', 'version'] as const;
  const buckets = [0.001, 0.01, 0.1, 1];
  /** Label values a scrape must escape, and sets a plain concatenation of the values would merge. */
  const sets = [
    { model: 'iris', version: '1' },
    { model: 'iris', version: '2' },
    { model: 'ir', version: 'is1' },
    { model: 'a "quoted"\\ \nname', version: '' },
  ];

  function pair(): { ours: Registry; theirs: Registry } {
    return { ours: new Registry(), theirs: new Registry() };
  }

  it('counts as prom-client’s Counter does, series by series', async () => {
    const { ours, theirs } = pair();
    const config = { name: 'x_total', help: 'things', labelNames };
    const a = new CounterSeries({ ...config, registers: [ours] });
    const b = new Counter({ ...config, registers: [theirs] });
    sets.forEach((labels, i) => {
      for (let n = 0; n <= i; n++) {
        a.inc(labels);
        b.inc(labels);
      }
      a.inc(labels, 2.5);
      b.inc(labels, 2.5);
    });
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('x_total{model="ir",version="is1"} 5.5');
    expect(text).toContain('x_total{model="a \\"quoted\\"\\\\ \\nname",version=""} 6.5');
  });

  it('goes up and down as prom-client’s Gauge does', async () => {
    const { ours, theirs } = pair();
    const config = { name: 'in_flight', help: 'now', labelNames };
    const a = new GaugeSeries({ ...config, registers: [ours] });
    const b = new Gauge({ ...config, registers: [theirs] });
    for (const labels of sets) {
      a.inc(labels);
      b.inc(labels);
      a.inc(labels, 3);
      b.inc(labels, 3);
      a.dec(labels);
      b.dec(labels);
    }
    a.dec(sets[0], 3);
    b.dec(sets[0], 3);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('buckets as prom-client’s Histogram does: bounds inclusive, +Inf, sum and count', async () => {
    const { ours, theirs } = pair();
    const config = { name: 'wait_seconds', help: 'waits', labelNames, buckets };
    const a = new HistogramSeries({ ...config, registers: [ours] });
    const b = new Histogram({ ...config, registers: [theirs] });
    // On a bound, between bounds, below the first, above the last.
    const values = [0.001, 0.0005, 0.01, 0.05, 1, 3, 0];
    sets.forEach((labels, i) => {
      for (const v of values.slice(i)) {
        a.observe(labels, v);
        b.observe(labels, v);
      }
    });
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('wait_seconds_bucket{le="0.001",model="iris",version="1"} 3');
    expect(text).toContain('wait_seconds_bucket{le="+Inf",model="iris",version="1"} 7');
  });

  it('aggregates over workers as prom-client’s metrics do (sum, max)', async () => {
    const workers = async (
      make: (r: Registry) => { observe(v: number): void; gauge(v: number): void },
    ): Promise<string> => {
      const registries = [new Registry(), new Registry()];
      registries.forEach((r, i) => {
        const m = make(r);
        for (let n = 0; n <= i; n++) m.observe(0.005 * (n + 1));
        m.gauge(i + 4);
      });
      const aggregated = AggregatorRegistry.aggregate(
        await Promise.all(registries.map((r) => r.getMetricsAsJSON())),
      );
      return aggregated.metrics();
    };
    const labels = sets[0];
    const h = { name: 'h_seconds', help: 'h', labelNames, buckets };
    const g = { name: 'g', help: 'g', labelNames, aggregator: 'max' as const };
    const ours = await workers((r) => {
      const hist = new HistogramSeries({ ...h, registers: [r] });
      const gauge = new GaugeSeries({ ...g, registers: [r] });
      return { observe: (v) => hist.observe(labels, v), gauge: (v) => gauge.inc(labels, v) };
    });
    const theirs = await workers((r) => {
      const hist = new Histogram({ ...h, registers: [r] });
      const gauge = new Gauge({ ...g, registers: [r] });
      return { observe: (v) => hist.observe(labels, v), gauge: (v) => gauge.inc(labels, v) };
    });
    expect(ours).toBe(theirs);
    expect(ours).toContain('h_seconds_count{model="iris",version="1"} 3');
    expect(ours).toContain('g{model="iris",version="1"} 5');
  });

  it('forgets one label set on remove, and every one on the registry’s reset', async () => {
    const registry = new Registry();
    const c = new CounterSeries({ name: 'c_total', help: 'c', labelNames, registers: [registry] });
    c.inc(sets[0]);
    c.inc(sets[1]);
    c.remove(sets[0]);
    let text = await registry.metrics();
    expect(text).not.toContain('version="1"');
    expect(text).toContain('c_total{model="iris",version="2"} 1');
    c.remove({ model: 'never', version: 'seen' });
    c.remove({ model: 'iris', version: 'never seen' });
    expect(await registry.metrics()).toContain('c_total{model="iris",version="2"} 1');
    c.inc(sets[2]);
    c.removeWhere((labels) => labels.model === 'ir');
    expect(await registry.metrics()).not.toContain('model="ir"');
    expect(await registry.metrics()).toContain('c_total{model="iris",version="2"} 1');
    registry.resetMetrics();
    text = await registry.metrics();
    expect(text).not.toContain('c_total{');
    c.inc(sets[1]);
    expect(await registry.metrics()).toContain('c_total{model="iris",version="2"} 1');
  });

  it('is refused a second metric of its name, as prom-client’s are', () => {
    const registry = new Registry();
    new CounterSeries({ name: 'dup_total', help: 'd', labelNames, registers: [registry] });
    expect(() => new Counter({ name: 'dup_total', help: 'd', registers: [registry] })).toThrow(
      /already been registered/,
    );
    expect(registry.getSingleMetric('dup_total')).toBeDefined();
  });

  describe('refuses', () => {
    const registers: Registry[] = [];

    it('a label set missing a label or holding an undeclared one, naming it', () => {
      const c = new CounterSeries({ name: 'r_total', help: 'r', labelNames, registers });
      expect(() => c.inc({ model: 'iris' } as never)).toThrow(/label version must be a string/);
      expect(() => c.inc({ model: 'iris', version: 1 } as never)).toThrow(/version.*got number/);
      expect(() => c.inc({ model: 'iris', version: '1', extra: 'x' } as never)).toThrow(
        /labels not declared: extra/,
      );
    });

    it('a counter going down, or any value that is not a finite number', () => {
      const c = new CounterSeries({ name: 'n_total', help: 'n', labelNames, registers });
      const g = new GaugeSeries({ name: 'n_g', help: 'n', labelNames, registers });
      const h = new HistogramSeries({ name: 'n_h', help: 'n', labelNames, buckets, registers });
      expect(() => c.inc(sets[0], -1)).toThrow(/≥ 0, not -1/);
      expect(() => c.inc(sets[0], Infinity)).toThrow(/not Infinity/);
      expect(() => c.inc(sets[0], NaN)).toThrow(/not NaN/);
      expect(() => g.inc(sets[0], NaN)).toThrow(/not a finite number: NaN/);
      expect(() => h.observe(sets[0], Infinity)).toThrow(/not a finite number: Infinity/);
    });

    it('an invalid metric or label name, and buckets that do not increase', () => {
      expect(() => new CounterSeries({ name: 'a-b', help: 'x', labelNames, registers })).toThrow(
        /invalid metric name: a-b/,
      );
      for (const label of ['le', '__x', '1a', 'a-b']) {
        expect(
          () => new CounterSeries({ name: 'ok_total', help: 'x', labelNames: [label], registers }),
        ).toThrow(`invalid label name for ok_total: ${label}`);
      }
      for (const bad of [[], [1, 1], [2, 1], [1, Infinity]]) {
        expect(
          () => new HistogramSeries({ name: 'ok', help: 'x', labelNames, buckets: bad, registers }),
        ).toThrow(/buckets must be finite and increasing/);
      }
    });
  });
});
