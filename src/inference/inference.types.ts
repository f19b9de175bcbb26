/** Requests and answers of the inference service, before and after a protocol adapter. */
import { ModelSignature } from '../models/model-signature.types';
import type { Variant } from '../models/rollouts/rollout.types';
import { RuntimeExtras } from '../models/runtimes/model-runtime';
import { DataType, Tensor } from '../models/tensor.types';

/**
 * A request as a protocol adapter decoded it, before it meets the model's
 * signature. Adapters only check the envelope; the signature check names
 * columns, shapes and types against what the model expects.
 */
export type InferenceInput =
  /** Tabular: MLflow `dataframe_split`, `dataframe_records`, `text/csv`. */
  | { kind: 'table'; columns: string[]; rows: unknown[][] }
  /**
   * Tensors: MLflow `instances`/`inputs` (nested arrays, named or not) and Open
   * Inference `inputs` (flat data with shape and datatype).
   */
  | { kind: 'tensors'; tensors: RequestTensor[] };

export interface RequestTensor {
  /** Absent for MLflow's single unnamed tensor (`"inputs": [[1, 2], [3, 4]]`). */
  name?: string;
  /** Given by Open Inference requests; inferred from the values otherwise. */
  datatype?: DataType;
  /** Given by Open Inference requests; inferred from the nesting otherwise. */
  shape?: number[];
  /** Flat (with `shape`) or nested arrays. */
  data: unknown;
}

/** What the inference service answers, before an adapter encodes it. */
export interface InferenceResult {
  modelName: string;
  modelVersion: string;
  /** The MLflow run that trained the answering version, when the registry names one. */
  modelRunId?: string;
  /** The answering version's signature: MLflow's answer shape follows it. */
  signature?: ModelSignature;
  /** The outputs asked for, in the order asked; every output when none were named. */
  outputs: Tensor[];
  rows: number;
  /** What the runtime gave beyond tensors, for the protocol that wants it. */
  extras?: RuntimeExtras;
  /** Under a rollout: which side answered (x-modelgate-variant). */
  variant?: Variant;
}
