import { DataType, DATA_TYPES, Tensor, TensorData } from '../../tensor.types';
import { tensorData } from '../../tensor-data';
import { FrameError } from './worker-frames';

/** A tensor in a frame's header; its values are the frame's buffer `buffer`. */
export interface WireTensor {
  name: string;
  datatype: DataType;
  shape: number[];
  buffer: number;
}

type NumericArray = Exclude<TensorData, readonly number[] | readonly string[] | readonly boolean[]>;

const ARRAYS: Partial<
  Record<DataType, { new (b: ArrayBuffer): NumericArray; BYTES_PER_ELEMENT: number }>
> = {
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  // Half floats travel as their bits, as onnxruntime gives them.
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

/**
 * Tensors as frame header entries and raw buffers: numbers little-endian as
 * the typed arrays hold them, BOOL one byte each, BYTES `u32 length | UTF-8`
 * per element. FP16 given as plain numbers travels as FP32 (the worker casts
 * to the signature's dtype).
 */
export function toWire(tensors: readonly Tensor[]): {
  tensors: WireTensor[];
  buffers: Uint8Array[];
} {
  const buffers: Uint8Array[] = [];
  const wire = tensors.map((tensor) => {
    const { bytes, datatype } = tensorBytes(tensor);
    buffers.push(bytes);
    return { name: tensor.name, datatype, shape: tensor.shape, buffer: buffers.length - 1 };
  });
  return { tensors: wire, buffers };
}

function tensorBytes(tensor: Tensor): { bytes: Uint8Array; datatype: DataType } {
  const { datatype, data } = tensor;
  if (datatype === 'BYTES') return { bytes: stringBytes(data as readonly unknown[]), datatype };
  if (datatype === 'BOOL') {
    return { bytes: Uint8Array.from(data as ArrayLike<unknown>, (v) => (v ? 1 : 0)), datatype };
  }
  if (datatype === 'FP16' && !(data instanceof Uint16Array)) {
    return { bytes: viewBytes(Float32Array.from(data as ArrayLike<number>)), datatype: 'FP32' };
  }
  const typed = ArrayBuffer.isView(data) ? data : (tensorData(datatype, data) as NumericArray);
  return { bytes: viewBytes(typed as NumericArray), datatype };
}

function viewBytes(array: NumericArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function stringBytes(values: readonly unknown[]): Uint8Array {
  const parts = values.map((v) => Buffer.from(typeof v === 'string' ? v : String(v), 'utf8'));
  const out = Buffer.alloc(parts.reduce((sum, p) => sum + 4 + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.writeUInt32LE(part.length, offset);
    part.copy(out, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

/**
 * The tensors a frame describes, reading each one's buffer.
 * @throws FrameError when an entry or its buffer does not describe a tensor.
 */
export function fromWire(entries: unknown, buffers: readonly Uint8Array[]): Tensor[] {
  if (!Array.isArray(entries)) throw new FrameError('its tensors are not a list');
  return entries.map((entry: Partial<WireTensor>) => {
    const { name, datatype, shape, buffer } = entry ?? {};
    if (
      typeof name !== 'string' ||
      !DATA_TYPES.includes(datatype as DataType) ||
      !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 0) ||
      typeof buffer !== 'number' ||
      buffers[buffer] === undefined
    ) {
      throw new FrameError(
        `a tensor entry ${JSON.stringify(entry)} is not {name, datatype, shape, buffer}`,
      );
    }
    const count = shape.reduce((a, b) => a * b, 1);
    return {
      name,
      datatype: datatype!,
      shape,
      data: values(name, datatype!, count, buffers[buffer]),
    };
  });
}

function values(name: string, datatype: DataType, count: number, bytes: Uint8Array): TensorData {
  if (datatype === 'BYTES') return strings(name, count, bytes);
  const size = datatype === 'BOOL' ? 1 : ARRAYS[datatype]!.BYTES_PER_ELEMENT;
  if (bytes.byteLength !== count * size) {
    throw new FrameError(
      `tensor '${name}' has ${bytes.byteLength} bytes for ${count} ${datatype} values`,
    );
  }
  if (datatype === 'BOOL') return Array.from(bytes, (b) => b !== 0);
  // Frame buffers are copies that start their own ArrayBuffer: aligned for any view.
  const own = bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength;
  const buffer = own ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
  return new ARRAYS[datatype]!(buffer);
}

function strings(name: string, count: number, bytes: Uint8Array): string[] {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let offset = 0;
  while (offset < view.length) {
    if (offset + 4 > view.length) break;
    const length = view.readUInt32LE(offset);
    if (offset + 4 + length > view.length) break;
    out.push(view.toString('utf8', offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  if (out.length !== count || offset !== view.length) {
    throw new FrameError(`tensor '${name}' does not hold ${count} length-prefixed strings`);
  }
  return out;
}
