import type { CancelSignal } from './cancel-signal';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventBus } from '../common/events/event-bus';
import { PredictionOutcome, PredictionVariant } from '../common/events/event-map';
import { RolloutConfig, rolloutConfig } from '../config/rollout.config';
import { LoadedModel } from '../models/loaded-model';
import { ModelInputRejectedError, ModelNotFoundError } from '../models/model.errors';
import { RuntimeAnswer } from '../models/runtimes/model-runtime';
import { ModelReference } from '../common/model-reference';
import { ModelRegistry } from '../models/model-registry.service';
import { Rollouts } from '../models/rollouts/rollouts.service';
import { ModelBusyError } from './admission';
import { Batcher } from './batching/batcher.service';
import { bindInputs } from './binding/input-binder';
import { bindParams } from './binding/params';
import { InvalidInputError, PredictionCancelledError } from './inference.error';
import { Tensor, TensorSpec } from '../models/tensor.types';
import { InferenceInput, InferenceResult } from './inference.types';
import { CallerFacts, callerKey } from './caller-key';
import { ShadowCopies } from './shadow-copies';

export interface InferOptions {
  /** Only these outputs (Open Inference `outputs`); all when absent. */
  outputs?: readonly string[];
  /**
   * Inference params as the request gave them (MLflow `params`, Open Inference
   * `parameters` without the protocol's keys); checked and defaulted against
   * the model's params schema here.
   */
  params?: Readonly<Record<string, unknown>>;
  /**
   * Aborts when the caller goes away (its connection closed): a request still
   * waiting in its model's batch queue is dropped, never run.
   */
  signal?: CancelSignal;
  /** Who calls: a rollout's canary keeps one caller on one side (caller-key.ts). */
  caller?: CallerFacts;
}

/**
 * The one inference path every protocol adapter calls: find the version that
 * serves the reference, check the input against its signature, choose the
 * outputs asked for, run it. No call to MLflow or Airflow happens here once a
 * model is loaded. Errors pass through as their owners typed them: the
 * binder's InvalidInputError, the runtime's ModelInputRejectedError (the
 * caller's fault), ModelRuntimeError and ModelUnavailableError (the model's),
 * and the batcher's or the admission's ModelBusyError (a full queue).
 */
@Injectable()
export class InferenceService {
  private readonly logger = new Logger(InferenceService.name);
  /** Versions told once that they take no params (`name/version`). */
  private readonly warnedNoParams = new Set<string>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly events: EventBus,
    private readonly batcher: Batcher,
    private readonly rollouts: Rollouts,
    private readonly shadows: ShadowCopies,
    @Inject(rolloutConfig.KEY) private readonly rollout: Pick<RolloutConfig, 'stickyHeader'>,
  ) {}

  /** The reference `/invocations` serves: the first of MODELS. */
  defaultReference(): ModelReference {
    const ref = this.registry.defaultReference;
    if (!ref) {
      throw new ModelNotFoundError(
        '(default)',
        'no default model: set MODELS, or call /v1/models/{name}/invocations',
      );
    }
    return ref;
  }

  /**
   * @throws ModelBusyError when the model runs and queues all it may (503).
   * @throws PredictionCancelledError when `options.signal` aborted while the request waited.
   */
  async infer(
    ref: ModelReference,
    input: InferenceInput,
    options: InferOptions = {},
  ): Promise<InferenceResult> {
    const route = this.rollouts.route(ref, () =>
      callerKey(options.caller, this.rollout.stickyHeader),
    );
    if (!route) return this.predict(ref, input, options);
    const result = await this.predict(route.answer, input, options, route.variant);
    const shadow = route.shadow;
    if (shadow) {
      // After the answer, on its own: the caller's signal is not the copy's.
      const copy = { outputs: options.outputs, params: options.params };
      void this.shadows.send(result, () => this.predict(shadow, input, copy, 'shadow'));
    }
    return { ...result, variant: route.variant };
  }

  private async predict(
    ref: ModelReference,
    input: InferenceInput,
    options: InferOptions,
    variant?: PredictionVariant,
  ): Promise<InferenceResult> {
    // No await when the version is loaded: one promise less per prediction.
    const { model, release } =
      this.registry.acquireLoaded(ref) ?? (await this.registry.acquire(ref));
    const { name, version } = model;
    this.events.emit('prediction.started', { name, version });
    const started = performance.now();
    let rows: number | undefined;
    let outcome: PredictionOutcome = 'failed';
    try {
      const result = await this.run(model, input, options);
      rows = result.rows;
      outcome = 'ok';
      return result;
    } catch (error) {
      outcome = outcomeOf(error);
      throw error;
    } finally {
      release();
      const durationMs = performance.now() - started;
      this.events.emit('prediction.finished', {
        name,
        version,
        outcome,
        durationMs,
        rows,
        variant,
      });
    }
  }

  /** The version that would answer `ref`, loading it if needed (for metadata and readiness). */
  async describe(ref: ModelReference): Promise<LoadedModel> {
    const { model, release } = await this.registry.acquire(ref);
    release();
    return model;
  }

  private async run(
    model: LoadedModel,
    input: InferenceInput,
    options: InferOptions,
  ): Promise<InferenceResult> {
    const feeds = bindInputs(input, model.info.signature, [...model.inputs]);
    const requested = requestedOutputs(options.outputs, model.outputs);
    const { params, ignored } = bindParams(options.params, model.info.signature?.params);
    if (ignored.length > 0) this.warnIgnoredParams(model, ignored);
    let answer: RuntimeAnswer;
    try {
      // Through the batcher: stacked with others when the version is batched, else admitted alone.
      answer = await this.batcher.predict(
        model,
        feeds,
        { outputs: requested, params },
        options.signal,
      );
    } catch (error) {
      // A full queue or a caller gone is no failure of the model's.
      const refused = error instanceof ModelBusyError || error instanceof PredictionCancelledError;
      if (!refused) model.failures++;
      throw error;
    }
    return {
      modelName: model.name,
      modelVersion: model.version,
      modelRunId: model.info.runId,
      signature: model.info.signature,
      outputs: chooseOutputs(answer.outputs, requested),
      rows: feeds[0]?.shape[0] ?? 0,
      extras: answer.extras,
    };
  }

  /** As MLflow warns, but once per version: a client sending params on every request must not flood the log. */
  private warnIgnoredParams(model: LoadedModel, ignored: string[]): void {
    if (this.warnedNoParams.has(model.key)) return;
    this.warnedNoParams.add(model.key);
    this.logger.warn(
      `${model.key} declares no params in its signature: ignoring ${ignored.map((p) => `'${p}'`).join(', ')} (logged once for this version)`,
    );
  }
}

/** Whose fault a failed prediction was (see PredictionOutcome). */
function outcomeOf(error: unknown): PredictionOutcome {
  if (error instanceof ModelBusyError || error instanceof PredictionCancelledError) {
    return 'refused';
  }
  if (error instanceof InvalidInputError || error instanceof ModelInputRejectedError) {
    return 'rejected';
  }
  return 'failed';
}

/**
 * The outputs a caller named (Open Inference `outputs`), checked once: no name
 * twice, and each one the model declares. A delegated model declares none, so
 * its names are checked against its answer ({@link chooseOutputs}).
 * @returns the names, or undefined for every output.
 */
function requestedOutputs(
  names: readonly string[] | undefined,
  declared: readonly TensorSpec[],
): readonly string[] | undefined {
  if (!names?.length) return undefined;
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) {
    throw new InvalidInputError(`output '${twice}' is requested twice`, twice);
  }
  if (declared.length > 0) checkKnown(names, declared);
  return names;
}

/** The answer's outputs in the order asked, or all of them. */
function chooseOutputs(outputs: Tensor[], names: readonly string[] | undefined): Tensor[] {
  if (!names) return outputs;
  checkKnown(names, outputs);
  return names.map((name) => outputs.find((o) => o.name === name) as Tensor);
}

function checkKnown(names: readonly string[], known: readonly { name: string }[]): void {
  const unknown = names.find((name) => !known.some((o) => o.name === name));
  if (unknown !== undefined) {
    throw new InvalidInputError(
      `unknown output '${unknown}'; the model's outputs are ${known.map((o) => `'${o.name}'`).join(', ')}`,
      unknown,
    );
  }
}
