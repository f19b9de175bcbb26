import { fromFloat16Bits, toFloat16Bits } from '../../inference/binding/float16';
import { copyNative, nativeBytes } from '../../inference/codecs/binary-tensor.codec';
import { InvalidInputError } from '../../inference/inference.error';
import { DataType, Tensor } from '../../models/tensor.types';

/**
 * One tensor as one byte string, as `raw_input_contents` and
 * `raw_output_contents` carry it: row-major, little-endian, BOOL one byte,
 * FP16 IEEE half bits, BYTES each element a 4-byte little-endian length and
 * then its bytes (Triton docs/protocol/extension_binary_data.md, which the
 * gRPC protocol shares).
 */

/** Bytes of one element; BYTES has none fixed. */
export const ELEMENT_BYTES: Readonly<Record<Exclude<DataType, 'BYTES'>, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

/** Where a tensor's bytes came from, for messages: `input 'x'` and its raw_input_contents index. */
export interface RawSource {
  name: string;
  index: number;
}

/**
 * The `count` values of one input's bytes. The byte length is compared with
 * `count` before anything is allocated; BYTES length prefixes must tile the
 * string exactly and hold `count` elements.
 * @throws InvalidInputError naming the input.
 */
export function readRawTensor(
  bytes: Buffer,
  datatype: DataType,
  count: number,
  source: RawSource,
): ArrayLike<unknown> {
  const at = `input '${source.name}': raw_input_contents[${source.index}]`;
  if (datatype === 'BYTES') return readBytesElements(bytes, count, at, source.name);
  const size = ELEMENT_BYTES[datatype];
  if (bytes.length !== count * size) {
    throw new InvalidInputError(
      `${at} holds ${bytes.length} bytes; ${count} ${datatype} values need ${count * size}`,
      source.name,
    );
  }
  // Numbers in one copy into their typed array (BigInt64Array for INT64, as the binder takes).
  const copied = copyNative(bytes, datatype, count);
  if (copied) return copied;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = READERS[datatype];
  const values = new Array<unknown>(count);
  for (let i = 0; i < count; i++) values[i] = read(view, i * size);
  return values;
}

/** One byte string holding `tensor`, in the same form. */
export function writeRawTensor(tensor: Tensor): Buffer {
  // The runtime's own output buffer, viewed, not copied value by value.
  const bytes = nativeBytes(tensor);
  if (bytes) return bytes;
  const { datatype } = tensor;
  const data = datatype === 'FP16' ? halfBits(tensor) : (tensor.data as ArrayLike<unknown>);
  if (datatype === 'BYTES') return writeBytesElements(data);
  const size = ELEMENT_BYTES[datatype];
  const out = Buffer.allocUnsafe(data.length * size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const write = WRITERS[datatype];
  for (let i = 0; i < data.length; i++) write(view, i * size, data[i]);
  return out;
}

/** Runtimes give FP16 as its bits (a Uint16Array); plain numbers are converted to bits. */
function halfBits(tensor: Tensor): ArrayLike<number> {
  if (tensor.data instanceof Uint16Array) return tensor.data;
  return Array.from(tensor.data as ArrayLike<unknown>, (v) => toFloat16Bits(Number(v)));
}

type Reader = (view: DataView, offset: number) => unknown;
type Writer = (view: DataView, offset: number, value: unknown) => void;

const READERS: Readonly<Record<Exclude<DataType, 'BYTES'>, Reader>> = {
  // Any byte but 0 is true, as numpy's bool view of the bytes reads it.
  BOOL: (v, o) => v.getUint8(o) !== 0,
  UINT8: (v, o) => v.getUint8(o),
  INT8: (v, o) => v.getInt8(o),
  UINT16: (v, o) => v.getUint16(o, true),
  INT16: (v, o) => v.getInt16(o, true),
  FP16: (v, o) => fromFloat16Bits(v.getUint16(o, true)),
  UINT32: (v, o) => v.getUint32(o, true),
  INT32: (v, o) => v.getInt32(o, true),
  FP32: (v, o) => v.getFloat32(o, true),
  UINT64: (v, o) => v.getBigUint64(o, true),
  INT64: (v, o) => v.getBigInt64(o, true),
  FP64: (v, o) => v.getFloat64(o, true),
};

const num = (value: unknown): number => Number(value);
const big = (value: unknown): bigint =>
  typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)));

const WRITERS: Readonly<Record<Exclude<DataType, 'BYTES'>, Writer>> = {
  BOOL: (v, o, x) => v.setUint8(o, x ? 1 : 0),
  UINT8: (v, o, x) => v.setUint8(o, num(x)),
  INT8: (v, o, x) => v.setInt8(o, num(x)),
  UINT16: (v, o, x) => v.setUint16(o, num(x), true),
  INT16: (v, o, x) => v.setInt16(o, num(x), true),
  // The bits: see halfBits.
  FP16: (v, o, x) => v.setUint16(o, num(x), true),
  UINT32: (v, o, x) => v.setUint32(o, num(x), true),
  INT32: (v, o, x) => v.setInt32(o, num(x), true),
  FP32: (v, o, x) => v.setFloat32(o, num(x), true),
  UINT64: (v, o, x) => v.setBigUint64(o, big(x), true),
  INT64: (v, o, x) => v.setBigInt64(o, big(x), true),
  FP64: (v, o, x) => v.setFloat64(o, num(x), true),
};

function readBytesElements(bytes: Buffer, count: number, at: string, name: string): string[] {
  const values: string[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (values.length === count) {
      throw new InvalidInputError(
        `${at} holds more than the ${count} BYTES elements its shape claims (${bytes.length - offset} bytes left over)`,
        name,
      );
    }
    if (offset + 4 > bytes.length) {
      throw new InvalidInputError(
        `${at}: element ${values.length} is cut inside its 4-byte length prefix`,
        name,
      );
    }
    const length = bytes.readUInt32LE(offset);
    offset += 4;
    if (length > bytes.length - offset) {
      throw new InvalidInputError(
        `${at}: element ${values.length} claims ${length} bytes, ${bytes.length - offset} are left`,
        name,
      );
    }
    values.push(bytes.toString('utf8', offset, offset + length));
    offset += length;
  }
  if (values.length !== count) {
    throw new InvalidInputError(
      `${at} holds ${values.length} BYTES elements; its shape needs ${count}`,
      name,
    );
  }
  return values;
}

function writeBytesElements(data: ArrayLike<unknown>): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    const body = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32LE(body.length, 0);
    parts.push(prefix, body);
  }
  return Buffer.concat(parts);
}
