import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { LoadedModel } from '../models/loaded-model';
import { ModelLoader } from '../models/model-loader.service';
import { ModelNotFoundError, ModelNotReadyError } from '../models/model.errors';
import { RuntimeAnswer } from '../models/runtimes/model-runtime';
import { UpstreamError } from '../common/upstream/upstream.error';
import { ModelReference } from '../common/model-reference';
import { ModelRegistry } from '../models/model-registry.service';
import { ModelWarmup } from '../models/model-warmup';
import { Admission } from './admission';
import { bindInputs } from './binding/input-binder';
import { decodeMlflowRequest, mlflowResultKind } from './codecs/mlflow-scoring.codec';
import { InvalidInputError } from './inference.error';
import { Tensor } from '../models/tensor.types';
import { InferenceInput, InferenceResult } from './inference.types';

export interface InferOptions {
  /** Only these outputs (Open Inference `outputs`); all when absent. */
  outputs?: readonly string[];
}

/** Told when a prediction starts and ends (the metrics module registers one). */
export interface InferenceObserver {
  predictionStarted?(model: LoadedModel): void;
  /** `rows` is absent when the prediction failed. */
  predictionFinished?(model: LoadedModel, rows: number | undefined): void;
}

/**
 * The one inference path every protocol adapter calls: find the version that
 * serves the reference, check the input against its signature, run it. No call
 * to MLflow or Airflow happens here once a model is loaded.
 */
@Injectable()
export class InferenceService implements OnModuleInit, ModelWarmup {
  private readonly logger = new Logger(InferenceService.name);
  private readonly observers: InferenceObserver[] = [];

  constructor(
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader,
    private readonly admission: Admission,
  ) {}

  onModuleInit(): void {
    this.loader.useWarmup(this);
  }

  /** Registers an observer of predictions; an observer that throws is logged and ignored. */
  observe(observer: InferenceObserver): void {
    this.observers.push(observer);
  }

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

  async infer(
    ref: ModelReference,
    input: InferenceInput,
    options: InferOptions = {},
  ): Promise<InferenceResult> {
    const { model, release } = await this.registry.acquire(ref);
    this.notify((o) => o.predictionStarted?.(model));
    let rows: number | undefined;
    try {
      const result = await this.admission.run(model.key, () => this.run(model, input, options));
      rows = result.rows;
      return result;
    } finally {
      release();
      this.notify((o) => o.predictionFinished?.(model, rows));
    }
  }

  /** The version that would answer `ref`, loading it if needed (for metadata and readiness). */
  async describe(ref: ModelReference): Promise<LoadedModel> {
    const { model, release } = await this.registry.acquire(ref);
    release();
    return model;
  }

  /** Runs the model's serving example once, before the model takes traffic. */
  async warmUp(model: LoadedModel): Promise<void> {
    const example = model.info.servingExample;
    if (example === undefined) {
      this.logger.warn(`${model.key} has no input example: loaded without a warm-up run`);
      return;
    }
    const { input } = decodeMlflowRequest(example, 'application/json');
    await this.run(model, input, {});
  }

  private notify(call: (observer: InferenceObserver) => void): void {
    for (const observer of this.observers) {
      try {
        call(observer);
      } catch (error) {
        this.logger.warn(`an inference observer failed: ${String(error)}`);
      }
    }
  }

  private async run(
    model: LoadedModel,
    input: InferenceInput,
    options: InferOptions,
  ): Promise<InferenceResult> {
    const feeds = bindInputs(input, model.info.signature, [...model.inputs]);
    // A delegated model's outputs are known only from its answers.
    const declared = model.outputs.length > 0;
    const unknown = options.outputs?.filter((name) => !model.outputs.some((o) => o.name === name));
    if (declared && unknown?.length) {
      throw new InvalidInputError(
        `unknown output ${unknown.join(', ')}; the model has ${model.outputs.map((o) => o.name).join(', ')}`,
        unknown[0],
      );
    }
    let answer: Tensor[] | RuntimeAnswer;
    try {
      answer = await model.runtime.predict(feeds, options.outputs);
    } catch (error) {
      model.failures++;
      // A delegate's own typed failure (server down, input refused) says best what happened.
      if (error instanceof ModelNotReadyError || error instanceof UpstreamError) throw error;
      // In process, the model loaded and passed its warm-up: a failure here comes from this input.
      throw new InvalidInputError(
        `the model rejected the input: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const delegated = Array.isArray(answer) ? undefined : answer;
    const outputs = delegated
      ? selectOutputs(delegated.outputs, options.outputs)
      : (answer as Tensor[]);
    return {
      modelName: model.name,
      modelVersion: model.version,
      outputs,
      raw: delegated?.raw,
      // MLflow shapes its answer by the signature, not by how the request came.
      inputKind: mlflowResultKind(input, model.info.signature),
      rows: feeds[0]?.shape[0] ?? 0,
    };
  }
}

function selectOutputs(outputs: Tensor[], names: readonly string[] | undefined): Tensor[] {
  if (!names?.length) return outputs;
  const missing = names.filter((name) => !outputs.some((o) => o.name === name));
  if (missing.length > 0) {
    throw new InvalidInputError(
      `unknown output ${missing.join(', ')}; the model answered ${outputs.map((o) => o.name).join(', ')}`,
      missing[0],
    );
  }
  return outputs.filter((o) => names.includes(o.name));
}
