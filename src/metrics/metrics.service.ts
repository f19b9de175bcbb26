import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  Aggregator,
  Counter,
  Gauge,
  Histogram,
  MetricObjectWithValues,
  MetricValue,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';
import { PRIMARY_LINK, PrimaryLink } from '../cluster/primary-link';
import { MetricsConfig, metricsConfig } from '../config/metrics.config';
import { CounterSeries, GaugeSeries, HistogramSeries } from './series';

/** IPC topics of the group's metrics: a worker asks the primary to aggregate; the primary collects from each. */
export const METRICS_TOPICS = {
  aggregate: 'metrics.aggregate',
  collect: 'metrics.collect',
} as const;

/** What a worker gives the primary to aggregate: its registry as JSON. */
export type WorkerMetrics = MetricObjectWithValues<MetricValue<string>>[];

/** One sample a gauge source reports at scrape time. */
export interface GaugeSample {
  labels?: Record<string, string>;
  value: number;
}

const PREFIX = 'modelgate_';

/** Seconds. Predictions on a loaded ONNX model take a millisecond or so; a cold load takes seconds. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LOAD_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const CHECK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Rows in one runtime call. */
const ROW_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000];
/** Requests stacked in one runtime call (MODEL_BATCH_MAX_SIZE is 256 rows by default). */
const BATCH_REQUEST_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];
/** Seconds a request waited for its runtime call: from nothing (an idle model) to a saturated one. */
const QUEUE_WAIT_BUCKETS = [0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The Prometheus registry of this process and every metric in it, with one
 * method per thing that happened. Its own registry, not prom-client's global
 * one, so two apps in one process (tests) do not share counts. With
 * METRICS_ENABLED=false every method does nothing and /metrics is a 404.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly enabled: boolean;

  private readonly httpRequests: CounterSeries<'method' | 'route' | 'status' | 'model' | 'version'>;
  private readonly httpDuration: HistogramSeries<
    'method' | 'route' | 'status' | 'model' | 'version'
  >;
  private readonly grpcRequests: CounterSeries<'method' | 'code' | 'model' | 'version'>;
  private readonly grpcDuration: HistogramSeries<'method' | 'code' | 'model' | 'version'>;
  private readonly predictionRows: CounterSeries<'model' | 'version'>;
  private readonly batchRows: HistogramSeries<'model'>;
  private readonly batchRequests: HistogramSeries<'model'>;
  private readonly queueWait: HistogramSeries<'model'>;
  /** Requests waiting per loaded version (`name/version`), summed per model at scrape. */
  private readonly queueDepths = new Map<string, { model: string; depth: number }>();
  private readonly inFlight: GaugeSeries<'model'>;
  private readonly modelLoads: Counter<'model' | 'outcome'>;
  private readonly modelLoadDuration: Histogram<'outcome'>;
  private readonly modelSwaps: Counter<'model' | 'outcome'>;
  private readonly modelSwapDuration: Histogram<'outcome'>;
  private readonly modelRollbacks: Counter<'model' | 'outcome'>;
  private readonly dependencyUp: Gauge<'dependency'>;
  private readonly dependencyChecks: Counter<'dependency' | 'outcome' | 'kind'>;
  private readonly dependencyDuration: Histogram<'dependency'>;
  private readonly dependencyLastSuccess: Gauge<'dependency'>;
  private readonly upstreamRequests: Counter<'service' | 'caller'>;

  constructor(
    @Inject(metricsConfig.KEY) config: MetricsConfig,
    /** In a worker of API_WORKERS > 1: /metrics shows the whole group, aggregated by the primary. */
    @Optional() @Inject(PRIMARY_LINK) private readonly primary: PrimaryLink = null,
  ) {
    this.enabled = config.enabled;
    primary?.handle(METRICS_TOPICS.collect, () => this.registry.getMetricsAsJSON());
    const registers = [this.registry];
    const http = ['method', 'route', 'status', 'model', 'version'] as const;
    this.httpRequests = new CounterSeries({
      name: `${PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by route pattern, status and the model version that answered',
      labelNames: http,
      registers,
    });
    this.httpDuration = new HistogramSeries({
      name: `${PREFIX}http_request_duration_seconds`,
      help: 'Time from receiving a request to the end of its answer',
      labelNames: http,
      buckets: REQUEST_BUCKETS,
      registers,
    });
    const grpc = ['method', 'code', 'model', 'version'] as const;
    this.grpcRequests = new CounterSeries({
      name: `${PREFIX}grpc_requests_total`,
      help: 'gRPC calls answered, by method, status code and the model version that answered',
      labelNames: grpc,
      registers,
    });
    this.grpcDuration = new HistogramSeries({
      name: `${PREFIX}grpc_request_duration_seconds`,
      help: 'Time from receiving a gRPC call to its answer',
      labelNames: grpc,
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.predictionRows = new CounterSeries({
      name: `${PREFIX}prediction_rows_total`,
      help: 'Rows predicted',
      labelNames: ['model', 'version'],
      registers,
    });
    this.batchRows = new HistogramSeries({
      name: `${PREFIX}prediction_batch_rows`,
      help: 'Rows per runtime call: a batched call of stacked requests, or one request of an unbatched model',
      labelNames: ['model'],
      buckets: ROW_BUCKETS,
      registers,
    });
    this.batchRequests = new HistogramSeries({
      name: `${PREFIX}prediction_batch_requests`,
      help: 'Requests per runtime call (1 for an unbatched model)',
      labelNames: ['model'],
      buckets: BATCH_REQUEST_BUCKETS,
      registers,
    });
    this.queueWait = new HistogramSeries({
      name: `${PREFIX}prediction_queue_wait_seconds`,
      help: "Time a request waited for its runtime call (the batcher's or the admission queue)",
      labelNames: ['model'],
      buckets: QUEUE_WAIT_BUCKETS,
      registers,
    });
    // Gauges are summed over workers unless they say otherwise (`aggregator`):
    // in-flight predictions, bytes and counts held by each worker add up.
    const depths = this.queueDepths;
    new Gauge({
      name: `${PREFIX}prediction_queue_depth`,
      help: "Requests waiting in a batched model's queue for a runtime call",
      labelNames: ['model'],
      registers,
      collect() {
        this.reset();
        const perModel = new Map<string, number>();
        for (const { model, depth } of depths.values()) {
          perModel.set(model, (perModel.get(model) ?? 0) + depth);
        }
        for (const [model, depth] of perModel) this.set({ model }, depth);
      },
    });
    this.inFlight = new GaugeSeries({
      name: `${PREFIX}predictions_in_flight`,
      help: 'Predictions in flight per model (decoded and not yet answered: queued or running)',
      labelNames: ['model'],
      registers,
    });
    this.modelLoads = new Counter({
      name: `${PREFIX}model_loads_total`,
      help: 'Model version loads (download, load, warm-up), by outcome',
      labelNames: ['model', 'outcome'],
      registers,
    });
    this.modelLoadDuration = new Histogram({
      name: `${PREFIX}model_load_duration_seconds`,
      help: 'Time to download, load and warm up one model version',
      labelNames: ['outcome'],
      buckets: LOAD_BUCKETS,
      registers,
    });
    this.modelSwaps = new Counter({
      name: `${PREFIX}model_swaps_total`,
      help: 'Hot swaps to a new version: swapped, or failed (the old version keeps serving)',
      labelNames: ['model', 'outcome'],
      registers,
    });
    this.modelSwapDuration = new Histogram({
      name: `${PREFIX}model_swap_duration_seconds`,
      help: 'Time from finding a new version to serving it (its load included)',
      labelNames: ['outcome'],
      buckets: LOAD_BUCKETS,
      registers,
    });
    this.modelRollbacks = new Counter({
      name: `${PREFIX}model_rollbacks_total`,
      help:
        'Promotions undone by the rollout watch: rolled_back (the alias moved back in MLflow), ' +
        'vetoed (MLflow refused the move; instances stopped serving the version), ' +
        'or vetoed_mlflow_unavailable (MLflow could not be reached for the move; the same veto)',
      labelNames: ['model', 'outcome'],
      registers,
    });
    this.dependencyUp = new Gauge({
      name: `${PREFIX}dependency_up`,
      help: 'Last background check of a dependency: 1 up, 0 down (down if any worker saw it down)',
      labelNames: ['dependency'],
      aggregator: 'min',
      registers,
    });
    this.dependencyChecks = new Counter({
      name: `${PREFIX}dependency_checks_total`,
      help: 'Background dependency checks, by outcome and failure kind',
      labelNames: ['dependency', 'outcome', 'kind'],
      registers,
    });
    this.dependencyDuration = new Histogram({
      name: `${PREFIX}dependency_check_duration_seconds`,
      help: 'Time one background dependency check took',
      labelNames: ['dependency'],
      buckets: CHECK_BUCKETS,
      registers,
    });
    this.dependencyLastSuccess = new Gauge({
      name: `${PREFIX}dependency_last_success_timestamp_seconds`,
      help: 'When a dependency last passed its check (Unix time)',
      labelNames: ['dependency'],
      aggregator: 'max',
      registers,
    });
    this.upstreamRequests = new Counter({
      name: `${PREFIX}upstream_requests_total`,
      help: 'HTTP requests sent to MLflow and Airflow, by caller',
      labelNames: ['service', 'caller'],
      registers,
    });
    if (this.enabled) {
      collectDefaultMetrics({ register: this.registry });
    }
  }

  httpRequest(
    labels: { method: string; route: string; status: number; model?: string; version?: string },
    seconds: number,
  ): void {
    if (!this.enabled) return;
    const values = {
      method: labels.method,
      route: labels.route,
      status: String(labels.status),
      model: labels.model ?? '',
      version: labels.version ?? '',
    };
    this.httpRequests.inc(values);
    this.httpDuration.observe(values, seconds);
  }

  /** One answered gRPC call: `method` is the RPC's name, `code` grpc-js's name of its status. */
  grpcRequest(
    labels: { method: string; code: string; model?: string; version?: string },
    seconds: number,
  ): void {
    if (!this.enabled) return;
    const values = {
      method: labels.method,
      code: labels.code,
      model: labels.model ?? '',
      version: labels.version ?? '',
    };
    this.grpcRequests.inc(values);
    this.grpcDuration.observe(values, seconds);
  }

  predictionStarted(model: string): void {
    if (this.enabled) this.inFlight.inc({ model });
  }

  predictionFinished(model: string, version: string, rows: number | undefined): void {
    if (!this.enabled) return;
    this.inFlight.dec({ model });
    if (rows !== undefined) this.predictionRows.inc({ model, version }, rows);
  }

  /** One runtime call of `rows` rows from `requests` requests, each having waited `waitsMs`. */
  predictionBatch(model: string, rows: number, requests: number, waitsMs: readonly number[]): void {
    if (!this.enabled) return;
    this.batchRows.observe({ model }, rows);
    this.batchRequests.observe({ model }, requests);
    for (const ms of waitsMs) this.queueWait.observe({ model }, ms / 1000);
  }

  /** Requests waiting now in the queue of version `version` of `model`. */
  predictionQueue(model: string, version: string, depth: number): void {
    if (!this.enabled) return;
    const key = `${model}/${version}`;
    if (depth === 0) this.queueDepths.delete(key);
    else this.queueDepths.set(key, { model, depth });
  }

  modelLoaded(model: string, outcome: 'loaded' | 'failed', seconds: number): void {
    if (!this.enabled) return;
    this.modelLoads.inc({ model, outcome });
    this.modelLoadDuration.observe({ outcome }, seconds);
  }

  modelSwapped(model: string, outcome: 'swapped' | 'failed', seconds: number): void {
    if (!this.enabled) return;
    this.modelSwaps.inc({ model, outcome });
    this.modelSwapDuration.observe({ outcome }, seconds);
  }

  modelRolledBack(
    model: string,
    outcome: 'rolled_back' | 'vetoed' | 'vetoed_mlflow_unavailable',
  ): void {
    if (!this.enabled) return;
    this.modelRollbacks.inc({ model, outcome });
  }

  dependencyChecked(
    dependency: string,
    up: boolean,
    seconds: number,
    kind: string | undefined,
    lastSuccess: Date | undefined,
  ): void {
    if (!this.enabled) return;
    this.dependencyUp.set({ dependency }, up ? 1 : 0);
    this.dependencyChecks.inc({ dependency, outcome: up ? 'up' : 'down', kind: kind ?? '' });
    this.dependencyDuration.observe({ dependency }, seconds);
    if (lastSuccess) this.dependencyLastSuccess.set({ dependency }, lastSuccess.getTime() / 1000);
  }

  upstreamRequest(service: string, caller: string): void {
    if (this.enabled) this.upstreamRequests.inc({ service, caller });
  }

  /**
   * A gauge read at scrape time from state kept elsewhere (loaded models,
   * readiness).
   */
  gaugeFrom(
    name: string,
    help: string,
    labelNames: readonly string[],
    read: () => GaugeSample[],
    /** How the workers' values combine into the group's (API_WORKERS > 1); summed by default. */
    aggregator: Aggregator = 'sum',
  ): void {
    if (!this.enabled) return;
    new Gauge({
      name: `${PREFIX}${name}`,
      help,
      labelNames,
      aggregator,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const sample of read()) {
          if (sample.labels) this.set(sample.labels, sample.value);
          else this.set(sample.value);
        }
      },
    });
  }

  /** A running total kept elsewhere (the model cache's hits…), read at scrape time. */
  counterFrom(name: string, help: string, read: () => number): void {
    if (!this.enabled) return;
    new Counter({
      name: `${PREFIX}${name}`,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(Math.max(0, read()));
      },
    });
  }

  /**
   * The text exposition format, and its content type: this process's
   * metrics, or in a worker the whole group's (the primary aggregates every
   * worker's with prom-client's AggregatorRegistry).
   */
  async scrape(): Promise<{ contentType: string; body: string }> {
    if (this.primary) {
      return this.primary.request<{ contentType: string; body: string }>(METRICS_TOPICS.aggregate);
    }
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
