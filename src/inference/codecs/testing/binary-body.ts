import { BinaryTensorBody } from '../../../common/http/binary-tensor-body';

/**
 * Builds bodies in the binary tensor data extension for specs: a JSON header
 * and the tensors' bytes, framed as tritonclient frames them.
 */

/** `values` as `count` little-endian elements of `width` bytes, written by `put`. */
export function packed<T>(
  values: readonly T[],
  width: number,
  put: (view: DataView, offset: number, value: T) => void,
): Buffer {
  const out = Buffer.alloc(values.length * width);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  values.forEach((v, i) => put(view, i * width, v));
  return out;
}

export const f32 = (values: readonly number[]): Buffer =>
  packed(values, 4, (v, o, x) => v.setFloat32(o, x, true));

/** BYTES elements: a 4-byte little-endian length, then the UTF-8 bytes. */
export function strings(values: readonly string[]): Buffer {
  return Buffer.concat(
    values.flatMap((s) => {
      const bytes = Buffer.from(s, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      return [length, bytes];
    }),
  );
}

/** A body whose header is `header` and whose tensors are `tensors`, in order. */
export function binaryBody(header: unknown, ...tensors: Buffer[]): BinaryTensorBody {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return new BinaryTensorBody(Buffer.concat([json, ...tensors]), String(json.length));
}

/** An input's header entry in the binary form. */
export function binaryInput(
  name: string,
  datatype: string,
  shape: number[],
  size: number,
): Record<string, unknown> {
  return { name, datatype, shape, parameters: { binary_data_size: size } };
}
