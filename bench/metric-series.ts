/**
 * What one HTTP observation of a prediction costs (a count and a duration
 * over the five labels of modelgate_http_requests_total): prom-client's own
 * Counter and Histogram against src/metrics/series.ts, in one process, one
 * after the other, each run three times. A benchmark, not a test:
 *
 *   npx ts-node bench/metric-series.ts
 *
 * Prints ns per (inc + observe) for each round and the ratio of the medians.
 */
import { Counter, Histogram, Registry } from 'prom-client';
import { CounterSeries, HistogramSeries } from '../src/metrics/series';

const LABELS = ['method', 'route', 'status', 'model', 'version'] as const;
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const OBSERVATIONS = 2_000_000;
const ROUNDS = 3;

type Labels = Record<(typeof LABELS)[number], string>;

interface Pair {
  inc(labels: Labels): void;
  observe(labels: Labels, value: number): void;
}

function measure(name: string, make: (registry: Registry) => Pair): number {
  const pair = make(new Registry());
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < OBSERVATIONS; i++) {
      // As the HTTP hook makes them: a fresh object per answer, two statuses.
      const labels = {
        method: 'POST',
        route: '/invocations',
        status: i & 1 ? '200' : '400',
        model: 'iris-classifier',
        version: '1',
      };
      pair.inc(labels);
      pair.observe(labels, 0.0012);
    }
    rounds.push(Number(process.hrtime.bigint() - started) / OBSERVATIONS);
  }
  console.log(`${name}: ${rounds.map((ns) => ns.toFixed(0)).join(', ')} ns per inc + observe`);
  return rounds.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

const theirs = measure('prom-client Counter + Histogram', (registry) => {
  const config = { labelNames: LABELS, registers: [registry] };
  const counter = new Counter({ name: 'c_total', help: 'c', ...config });
  const histogram = new Histogram({ name: 'h_seconds', help: 'h', buckets: BUCKETS, ...config });
  return { inc: (l) => counter.inc(l), observe: (l, v) => histogram.observe(l, v) };
});
const ours = measure('CounterSeries + HistogramSeries', (registry) => {
  const config = { labelNames: LABELS, registers: [registry] };
  const counter = new CounterSeries({ name: 'c_total', help: 'c', ...config });
  const histogram = new HistogramSeries({
    name: 'h_seconds',
    help: 'h',
    buckets: BUCKETS,
    ...config,
  });
  return { inc: (l) => counter.inc(l), observe: (l, v) => histogram.observe(l, v) };
});
console.log(`median ratio: series take ${(ours / theirs).toFixed(2)}× prom-client's time`);
