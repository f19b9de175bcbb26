import {
  Aggregator,
  Metric,
  MetricObjectWithValues,
  MetricValue,
  Registry,
  validateMetricName,
} from 'prom-client';

/** One label set of a metric: a value for each of its label names. */
export type LabelSet<L extends string> = Readonly<Record<L, string>>;

export interface SeriesConfig<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  registers: Registry[];
  /** How the group's value is made of the workers' (API_WORKERS > 1); summed by default. */
  aggregator?: Aggregator;
}

/** One series: its labels (checked, copied) and running value. */
interface Entry<L extends string, V> {
  readonly labels: LabelSet<L>;
  readonly value: V;
}

/** Series by the value of one label, then the next: the last level holds the entries. */
type Level<E> = Map<string, Level<E> | E>;

/** A sample as prom-client's registry and cluster aggregator read it. */
type Sample = MetricValue<string> & { metricName?: string };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * A metric for the prediction path: one running value per label set, found
 * by a Map lookup per label, and handed to prom-client's registry at scrape
 * time in the shape its own metrics give (`get()`), so the exposition text,
 * the worker group's aggregation and the default metrics stay prom-client's.
 *
 * Why not prom-client's own Counter and Histogram there: prom-client 15
 * checks every label name against the metric's and builds a hash string on
 * each `inc` and `observe`, and its bound `labels(...)` child does the same on
 * every call (prometheus/client_js#38, open since 2016); a histogram's
 * observe also makes a closure and an object per call. A prediction records
 * about ten observations; a count and a duration over five labels take
 * 0.14× prom-client's time here (bench/metric-series.ts). A label set is
 * checked once, when its series is made.
 */
abstract class Series<L extends string, V> {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly name: string;
  readonly help: string;
  readonly aggregator: Aggregator;
  private readonly labelNames: readonly L[];
  /**
   * The series by their label values, one level per label name in declared
   * order: a lookup builds no key (the values are strings the caller holds
   * already), and no two label sets meet whatever their values hold.
   */
  private root: Level<Entry<L, V>> = new Map();
  private readonly entries = new Set<Entry<L, V>>();

  constructor(config: SeriesConfig<L>) {
    if (!validateMetricName(config.name)) throw new Error(`invalid metric name: ${config.name}`);
    for (const label of config.labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__') || label === 'le') {
        throw new Error(`invalid label name for ${config.name}: ${label}`);
      }
    }
    this.name = config.name;
    this.help = config.help;
    this.labelNames = config.labelNames;
    this.aggregator = config.aggregator ?? 'sum';
    // The registry holds whatever gives name, help, type, aggregator, get()
    // and reset(); its type names only prom-client's own metric classes.
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** Forgets the series of one label set (a version no longer served). */
  remove(labels: LabelSet<L>): void {
    const level = this.levelOf(labels, false);
    const leaf = this.leafOf(labels);
    const entry = level?.get(leaf) as Entry<L, V> | undefined;
    if (entry === undefined) return;
    level!.delete(leaf);
    this.entries.delete(entry);
  }

  /** Forgets every series whose labels `unwanted` picks (the versions no longer served). */
  removeWhere(unwanted: (labels: LabelSet<L>) => boolean): void {
    for (const { labels } of [...this.entries]) if (unwanted(labels)) this.remove(labels);
  }

  /** Forgets every series (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.root = new Map();
    this.entries.clear();
  }

  get(): Promise<MetricObjectWithValues<Sample>> {
    const values: Sample[] = [];
    for (const { labels, value } of this.entries) this.samples(labels, value, values);
    return Promise.resolve({
      name: this.name,
      help: this.help,
      // prom-client's registry writes the type as given: its own metrics give these strings.
      type: this.type as unknown as MetricObjectWithValues<Sample>['type'],
      aggregator: this.aggregator,
      values,
    } as MetricObjectWithValues<Sample>);
  }

  /** The running value of a label set, made (and its labels checked) on first use. */
  protected valueOf(labels: LabelSet<L>): V {
    const level = this.levelOf(labels, true)!;
    const leaf = this.leafOf(labels);
    const found = level.get(leaf) as Entry<L, V> | undefined;
    if (found !== undefined) return found.value;
    const made = { labels: this.checked(labels), value: this.initial() };
    level.set(leaf, made);
    this.entries.add(made);
    return made.value;
  }

  protected abstract initial(): V;

  protected abstract samples(labels: LabelSet<L>, value: V, into: Sample[]): void;

  /** The level that holds the series of `labels` (made on the way when `make`). */
  private levelOf(labels: LabelSet<L>, make: boolean): Level<Entry<L, V>> | undefined {
    const names = this.labelNames;
    let level = this.root;
    for (let i = 0; i < names.length - 1; i++) {
      const value = labels[names[i]];
      let next = level.get(value) as Level<Entry<L, V>> | undefined;
      if (next === undefined) {
        if (!make) return undefined;
        // A level is keyed by strings only: a label set is checked before its first level is made.
        this.checked(labels);
        level.set(value, (next = new Map()));
      }
      level = next;
    }
    return level;
  }

  private leafOf(labels: LabelSet<L>): string {
    return this.labelNames.length === 0 ? '' : labels[this.labelNames[this.labelNames.length - 1]];
  }

  private checked(labels: LabelSet<L>): LabelSet<L> {
    const names = Object.keys(labels);
    const copy = {} as Record<L, string>;
    for (const name of this.labelNames) {
      if (typeof labels[name] !== 'string') {
        throw new TypeError(
          `${this.name}: label ${name} must be a string, got ${typeof labels[name]}`,
        );
      }
      copy[name] = labels[name];
    }
    if (names.length !== this.labelNames.length) {
      const extra = names.filter((n) => !(this.labelNames as readonly string[]).includes(n));
      throw new TypeError(`${this.name}: labels not declared: ${extra.join(', ')}`);
    }
    return copy;
  }
}

/** A count that only goes up, per label set. */
export class CounterSeries<L extends string> extends Series<L, { total: number }> {
  readonly type = 'counter';

  inc(labels: LabelSet<L>, by = 1): void {
    if (!(by >= 0) || by === Infinity) {
      throw new TypeError(`${this.name}: a counter goes up by a finite number ≥ 0, not ${by}`);
    }
    this.valueOf(labels).total += by;
  }

  protected initial(): { total: number } {
    return { total: 0 };
  }

  protected samples(labels: LabelSet<L>, value: { total: number }, into: Sample[]): void {
    into.push({ labels: { ...labels }, value: value.total });
  }
}

/** A value that goes up and down, per label set. */
export class GaugeSeries<L extends string> extends Series<L, { current: number }> {
  readonly type = 'gauge';

  inc(labels: LabelSet<L>, by = 1): void {
    this.valueOf(labels).current += finite(this.name, by);
  }

  dec(labels: LabelSet<L>, by = 1): void {
    this.valueOf(labels).current -= finite(this.name, by);
  }

  protected initial(): { current: number } {
    return { current: 0 };
  }

  protected samples(labels: LabelSet<L>, value: { current: number }, into: Sample[]): void {
    into.push({ labels: { ...labels }, value: value.current });
  }
}

interface Buckets {
  /** Observations per bucket, not cumulative; the last counts those above every bound. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** Observations counted into buckets, per label set: Prometheus' histogram. */
export class HistogramSeries<L extends string> extends Series<L, Buckets> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(config: SeriesConfig<L> & { buckets: readonly number[] }) {
    super(config);
    const bounds = config.buckets;
    if (
      bounds.length === 0 ||
      bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]))
    ) {
      throw new Error(`${config.name}: buckets must be finite and increasing`);
    }
    this.bounds = [...bounds];
  }

  observe(labels: LabelSet<L>, value: number): void {
    finite(this.name, value);
    const buckets = this.valueOf(labels);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    buckets.counts[i]++;
    buckets.sum += value;
    buckets.count++;
  }

  protected initial(): Buckets {
    return { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }

  /** As prom-client's histogram gives them: cumulative `_bucket` samples (`le`), `+Inf`, `_sum`, `_count`. */
  protected samples(labels: LabelSet<L>, value: Buckets, into: Sample[]): void {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += value.counts[i];
      into.push({
        labels: { le: this.bounds[i], ...labels },
        value: cumulative,
        metricName: bucket,
      });
    }
    into.push({ labels: { le: '+Inf', ...labels }, value: value.count, metricName: bucket });
    into.push({ labels: { ...labels }, value: value.sum, metricName: `${this.name}_sum` });
    into.push({ labels: { ...labels }, value: value.count, metricName: `${this.name}_count` });
  }
}

function finite(name: string, value: number): number {
  if (!Number.isFinite(value)) throw new TypeError(`${name}: not a finite number: ${value}`);
  return value;
}
