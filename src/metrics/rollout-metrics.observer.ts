import { Injectable, OnModuleInit } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { OnAppEvent } from '../common/events/event-bus';
import {
  ModelEvictedEvent,
  ModelSwappedEvent,
  PredictionFinishedEvent,
  RolloutShadowedEvent,
} from '../common/events/event-map';
import { ModelRegistry } from '../models/model-registry.service';
import { Rollouts } from '../models/rollouts/rollouts.service';
import { MetricsService } from './metrics.service';
import { CounterSeries, HistogramSeries, LabelSet } from './series';

/** Seconds, as the HTTP histograms' (metrics.service.ts REQUEST_BUCKETS). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/**
 * |champion − challenger| of a pair's scores: from float32 noise (1e-6,
 * MODEL_ONNX_TOLERANCE's scale) to probabilities that disagree outright.
 */
const DIFFERENCE_BUCKETS = [1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1];

type VersionLabels = 'model' | 'version' | 'variant';

/**
 * Per-version prediction metrics (requests by outcome, errors, latency),
 * labelled with the rollout side, and the shadow's agreement: what a canary
 * or a shadow is judged by. Series of versions no longer served are removed
 * on each swap and eviction, so the label sets stay bounded by the versions
 * loaded (and those draining since the last swap).
 */
@Injectable()
export class RolloutMetricsObserver implements OnModuleInit {
  private requests?: CounterSeries<VersionLabels | 'outcome'>;
  private errors?: CounterSeries<VersionLabels>;
  private latency?: HistogramSeries<VersionLabels>;
  private shadowed?: Counter<'model' | 'outcome'>;
  private agreements?: Counter<'model'>;
  private difference?: Histogram<'model'>;

  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: ModelRegistry,
    private readonly rollouts: Rollouts,
  ) {}

  onModuleInit(): void {
    if (!this.metrics.enabled) return;
    const registers = [this.metrics.registry];
    const labelNames = ['model', 'version', 'variant'] as const;
    this.requests = new CounterSeries({
      name: 'modelgate_model_version_requests_total',
      help: 'Predictions run by each loaded version, by outcome (ok, failed, rejected, refused) and rollout side (champion, challenger, shadow; empty without a rollout)',
      labelNames: [...labelNames, 'outcome'],
      registers,
    });
    this.errors = new CounterSeries({
      name: 'modelgate_model_version_errors_total',
      help: "Predictions that failed by the version's fault (its runtime threw, or it was unavailable)",
      labelNames,
      registers,
    });
    this.latency = new HistogramSeries({
      name: 'modelgate_model_version_request_duration_seconds',
      help: 'Time from acquiring the version to its answer or failure',
      labelNames,
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.shadowed = new Counter({
      name: 'modelgate_rollout_shadow_total',
      help: 'Shadow copies: compared (the challenger answered too), failed, dropped (ROLLOUT_SHADOW_MAX_IN_FLIGHT copies were running)',
      labelNames: ['model', 'outcome'],
      registers,
    });
    this.agreements = new Counter({
      name: 'modelgate_rollout_shadow_label_agreements_total',
      help: 'Compared pairs whose label outputs were equal (of modelgate_rollout_shadow_total{outcome="compared"})',
      labelNames: ['model'],
      registers,
    });
    this.difference = new Histogram({
      name: 'modelgate_rollout_shadow_score_difference',
      help: 'Largest absolute difference between the floating-point outputs of a compared pair',
      labelNames: ['model'],
      buckets: DIFFERENCE_BUCKETS,
      registers,
    });
    const rollouts = this.rollouts;
    new Gauge({
      name: 'modelgate_rollout_challenger_percent',
      help: 'Share of callers the challenger answers (canary), 0 in shadow mode, by model and mode',
      labelNames: ['model', 'mode', 'champion_version', 'challenger_version'],
      // Every worker follows the same rollout: the group's value is any one's.
      aggregator: 'max',
      registers,
      collect() {
        this.reset();
        for (const r of rollouts.views()) {
          const labels = {
            model: r.name,
            mode: r.mode,
            champion_version: r.champion.version ?? '',
            challenger_version: r.challenger.version ?? '',
          };
          this.set(labels, r.mode === 'canary' ? r.percent : 0);
        }
      },
    });
  }

  @OnAppEvent('prediction.finished')
  predictionFinished(e: PredictionFinishedEvent): void {
    if (!this.requests) return;
    const variant = e.variant ?? '';
    const labels = { model: e.name, version: e.version, variant };
    // A literal, not `{ ...labels, outcome }`: V8 reads spread objects slowly (json.logger.ts).
    this.requests.inc({ model: e.name, version: e.version, variant, outcome: e.outcome });
    if (e.outcome === 'failed') this.errors?.inc(labels);
    this.latency?.observe(labels, e.durationMs / 1000);
  }

  @OnAppEvent('rollout.shadowed')
  shadowCopied(e: RolloutShadowedEvent): void {
    if (!this.shadowed) return;
    this.shadowed.inc({ model: e.name, outcome: e.outcome });
    if (e.outcome !== 'compared') return;
    // Only pairs that have labels count towards agreement: a regressor's say nothing of it.
    if (e.labelsEqual) this.agreements?.inc({ model: e.name });
    else if (e.labelsEqual === false) this.agreements?.inc({ model: e.name }, 0);
    if (e.scoreDifference !== undefined) {
      this.difference?.observe({ model: e.name }, e.scoreDifference);
    }
  }

  @OnAppEvent('model.swapped')
  swapped(_e: ModelSwappedEvent): void {
    this.forgetUnserved();
  }

  @OnAppEvent('model.evicted')
  evicted(_e: ModelEvictedEvent): void {
    this.forgetUnserved();
  }

  /** Removes the series of versions no reference serves any more. */
  private forgetUnserved(): void {
    const served = new Set(
      this.registry.list().flatMap((m) => (m.versionKey ? [m.versionKey] : [])),
    );
    const unserved = (labels: LabelSet<'model' | 'version'>): boolean =>
      !served.has(`${labels.model}/${labels.version}`);
    this.requests?.removeWhere(unserved);
    this.errors?.removeWhere(unserved);
    this.latency?.removeWhere(unserved);
  }
}
