import { Tensor } from '../../tensor.types';
import { FrameError } from './worker-frames';
import { fromWire, toWire } from './worker-tensors';

function roundTrip(tensors: Tensor[]): Tensor[] {
  const { tensors: wire, buffers } = toWire(tensors);
  return fromWire(JSON.parse(JSON.stringify(wire)), buffers);
}

describe('tensors on the wire', () => {
  it('carries numbers as raw typed values, in their datatype', () => {
    const sut = roundTrip([
      { name: 'f', datatype: 'FP32', shape: [2], data: Float32Array.from([0.5, -1]) },
      { name: 'd', datatype: 'FP64', shape: [1, 2], data: Float64Array.from([1e-300, 2]) },
      { name: 'l', datatype: 'INT64', shape: [2], data: BigInt64Array.from([2n ** 62n, -1n]) },
      { name: 'i', datatype: 'INT32', shape: [2], data: [7, -7] },
      { name: 'u', datatype: 'UINT8', shape: [1], data: Uint8Array.from([255]) },
    ]);

    expect(
      sut.map((t) => [t.name, t.datatype, t.shape, Array.from(t.data as ArrayLike<unknown>)]),
    ).toEqual([
      ['f', 'FP32', [2], [0.5, -1]],
      ['d', 'FP64', [1, 2], [1e-300, 2]],
      ['l', 'INT64', [2], [2n ** 62n, -1n]],
      ['i', 'INT32', [2], [7, -7]],
      ['u', 'UINT8', [1], [255]],
    ]);
    expect(sut[0].data).toBeInstanceOf(Float32Array);
    expect(sut[2].data).toBeInstanceOf(BigInt64Array);
  });

  it('carries booleans as bytes and strings as length-prefixed UTF-8', () => {
    const sut = roundTrip([
      { name: 'b', datatype: 'BOOL', shape: [3], data: [true, false, true] },
      { name: 's', datatype: 'BYTES', shape: [3], data: ['', 'héllo', '日本'] },
    ]);

    expect(sut[0].data).toEqual([true, false, true]);
    expect(sut[1].data).toEqual(['', 'héllo', '日本']);
  });

  it('writes each string as a u32 length then its UTF-8 bytes', () => {
    const { buffers } = toWire([{ name: 's', datatype: 'BYTES', shape: [1], data: ['é'] }]);

    expect(Array.from(buffers[0])).toEqual([2, 0, 0, 0, 0xc3, 0xa9]);
  });

  it('sends FP16 given as numbers as FP32 (the worker casts to the signature)', () => {
    const { tensors } = toWire([{ name: 'h', datatype: 'FP16', shape: [1], data: [0.5] }]);

    expect(tensors[0].datatype).toBe('FP32');
  });

  it('refuses a buffer whose size does not match the shape and datatype', () => {
    const entry = { name: 'x', datatype: 'FP64', shape: [3], buffer: 0 };

    expect(() => fromWire([entry], [new Uint8Array(16)])).toThrow(/16 bytes for 3 FP64 values/);
  });

  it('refuses strings whose length prefixes run past the buffer', () => {
    const entry = { name: 's', datatype: 'BYTES', shape: [1], buffer: 0 };

    expect(() => fromWire([entry], [Uint8Array.from([9, 0, 0, 0, 65])])).toThrow(FrameError);
  });

  it('refuses an entry that is not a tensor, or names a missing buffer', () => {
    expect(() =>
      fromWire([{ name: 'x', datatype: 'FP99', shape: [1], buffer: 0 }], [new Uint8Array(8)]),
    ).toThrow(FrameError);
    expect(() =>
      fromWire([{ name: 'x', datatype: 'FP64', shape: [1], buffer: 1 }], [new Uint8Array(8)]),
    ).toThrow(FrameError);
    expect(() => fromWire({}, [])).toThrow(/not a list/);
  });
});
