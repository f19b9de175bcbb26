/** Requests and answers of the inference service, before and after a protocol adapter. */
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
  outputs: Tensor[];
  /** How the request came in, for MLflow's answer shape (records vs. dict of arrays). */
  inputKind: InferenceInput['kind'];
  rows: number;
  /**
   * The `predictions` a delegated MLflow scoring server answered, passed
   * through unchanged to MLflow-protocol callers (`outputs` then holds what
   * could be read of it as tensors, for Open Inference callers).
   */
  raw?: unknown;
}
