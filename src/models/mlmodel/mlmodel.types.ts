import type { InferenceSession } from 'onnxruntime-node';
import { ModelSignature } from '../model-signature.types';

/**
 * An MLmodel file as Modelgate uses it. Keys follow MLflow's
 * `mlflow.models.Model.to_dict()`; anything not listed stays in `flavors` or is
 * ignored.
 */
export interface MlModel {
  /** Flavor name → its configuration, e.g. `onnx` → `{data: 'model.onnx', …}`. */
  flavors: Record<string, Record<string, unknown>>;
  signature?: ModelSignature;
  /**
   * Set instead of `signature` when the signature uses what Modelgate does not
   * model (array/object/map column types, datetime tensors): the model can
   * still be delegated to a scoring server, but input checks cannot run here.
   */
  signatureUnsupported?: string;
  /** Things a loader should log: parts of the file Modelgate reads past (e.g. an array-typed output). */
  warnings?: string[];
  inputExample?: InputExampleInfo;
  /** MLflow 3 logged-model id (`m-…`). */
  modelId?: string;
  runId?: string;
  /** Path of the model inside its run's artifacts (MLflow 2.x). */
  artifactPath?: string;
  modelUuid?: string;
  /** As MLflow writes it: `2026-11-22 03:13:25.382617` (UTC, no zone). */
  utcTimeCreated?: string;
  mlflowVersion?: string;
  /** User metadata given to `log_model(metadata=…)`. */
  metadata?: Record<string, unknown>;
}

/** `saved_input_example_info` (mlflow/models/utils.py `_Example.info`). */
export interface InputExampleInfo {
  /** Relative path of `input_example.json`. */
  artifactPath: string;
  /** `dataframe`, `ndarray`, `json_object`, `sparse_matrix_csc`, `sparse_matrix_csr`. */
  type: string;
  /** MLflow 2.x tensors: `tf-serving` (the file already holds `{"inputs": …}`). */
  format?: string;
  /** Data frames: `split` (with columns) or `values` (without). */
  pandasOrient?: string;
  /** Relative path of `serving_input_example.json` (MLflow ≥ 2.16). */
  servingInputPath?: string;
  /** The example file holds `{"inputs": data, "params": {…}}`. */
  hasParams: boolean;
}

/** The onnxruntime-node session options MLflow's ONNX flavor can set. */
export type OnnxSessionOptions = Pick<
  InferenceSession.SessionOptions,
  'intraOpNumThreads' | 'interOpNumThreads' | 'graphOptimizationLevel' | 'executionMode'
>;

/** `flavors.onnx` (mlflow/onnx/__init__.py `save_model`). */
export interface OnnxFlavor {
  /** The model file, relative to the model directory: `model.onnx`. */
  dataFile: string;
  onnxVersion?: string;
  /** From `onnx_session_options`, renamed for onnxruntime-node; absent when none apply. */
  sessionOptions?: OnnxSessionOptions;
  /** Execution providers as MLflow names them (`CUDAExecutionProvider`, `CPUExecutionProvider`). */
  providers?: string[];
  /**
   * `onnx_session_options.extra_session_config`. onnxruntime-node 1.30 only
   * applies session config entries in its WebAssembly backend, so a runtime can
   * only log these.
   */
  extraSessionConfig?: Record<string, string>;
}

/** A model's input example, ready to send to `/invocations`. */
export interface InputExample {
  /** An MLflow scoring request body (`dataframe_split`, `inputs`, … and `params`). */
  body: Record<string, unknown>;
  /** The file it came from, relative to the model directory. */
  source: string;
  /** `saved_input_example_info.type`. */
  type: string;
}
