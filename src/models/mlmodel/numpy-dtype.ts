import { DataType } from '../tensor.types';

/**
 * numpy dtype names, as MLflow writes them in tensor specs (`np.dtype(…).name`,
 * mlflow/types/schema.py `TensorInfo.to_dict`), and the aliases numpy accepts
 * for them, mapped to Open Inference datatypes. Strings and bytes are BYTES,
 * as in onnxruntime (`tensor(string)`).
 */
const NUMPY_DATATYPES: Readonly<Record<string, DataType>> = {
  bool: 'BOOL',
  bool_: 'BOOL',
  int8: 'INT8',
  byte: 'INT8',
  int16: 'INT16',
  short: 'INT16',
  int32: 'INT32',
  intc: 'INT32',
  int64: 'INT64',
  int: 'INT64',
  int_: 'INT64',
  long: 'INT64',
  longlong: 'INT64',
  uint8: 'UINT8',
  ubyte: 'UINT8',
  uint16: 'UINT16',
  ushort: 'UINT16',
  uint32: 'UINT32',
  uintc: 'UINT32',
  uint64: 'UINT64',
  uint: 'UINT64',
  ulonglong: 'UINT64',
  float16: 'FP16',
  half: 'FP16',
  float32: 'FP32',
  single: 'FP32',
  float64: 'FP64',
  float: 'FP64',
  double: 'FP64',
  object: 'BYTES',
  object_: 'BYTES',
  str: 'BYTES',
  str_: 'BYTES',
  unicode: 'BYTES',
  bytes: 'BYTES',
  bytes_: 'BYTES',
};

/** The datatype of a numpy dtype name, or undefined for one Modelgate cannot serve (datetime64, complex64, …). */
export function dataTypeOfNumpy(dtype: string): DataType | undefined {
  return Object.hasOwn(NUMPY_DATATYPES, dtype) ? NUMPY_DATATYPES[dtype] : undefined;
}
