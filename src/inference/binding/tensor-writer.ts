import { DataType, TensorData } from '../../models/tensor.types';
import { toFloat16Bits } from './float16';

/**
 * Writes request values into the typed array onnxruntime-node takes for one
 * datatype, checking each value fits: no per-value allocation (but a BigInt
 * for 64-bit integers, which BigInt64Array requires), no string parsing.
 * Values are numbers, or bigints where the binary tensor data extension
 * decoded 64-bit integers exactly.
 */
export interface TensorWriter {
  readonly data: TensorData;
  /** Stores `value` at `index`; false when it does not fit the datatype (the caller says where). */
  set(index: number, value: unknown): boolean;
}

const INT_RANGES = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
} as const;

/** 2^63 and 2^64 are exact doubles; BigInt64Array would wrap values outside. */
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;

/** A writer for `length` elements of `datatype`. */
export function createWriter(datatype: DataType, length: number): TensorWriter {
  switch (datatype) {
    case 'FP32':
      return new FloatWriter(new Float32Array(length));
    case 'FP64':
      return new FloatWriter(new Float64Array(length));
    case 'FP16':
      return new Float16Writer(new Uint16Array(length));
    case 'INT8':
      return new IntWriter(new Int8Array(length), ...INT_RANGES.INT8);
    case 'INT16':
      return new IntWriter(new Int16Array(length), ...INT_RANGES.INT16);
    case 'INT32':
      return new IntWriter(new Int32Array(length), ...INT_RANGES.INT32);
    case 'UINT8':
      return new IntWriter(new Uint8Array(length), ...INT_RANGES.UINT8);
    case 'UINT16':
      return new IntWriter(new Uint16Array(length), ...INT_RANGES.UINT16);
    case 'UINT32':
      return new IntWriter(new Uint32Array(length), ...INT_RANGES.UINT32);
    case 'INT64':
      return new BigIntWriter(new BigInt64Array(length), -TWO_63, TWO_63);
    case 'UINT64':
      return new BigIntWriter(new BigUint64Array(length), 0, TWO_64);
    case 'BOOL':
      return new BoolWriter(new Uint8Array(length));
    case 'BYTES':
      return new StringWriter(new Array<string>(length).fill(''));
  }
}

/** What a datatype holds, for error messages: "a number", "an integer from 0 to 255", … */
export function expectation(datatype: DataType): string {
  switch (datatype) {
    case 'FP16':
    case 'FP32':
    case 'FP64':
      return 'a number';
    case 'INT64':
      return 'an integer';
    case 'UINT64':
      return 'an integer ≥ 0';
    case 'BOOL':
      return 'true or false';
    case 'BYTES':
      return 'a string';
    default: {
      const [min, max] = INT_RANGES[datatype];
      return `an integer from ${min} to ${max}`;
    }
  }
}

/** A request value as an error message shows it: `the string "x"`, `1.5`, `null`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (Array.isArray(value)) return 'a list';
  return 'an object';
}

/** A bigint as the nearest double (an INT64 into a float input, as numpy casts it). */
function asNumber(value: unknown): unknown {
  return typeof value === 'bigint' ? Number(value) : value;
}

class FloatWriter implements TensorWriter {
  constructor(readonly data: Float32Array | Float64Array) {}

  /** A number goes into a float tensor as is (ValueSink.numbers in nested-array.ts). */
  get numbers(): Float32Array | Float64Array {
    return this.data;
  }

  set(index: number, raw: unknown): boolean {
    const value = asNumber(raw);
    if (typeof value !== 'number') return false;
    this.data[index] = value;
    return true;
  }
}

class Float16Writer implements TensorWriter {
  constructor(readonly data: Uint16Array) {}

  set(index: number, raw: unknown): boolean {
    const value = asNumber(raw);
    if (typeof value !== 'number') return false;
    this.data[index] = toFloat16Bits(value);
    return true;
  }
}

class IntWriter implements TensorWriter {
  constructor(
    readonly data: Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array,
    private readonly min: number,
    private readonly max: number,
  ) {}

  set(index: number, raw: unknown): boolean {
    // A bigint beyond 2^53 becomes inexact here, but then lies outside every range below.
    const value = asNumber(raw);
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < this.min ||
      value > this.max
    ) {
      return false;
    }
    this.data[index] = value;
    return true;
  }
}

class BigIntWriter implements TensorWriter {
  constructor(
    readonly data: BigInt64Array | BigUint64Array,
    /** Inclusive. */
    private readonly min: number,
    /** Exclusive. */
    private readonly end: number,
  ) {}

  set(index: number, value: unknown): boolean {
    if (typeof value === 'number') {
      if (!Number.isInteger(value) || value < this.min || value >= this.end) return false;
      this.data[index] = BigInt(value);
      return true;
    }
    if (typeof value === 'bigint') {
      if (value < BigInt(this.min) || value >= BigInt(this.end)) return false;
      this.data[index] = value;
      return true;
    }
    return false;
  }
}

class BoolWriter implements TensorWriter {
  constructor(readonly data: Uint8Array) {}

  set(index: number, value: unknown): boolean {
    if (typeof value !== 'boolean') return false;
    this.data[index] = value ? 1 : 0;
    return true;
  }
}

class StringWriter implements TensorWriter {
  constructor(readonly data: string[]) {}

  set(index: number, value: unknown): boolean {
    if (typeof value !== 'string') return false;
    this.data[index] = value;
    return true;
  }
}
