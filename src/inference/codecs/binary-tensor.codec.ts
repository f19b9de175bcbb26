import { endianness } from 'node:os';
import { fromBFloat16Bits, fromFloat16Bits, toFloat16Bits } from '../binding/float16';
import { claimedCount } from '../binding/nested-array';
import { InvalidInputError } from '../inference.error';
import { DataType, Tensor } from '../../models/tensor.types';

/**
 * The binary tensor data extension of Open Inference REST (Triton
 * `docs/protocol/extension_binary_data.md`): a JSON header of
 * `Inference-Header-Content-Length` bytes, then each binary tensor's bytes in
 * order — little-endian, row-major; BOOL one byte per element; BYTES each
 * element as a 4-byte little-endian length and its bytes.
 *
 * Every claim (header length, `binary_data_size`, the shape, each BYTES
 * length prefix) is checked against the bytes there are before anything is
 * allocated for it, so decoding is linear in the body.
 */

/** What binary inputs may declare: the protocol's datatypes and bfloat16, decoded to float32. */
export type BinaryDataType = DataType | 'BF16';

/** Decoded values: typed arrays for numbers (BigInt64Array for INT64), lists for BOOL and BYTES. */
export type DecodedTensorData =
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
  | boolean[]
  | string[];

/** Bytes per element of the fixed-width datatypes; BYTES has none. */
const WIDTH: Readonly<Record<Exclude<BinaryDataType, 'BYTES'>, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  BF16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** The length prefix of one BYTES element. */
const PREFIX = 4;

/** The header and the tensor bytes of a binary body. */
export interface BinaryFrame {
  /** The JSON header's text. */
  header: string;
  /** Everything after the header. */
  tensors: Buffer;
}

/**
 * Splits a body at `Inference-Header-Content-Length`.
 * @throws InvalidInputError when the length is not a whole number of bytes within the body.
 */
export function splitBinaryBody(bytes: Buffer, headerLength: string): BinaryFrame {
  if (!/^\d{1,15}$/.test(headerLength.trim())) {
    throw new InvalidInputError(
      `the Inference-Header-Content-Length header must be a whole number of bytes, got ${JSON.stringify(headerLength.slice(0, 40))}`,
      'Inference-Header-Content-Length',
    );
  }
  const length = Number(headerLength.trim());
  if (length > bytes.length) {
    throw new InvalidInputError(
      `the Inference-Header-Content-Length header says the JSON header is ${length} bytes, but the body has only ${bytes.length}`,
      'Inference-Header-Content-Length',
    );
  }
  return {
    header: bytes.toString('utf8', 0, length),
    tensors: bytes.subarray(length),
  };
}

/** One input's binary claim, as its JSON header declares it. */
export interface BinaryClaim {
  /** How messages name it: `input 'x'`. */
  label: string;
  name: string;
  datatype: BinaryDataType;
  shape: readonly number[];
  /** `parameters.binary_data_size`, unchecked. */
  size: unknown;
}

/** Reads the tensors after a binary body's header, input by input, in order. */
export class BinaryTensorReader {
  private offset = 0;

  constructor(private readonly bytes: Buffer) {}

  /**
   * The next `claim.size` bytes as the claim's values, checked against its
   * shape and datatype first.
   * @throws InvalidInputError naming the input and what disagrees.
   */
  read(claim: BinaryClaim): DecodedTensorData {
    const { label, name, datatype, shape, size } = claim;
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new InvalidInputError(
        `${label}: parameters.binary_data_size must be a whole number of bytes ≥ 0, got ${JSON.stringify(size) ?? 'nothing'}`,
        name,
      );
    }
    const left = this.bytes.length - this.offset;
    if (size > left) {
      throw new InvalidInputError(
        `${label}: binary_data_size is ${size} bytes, but only ${left} are left in the body (truncated?)`,
        name,
      );
    }
    const count = claimedCount(shape);
    const view = this.bytes.subarray(this.offset, this.offset + size);
    this.offset += size;
    if (datatype === 'BYTES') return readStrings(view, Number(count), claim);
    const width = WIDTH[datatype];
    if (count * BigInt(width) !== BigInt(size)) {
      throw new InvalidInputError(
        `${label}: shape [${shape.join(', ')}] of ${datatype} needs ${count * BigInt(width)} bytes, but binary_data_size is ${size}`,
        name,
      );
    }
    return readFixed(view, Number(count), datatype);
  }

  /** @throws InvalidInputError when bytes are left after the last binary input. */
  finish(): void {
    const left = this.bytes.length - this.offset;
    if (left > 0) {
      throw new InvalidInputError(
        `the body has ${left} bytes after the binary data of its inputs: binary_data_size and Inference-Header-Content-Length must add up to the body's length`,
      );
    }
  }
}

/** BYTES elements: the length prefixes must tile the bytes exactly and count product(shape) elements. */
function readStrings(view: Buffer, count: number, { label, name, shape }: BinaryClaim): string[] {
  const values: string[] = [];
  let at = 0;
  while (at < view.length) {
    if (values.length === count) {
      throw new InvalidInputError(
        `${label}: shape [${shape.join(', ')}] holds ${count} BYTES elements, but binary_data_size has ${view.length - at} bytes after them`,
        name,
      );
    }
    if (view.length - at < PREFIX) {
      throw new InvalidInputError(
        `${label}: BYTES element ${values.length} has a length prefix cut short by binary_data_size`,
        name,
      );
    }
    const length = view.readUInt32LE(at);
    at += PREFIX;
    if (length > view.length - at) {
      throw new InvalidInputError(
        `${label}: BYTES element ${values.length} claims ${length} bytes, but binary_data_size leaves ${view.length - at}`,
        name,
      );
    }
    values.push(view.toString('utf8', at, at + length));
    at += length;
  }
  if (values.length !== count) {
    throw new InvalidInputError(
      `${label}: shape [${shape.join(', ')}] needs ${count} BYTES elements, got ${values.length}`,
      name,
    );
  }
  return values;
}

function readFixed(
  view: Buffer,
  count: number,
  datatype: Exclude<BinaryDataType, 'BYTES'>,
): DecodedTensorData {
  const copied = copyNative(view, datatype, count);
  if (copied) return copied;
  const data = new DataView(view.buffer, view.byteOffset, view.byteLength);
  const fill = <T extends { [i: number]: number | bigint }>(
    target: T,
    get: (offset: number) => T[number],
    width: number,
  ): T => {
    for (let i = 0; i < count; i++) target[i] = get(i * width);
    return target;
  };
  switch (datatype) {
    case 'BOOL':
      return Array.from(view, (byte) => byte !== 0);
    case 'UINT8':
      return Uint8Array.from(view);
    case 'INT8':
      return fill(new Int8Array(count), (o) => data.getInt8(o), 1);
    case 'UINT16':
      return fill(new Uint16Array(count), (o) => data.getUint16(o, true), 2);
    case 'INT16':
      return fill(new Int16Array(count), (o) => data.getInt16(o, true), 2);
    case 'FP16':
      return fill(new Float32Array(count), (o) => fromFloat16Bits(data.getUint16(o, true)), 2);
    case 'BF16':
      return fill(new Float32Array(count), (o) => fromBFloat16Bits(data.getUint16(o, true)), 2);
    case 'UINT32':
      return fill(new Uint32Array(count), (o) => data.getUint32(o, true), 4);
    case 'INT32':
      return fill(new Int32Array(count), (o) => data.getInt32(o, true), 4);
    case 'FP32':
      return fill(new Float32Array(count), (o) => data.getFloat32(o, true), 4);
    case 'UINT64':
      return fill(new BigUint64Array(count), (o) => data.getBigUint64(o, true), 8);
    case 'INT64':
      return fill(new BigInt64Array(count), (o) => data.getBigInt64(o, true), 8);
    case 'FP64':
      return fill(new Float64Array(count), (o) => data.getFloat64(o, true), 8);
  }
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** The typed array whose memory is already a datatype's wire form (on a little-endian host). */
const NATIVE: Partial<Record<DataType, new (...args: never[]) => ArrayBufferView>> = {
  UINT8: Uint8Array,
  INT8: Int8Array,
  UINT16: Uint16Array,
  INT16: Int16Array,
  FP16: Uint16Array,
  UINT32: Uint32Array,
  INT32: Int32Array,
  FP32: Float32Array,
  UINT64: BigUint64Array,
  INT64: BigInt64Array,
  FP64: Float64Array,
};

type NativeArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array;

/** The datatypes whose values are their wire bytes, read as is (FP16 and BF16 are decoded to FP32; BOOL to booleans). */
const READ_NATIVE: Partial<Record<string, new (length: number) => NativeArray>> = {
  UINT8: Uint8Array,
  INT8: Int8Array,
  UINT16: Uint16Array,
  INT16: Int16Array,
  UINT32: Uint32Array,
  INT32: Int32Array,
  FP32: Float32Array,
  UINT64: BigUint64Array,
  INT64: BigInt64Array,
  FP64: Float64Array,
};

/**
 * `count` values of a fixed-size datatype from exactly their wire bytes, in
 * one copy (on a little-endian host the typed array's memory is the wire
 * form): no per-value read, and an aligned array of its own, so the caller's
 * buffer (a request body, a protobuf field) is not kept alive.
 * @returns undefined for datatypes that need decoding, or on a big-endian host.
 */
export function copyNative(
  bytes: Uint8Array,
  datatype: string,
  count: number,
): NativeArray | undefined {
  const ArrayOf = LITTLE_ENDIAN ? READ_NATIVE[datatype] : undefined;
  if (!ArrayOf) return undefined;
  const out = new ArrayOf(count);
  if (out.byteLength !== bytes.byteLength) return undefined;
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  return out;
}

/**
 * A tensor's wire bytes without a copy, when its typed array's memory already
 * is the wire form (its datatype's own array, on a little-endian host): a view
 * of the runtime's output buffer.
 * @returns undefined when the values must be converted.
 */
export function nativeBytes({ datatype, data }: Tensor): Buffer | undefined {
  const native = NATIVE[datatype];
  if (!LITTLE_ENDIAN || !native || !(data instanceof native)) return undefined;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** One output tensor's bytes in the binary form. */
export function encodeBinaryTensor(tensor: Tensor): Buffer {
  const { datatype, data } = tensor;
  const bytes = nativeBytes(tensor);
  if (bytes) return bytes;
  const values = data as ArrayLike<unknown>;
  if (datatype === 'BYTES') return encodeStrings(values);
  if (datatype === 'BOOL') return Buffer.from(Array.from(values, (v) => (v ? 1 : 0)));
  const width = WIDTH[datatype];
  const out = Buffer.alloc(values.length * width);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const put = writerOf(view, datatype);
  for (let i = 0; i < values.length; i++) put(i * width, values[i]);
  return out;
}

function encodeStrings(values: ArrayLike<unknown>): Buffer {
  const parts = Array.from(values, (v) => Buffer.from(String(v), 'utf8'));
  const out = Buffer.alloc(parts.reduce((sum, p) => sum + PREFIX + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.writeUInt32LE(part.length, at);
    part.copy(out, at + PREFIX);
    at += PREFIX + part.length;
  }
  return out;
}

/** Stores one value of a fixed-width numeric datatype, from a number or a bigint. */
function writerOf(
  view: DataView,
  datatype: Exclude<DataType, 'BYTES' | 'BOOL'>,
): (offset: number, value: unknown) => void {
  const num = (v: unknown): number => Number(v);
  const big = (v: unknown): bigint =>
    typeof v === 'bigint' ? v : BigInt(Number.isFinite(Number(v)) ? Math.trunc(Number(v)) : 0);
  switch (datatype) {
    case 'UINT8':
      return (o, v) => view.setUint8(o, num(v));
    case 'INT8':
      return (o, v) => view.setInt8(o, num(v));
    case 'UINT16':
      return (o, v) => view.setUint16(o, num(v), true);
    case 'INT16':
      return (o, v) => view.setInt16(o, num(v), true);
    case 'FP16':
      return (o, v) => view.setUint16(o, toFloat16Bits(num(v)), true);
    case 'UINT32':
      return (o, v) => view.setUint32(o, num(v), true);
    case 'INT32':
      return (o, v) => view.setInt32(o, num(v), true);
    case 'FP32':
      return (o, v) => view.setFloat32(o, num(v), true);
    case 'UINT64':
      return (o, v) => view.setBigUint64(o, big(v), true);
    case 'INT64':
      return (o, v) => view.setBigInt64(o, big(v), true);
    case 'FP64':
      return (o, v) => view.setFloat64(o, num(v), true);
  }
}
