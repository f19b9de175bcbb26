import { Tensor, TensorSpec } from '../tensor.types';

export type RuntimeKind = 'onnx' | 'pyfunc' | 'scoring-server';

/** What a caller asks of one prediction beyond its feeds. */
export interface PredictOptions {
  /**
   * Outputs to compute, already checked against `outputs`; a runtime that
   * cannot choose answers them all.
   */
  outputs?: readonly string[];
  /**
   * Inference params (MLflow `params`, Open Inference `parameters`), already
   * checked against the signature's params schema and defaulted; absent when
   * the model declares none. Only runtimes that can pass them on read them.
   */
  params?: Readonly<Record<string, unknown>>;
}

/**
 * What a protocol may want beyond the tensors. Only the adapter of that
 * protocol reads its field; every other caller ignores extras.
 */
export interface RuntimeExtras {
  /**
   * A delegated MLflow scoring server's own `predictions`, passed unchanged to
   * MLflow-protocol callers (the tensors are what could be read of it).
   */
  mlflowPredictions?: unknown;
  /**
   * How MLflow's scoring server writes what a Python model's `predict` gave:
   * `list` (an array: the only output's nested lists), `records` (a data
   * frame or series: one object per row), `dict` (a dict of arrays).
   */
  mlflowForm?: 'list' | 'records' | 'dict';
}

/** One prediction's answer, whatever the runtime. */
export interface RuntimeAnswer {
  /**
   * Every output the model produced (or those asked for, when the runtime can
   * compute only those), each with the datatype the model declares for it: a
   * datatype never depends on the values of one answer.
   */
  outputs: Tensor[];
  extras?: RuntimeExtras;
}

/** A loaded model that can predict. One instance per loaded model version. */
export interface ModelRuntime {
  readonly kind: RuntimeKind;
  /**
   * The platform Open Inference metadata reports, in Triton's vocabulary:
   * `onnxruntime_onnx` in process, `mlflow_<flavor>` when delegated.
   */
  readonly platform: string;
  readonly inputs: readonly TensorSpec[];
  /** Declared outputs; empty when only answers tell them (a delegated model). */
  readonly outputs: readonly TensorSpec[];
  /**
   * Runs the model on feeds that already match `inputs` (names, datatypes, ranks).
   * @throws ModelInputRejectedError when the runtime refuses the input as such.
   * @throws ModelRuntimeError when the model fails on input it accepted.
   * @throws ModelUnavailableError when a delegated server is down or answers 5xx.
   */
  predict(feeds: readonly Tensor[], options?: PredictOptions): Promise<RuntimeAnswer>;
  /** Frees native memory; called once no request uses the model any more. */
  dispose(): Promise<void>;
}
