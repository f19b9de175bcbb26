/**
 * Tensors as runtimes take and give them, shared by models/ and every layer
 * above it. Datatype names are the Open Inference Protocol's.
 */
export const DATA_TYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type DataType = (typeof DATA_TYPES)[number];

/** Flat, row-major values; typed arrays on the hot path, plain arrays elsewhere. */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | readonly number[]
  | readonly string[]
  | readonly boolean[];

export interface Tensor {
  name: string;
  datatype: DataType;
  /** -1 never appears here: a tensor has a concrete shape. */
  shape: number[];
  data: TensorData;
}

/** What a model declares for one input or output; -1 marks a variable dimension. */
export interface TensorSpec {
  name: string;
  datatype: DataType;
  shape: number[];
}
