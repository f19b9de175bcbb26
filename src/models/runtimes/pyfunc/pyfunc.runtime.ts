import * as path from 'node:path';
import { ModelSignature } from '../../model-signature.types';
import { Tensor, TensorSpec } from '../../tensor.types';
import { ModelRuntime, PredictOptions, RuntimeAnswer } from '../model-runtime';
import { inputSpecs } from '../scoring-server.runtime';
import { PyfuncWorker } from './pyfunc-worker';
import { WorkerPool } from './worker-pool';

export interface PyfuncRuntimeOptions {
  /** The model's flavor (`sklearn`, `xgboost`, `python_function`, …), for the platform metadata reports. */
  flavor: string;
  /** Names the version in logs and errors: `iris v3`. */
  label: string;
  python: string;
  /** The version's cached artifacts (where its MLmodel file is). */
  directory: string;
  workers: number;
  maxRssBytes: number;
  predictTimeoutMs: number;
  startTimeoutMs: number;
  /** The workers' environment (PyfuncConfig.workerEnv); this process's when absent. */
  env?: NodeJS.ProcessEnv;
}

/** worker.py sits beside this file, in src/ as in dist/ (nest-cli.json copies it). */
export const WORKER_SCRIPT = path.join(__dirname, 'worker.py');

/** Requests that may wait per worker before more are refused. */
const QUEUE_PER_WORKER = 64;

/**
 * A model served by Python worker processes Modelgate starts itself, each
 * answering with `mlflow.pyfunc.load_model(...).predict` on the version's own
 * artifacts. Inputs and outputs come from the signature; the outputs' datatypes
 * are the signature's, whatever values one answer holds.
 */
export class PyfuncRuntime implements ModelRuntime {
  readonly kind = 'pyfunc' as const;
  readonly platform: string;

  private constructor(
    private readonly pool: WorkerPool,
    private readonly signature: ModelSignature,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
    flavor: string,
  ) {
    this.platform = `mlflow_${flavor}`;
  }

  /** Starts the workers; fails with the first reason one could not start. */
  static async load(
    signature: ModelSignature | undefined,
    options: PyfuncRuntimeOptions,
  ): Promise<PyfuncRuntime> {
    if (!signature || signature.inputs.length === 0) {
      throw new Error(
        'the model has no signature: its Python workers could not be sent typed inputs; log it with one',
      );
    }
    const pool = await WorkerPool.start({
      label: options.label,
      size: options.workers,
      queueLimit: QUEUE_PER_WORKER * options.workers,
      predictTimeoutMs: options.predictTimeoutMs,
      maxRssBytes: options.maxRssBytes,
      restartBaseMs: 250,
      restartMaxMs: 30_000,
      stopGraceMs: 5_000,
      startWorker: () =>
        PyfuncWorker.start({
          python: options.python,
          args: [WORKER_SCRIPT, options.directory],
          label: options.label,
          startTimeoutMs: options.startTimeoutMs,
          env: options.env,
        }),
    });
    return new PyfuncRuntime(
      pool,
      signature,
      inputSpecs(signature),
      outputSpecs(signature),
      options.flavor,
    );
  }

  /** The live workers' process ids (status, tests). */
  get pids(): number[] {
    return this.pool.pids;
  }

  /** Every output `predict` gives: a Python model cannot compute fewer. */
  async predict(feeds: readonly Tensor[], options: PredictOptions = {}): Promise<RuntimeAnswer> {
    const params = this.signature.params.length > 0 ? options.params : undefined;
    const answer = await this.pool.run({ feeds, params });
    return { outputs: answer.outputs, extras: { mlflowForm: answer.form } };
  }

  dispose(): Promise<void> {
    return this.pool.dispose();
  }
}

/**
 * The outputs the signature declares, named as the worker names them: by
 * their names, and an unnamed only output `predictions` (what MLflow's
 * scoring server holds in its answer).
 */
function outputSpecs(signature: ModelSignature): TensorSpec[] {
  const specs = inputSpecs({ ...signature, inputs: signature.outputs });
  return specs.map((spec, index) =>
    signature.outputs[index].name === undefined && specs.length === 1
      ? { ...spec, name: 'predictions' }
      : spec,
  );
}
