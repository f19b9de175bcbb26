import { Injectable, OnModuleInit } from '@nestjs/common';
import { OnAppEvent } from '../common/events/event-bus';
import {
  ModelFailedEvent,
  ModelLoadedEvent,
  ModelRolledBackEvent,
  ModelSwappedEvent,
  ModelVetoedEvent,
  PredictionBatchedEvent,
  PredictionFinishedEvent,
  PredictionQueueEvent,
  PredictionStartedEvent,
} from '../common/events/event-map';
import { ModelRegistry } from '../models/model-registry.service';
import { MetricsService } from './metrics.service';

/**
 * Feeds the model and prediction metrics from the events the models and
 * inference modules tell (loads, swaps, predictions), and reads the
 * registry's cache stats and views at scrape time.
 */
@Injectable()
export class ModelMetricsObserver implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: ModelRegistry,
  ) {}

  onModuleInit(): void {
    if (this.metrics.enabled) this.cacheMetrics();
  }

  @OnAppEvent('model.loaded')
  modelLoaded(e: ModelLoadedEvent): void {
    this.metrics.modelLoaded(e.name, 'loaded', e.durationMs / 1000);
  }

  @OnAppEvent('model.failed')
  modelFailed(e: ModelFailedEvent): void {
    this.metrics.modelLoaded(e.name, 'failed', e.durationMs / 1000);
  }

  @OnAppEvent('model.swapped')
  modelSwapped(e: ModelSwappedEvent): void {
    this.metrics.modelSwapped(e.name, e.outcome, e.durationMs / 1000);
  }

  /** Told once, by the instance that acted: the cluster's sum counts each rollback once. */
  @OnAppEvent('model.rolledBack')
  modelRolledBack(e: ModelRolledBackEvent): void {
    this.metrics.modelRolledBack(e.name, 'rolled_back');
  }

  @OnAppEvent('model.vetoed')
  modelVetoed(e: ModelVetoedEvent): void {
    // Refused (no write credentials) or MLflow away: the operator's next step differs.
    this.metrics.modelRolledBack(
      e.name,
      e.cause === 'mlflow refused' ? 'vetoed' : 'vetoed_mlflow_unavailable',
    );
  }

  @OnAppEvent('prediction.started')
  predictionStarted(e: PredictionStartedEvent): void {
    this.metrics.predictionStarted(e.name);
  }

  @OnAppEvent('prediction.finished')
  predictionFinished(e: PredictionFinishedEvent): void {
    this.metrics.predictionFinished(e.name, e.version, e.rows);
  }

  @OnAppEvent('prediction.batched')
  predictionBatched(e: PredictionBatchedEvent): void {
    this.metrics.predictionBatch(e.name, e.rows, e.requests, e.queueWaitsMs);
  }

  @OnAppEvent('prediction.queue')
  predictionQueue(e: PredictionQueueEvent): void {
    this.metrics.predictionQueue(e.name, e.version, e.depth);
  }

  private cacheMetrics(): void {
    const registry = this.registry;
    const metrics = this.metrics;
    metrics.counterFrom(
      'model_cache_hits_total',
      'Requests that found their model loaded',
      () => registry.stats.hits,
    );
    metrics.counterFrom(
      'model_cache_misses_total',
      'Requests that had to wait for a load',
      () => registry.stats.misses,
    );
    metrics.counterFrom(
      'model_cache_evictions_total',
      'Versions unloaded to stay within the cache bounds',
      () => registry.stats.evictions,
    );
    metrics.gaugeFrom(
      'model_cache_bytes',
      'Bytes of model files loaded (with workers: over all of them, each holds its own copy)',
      [],
      () => [{ value: registry.loadedBytes() }],
    );
    // Every worker loads the same versions: the group's count is the most any worker holds.
    metrics.gaugeFrom(
      'models_loaded',
      'Model versions loaded in memory (with workers: the most any one worker holds)',
      [],
      () => [
        {
          value: new Set(registry.list().flatMap((m) => (m.versionKey ? [m.versionKey] : []))).size,
        },
      ],
      'max',
    );
    metrics.gaugeFrom(
      'model_info',
      'One series per served reference: which version answers it and its state',
      ['reference', 'version', 'state'],
      () =>
        registry.list().map((m) => ({
          labels: { reference: m.key, version: m.version ?? '', state: m.state },
          value: 1,
        })),
      // An info metric: 1 when any worker serves the reference so, never a count of workers.
      'max',
    );
  }
}
