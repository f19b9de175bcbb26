import { Injectable, OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { InferenceService } from '../inference/inference.service';
import { LoadedModel } from '../models/loaded-model';
import { ModelLoadEvent, ModelRegistry, ModelSwapEvent } from '../models/model-registry.service';
import { MetricsService } from './metrics.service';

/**
 * Feeds the model and prediction metrics: observes the model registry (loads,
 * swaps) and the inference service (rows, requests in flight), and reads the
 * registry's cache stats at scrape time.
 */
@Injectable()
export class ModelMetricsObserver implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly registry: ModelRegistry,
    private readonly moduleRef: ModuleRef,
  ) {}

  /** Before any bootstrap hook: MODELS start loading in ModelRegistry.onApplicationBootstrap. */
  onModuleInit(): void {
    if (!this.metrics.enabled) return;
    this.registry.observe({
      modelLoaded: (e: ModelLoadEvent) =>
        this.metrics.modelLoaded(e.name, e.outcome, e.durationMs / 1000),
      modelSwapped: (e: ModelSwapEvent) =>
        this.metrics.modelSwapped(e.name, e.outcome, e.durationMs / 1000),
    });
    // The inference module keeps its service to itself; find it without a module cycle.
    const inference = this.moduleRef.get(InferenceService, { strict: false });
    inference.observe({
      predictionStarted: (model: LoadedModel) => this.metrics.predictionStarted(model.name),
      predictionFinished: (model: LoadedModel, rows: number | undefined) =>
        this.metrics.predictionFinished(model.name, model.version, rows),
    });
    this.cacheMetrics();
  }

  private cacheMetrics(): void {
    const stats = this.registry.stats;
    const metrics = this.metrics;
    metrics.counterFrom(
      'model_cache_hits_total',
      'Requests that found their model loaded',
      () => stats.hits,
    );
    metrics.counterFrom(
      'model_cache_misses_total',
      'Requests that had to wait for a load',
      () => stats.misses,
    );
    metrics.counterFrom(
      'model_cache_evictions_total',
      'Versions unloaded to stay within the cache bounds',
      () => stats.evictions,
    );
    metrics.gaugeFrom('model_cache_bytes', 'Bytes of model files loaded', [], () => [
      { value: this.registry.loadedBytes() },
    ]);
    metrics.gaugeFrom('models_loaded', 'Model versions loaded in memory', [], () => [
      { value: new Set(this.registry.list().flatMap((b) => (b.model ? [b.model.key] : []))).size },
    ]);
    metrics.gaugeFrom(
      'model_info',
      'One series per served reference: which version answers it and its state',
      ['reference', 'version', 'state'],
      () =>
        this.registry.list().map((b) => ({
          labels: { reference: b.key, version: b.model?.version ?? '', state: b.state },
          value: 1,
        })),
    );
  }
}
