import { DataType } from './tensor.types';

/** MLflow column types (mlflow.types.DataType). */
export type ColumnType =
  'boolean' | 'integer' | 'long' | 'float' | 'double' | 'string' | 'binary' | 'datetime';

export interface ColumnSpec {
  kind: 'column';
  name?: string;
  type: ColumnType;
  required: boolean;
}

export interface TensorSignatureSpec {
  kind: 'tensor';
  name?: string;
  /** numpy dtype as MLflow writes it: float32, float64, int64, … */
  dtype: string;
  datatype: DataType;
  shape: number[];
}

/**
 * A model's signature from its MLmodel file. Column-based signatures describe
 * a data frame; tensor-based ones describe named or unnamed arrays.
 */
export interface ModelSignature {
  inputs: (ColumnSpec | TensorSignatureSpec)[];
  outputs: (ColumnSpec | TensorSignatureSpec)[];
  /** Inference params (`params` in requests), name → default. */
  params: { name: string; type: string; default: unknown; shape?: number[] | null }[];
}
