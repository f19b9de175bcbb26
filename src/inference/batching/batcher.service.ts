import type { CancelSignal } from '../cancel-signal';
import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { EventBus, OnAppEvent } from '../../common/events/event-bus';
import { Phases } from '../../common/tracing/spans';
import { ModelsConfig, modelsConfig } from '../../config/models.config';
import { LoadedModel } from '../../models/loaded-model';
import { PredictOptions, RuntimeAnswer } from '../../models/runtimes/model-runtime';
import { Tensor } from '../../models/tensor.types';
import { Admission } from '../admission';
import { BatchPolicy, batchPolicyOf } from './batch-policy';
import { ModelBatcher } from './model-batcher';

/**
 * Where the inference service's runtime calls go: a batched version's
 * requests through its ModelBatcher (created on first use, forgotten once
 * idle, so the map holds only versions with work; keyed by the loaded
 * version itself, so a version loaded again never meets the old runtime), every other version's
 * through the admission queue, one request a call. Either way each runtime
 * call is told (`prediction.batched`), so the batch metrics describe every
 * call, batched or not.
 */
@Injectable()
export class Batcher implements OnModuleDestroy {
  private readonly batchers = new Map<LoadedModel, ModelBatcher>();
  /** Decided once per loaded version (a version's inputs never change). */
  private readonly policies = new WeakMap<LoadedModel, BatchPolicy>();
  private draining = false;

  constructor(
    @Inject(modelsConfig.KEY) private readonly config: Pick<ModelsConfig, 'batching' | 'admission'>,
    private readonly admission: Admission,
    private readonly events: EventBus,
  ) {}

  /** Whether `model` is batched and how, or why not. */
  policyOf(model: LoadedModel): BatchPolicy {
    let policy = this.policies.get(model);
    if (!policy) this.policies.set(model, (policy = batchPolicyOf(model, this.config)));
    return policy;
  }

  /**
   * The runtime's answer to these feeds (already bound to the model's inputs).
   * @param signal aborts a request still waiting (its caller went away).
   * @throws ModelBusyError when the model's queue is full (503, Retry-After).
   */
  async predict(
    model: LoadedModel,
    feeds: readonly Tensor[],
    options: PredictOptions,
    signal?: CancelSignal,
  ): Promise<RuntimeAnswer> {
    // The request's `queue` span until its runtime call begins, then `run`.
    const phases = new Phases();
    try {
      const answer = await this.route(model, feeds, options, signal, (requests) =>
        phases.started(requests),
      );
      phases.end();
      return answer;
    } catch (error) {
      phases.end(error);
      throw error;
    }
  }

  private route(
    model: LoadedModel,
    feeds: readonly Tensor[],
    options: PredictOptions,
    signal: CancelSignal | undefined,
    started: (requests: number) => void,
  ): Promise<RuntimeAnswer> {
    const policy = this.policyOf(model);
    if (!policy.enabled) return this.unbatched(model, feeds, options, started);
    let batcher = this.batchers.get(model);
    if (!batcher) {
      batcher = this.batcherOf(model, policy);
      this.batchers.set(model, batcher);
      if (this.draining) batcher.flush();
    }
    return batcher.submit(feeds, options, signal, started);
  }

  /** Requests waiting and calls running per batched version, for tests and views. */
  load(model: LoadedModel): { queued: number; running: number } {
    return this.batchers.get(model)?.load ?? { queued: 0, running: 0 };
  }

  /** SIGTERM: what waits runs now, without waiting for the delay; nothing is dropped. */
  @OnAppEvent('instance.draining')
  flush(): void {
    this.draining = true;
    for (const batcher of this.batchers.values()) batcher.flush();
  }

  onModuleDestroy(): void {
    this.flush();
  }

  private batcherOf(model: LoadedModel, policy: BatchPolicy & { enabled: true }): ModelBatcher {
    const { name, version, key } = model;
    const runtime = model.runtime;
    const batcher: ModelBatcher = new ModelBatcher(
      key,
      policy,
      (feeds, options) => runtime.predict(feeds, options),
      {
        called: ({ rows, requests, waitsMs }) =>
          this.events.emit('prediction.batched', {
            name,
            version,
            rows,
            requests,
            queueWaitsMs: waitsMs,
          }),
        queued: (depth) => this.events.emit('prediction.queue', { name, version, depth }),
        idle: () => {
          if (this.batchers.get(model) === batcher) this.batchers.delete(model);
        },
      },
    );
    return batcher;
  }

  private async unbatched(
    model: LoadedModel,
    feeds: readonly Tensor[],
    options: PredictOptions,
    started: (requests: number) => void,
  ): Promise<RuntimeAnswer> {
    const { name, version } = model;
    const queuedAt = performance.now();
    return this.admission.run(model.key, () => {
      started(1);
      const waited = performance.now() - queuedAt;
      this.events.emit('prediction.batched', {
        name,
        version,
        rows: feeds[0]?.shape[0] ?? 0,
        requests: 1,
        queueWaitsMs: [waited],
      });
      return model.runtime.predict(feeds, options);
    });
  }
}
