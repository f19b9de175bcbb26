import { DataType, TensorData } from './tensor.types';

/** A value that does not fit the datatype; `index` is its position in the flat data. */
export class TensorValueError extends Error {
  constructor(
    readonly index: number,
    readonly datatype: DataType,
    readonly value: unknown,
  ) {
    super(`value ${index} (${shown(value)}) is not ${ARTICLE[datatype]} ${datatype} value`);
    this.name = TensorValueError.name;
  }
}

const ARTICLE: Record<DataType, string> = {
  BOOL: 'a',
  UINT8: 'a',
  UINT16: 'a',
  UINT32: 'a',
  UINT64: 'a',
  INT8: 'an',
  INT16: 'an',
  INT32: 'an',
  INT64: 'an',
  FP16: 'an',
  FP32: 'an',
  FP64: 'an',
  BYTES: 'a',
};

type IntArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

const INT_ARRAYS: Partial<Record<DataType, new (length: number) => IntArray>> = {
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
};

/**
 * JSON values (flat, row-major) as the data of a tensor of `datatype`, in the
 * layout runtimes use: typed arrays for numbers (BigInt64Array for INT64),
 * boolean[] for BOOL, string[] for BYTES. Null stands for NaN in float data,
 * as pandas writes a missing float. FP16 is kept as plain numbers (no
 * half-float typed array in Node 20; onnxruntime feeds need the bits, which
 * the input binder makes).
 * @throws TensorValueError for the first value that does not fit.
 */
export function tensorData(datatype: DataType, values: readonly unknown[]): TensorData {
  switch (datatype) {
    case 'FP32':
      return Float32Array.from(values, (v, i) => float(v, i, datatype));
    case 'FP64':
      return Float64Array.from(values, (v, i) => float(v, i, datatype));
    case 'FP16':
      return values.map((v, i) => float(v, i, datatype));
    case 'INT64':
      return BigInt64Array.from(values, (v, i) => BigInt(integer(v, i, datatype)));
    case 'UINT64':
      return BigUint64Array.from(values, (v, i) => BigInt(integer(v, i, datatype, 0)));
    case 'BOOL':
      return values.map((v, i) => {
        if (typeof v === 'boolean') return v;
        if (v === 0 || v === 1) return v === 1;
        throw new TensorValueError(i, datatype, v);
      });
    case 'BYTES':
      return values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
    default: {
      const IntArrayOf = INT_ARRAYS[datatype] as new (length: number) => IntArray;
      const data = new IntArrayOf(values.length);
      const probe = new IntArrayOf(1);
      values.forEach((v, i) => {
        probe[0] = integer(v, i, datatype);
        // A typed array wraps values out of its range: refuse them instead.
        if (probe[0] !== v) throw new TensorValueError(i, datatype, v);
        data[i] = probe[0];
      });
      return data;
    }
  }
}

function float(value: unknown, index: number, datatype: DataType): number {
  if (typeof value === 'number') return value;
  if (value === null) return NaN;
  throw new TensorValueError(index, datatype, value);
}

function integer(value: unknown, index: number, datatype: DataType, min?: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && (min === undefined || value >= min)) {
    return value;
  }
  throw new TensorValueError(index, datatype, value);
}

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}
