import { BinaryTensorBody } from '../../common/http/binary-tensor-body';
import { toFloat16Bits } from '../binding/float16';
import { InvalidInputError } from '../inference.error';
import { Tensor } from '../../models/tensor.types';
import { encodeBinaryTensor } from './binary-tensor.codec';
import { DecodeLimits } from './decode-limits';
import { decodeBinaryInferRequest } from './open-inference.codec';
import { binaryBody, binaryInput, f32, packed, strings } from './testing/binary-body';

const LIMITS: DecodeLimits = { maxElements: 100, maxDepth: 8 };

function decode(body: BinaryTensorBody): unknown[] {
  const sut = decodeBinaryInferRequest(body, LIMITS);
  if (sut.input.kind !== 'tensors') throw new Error('expected tensors');
  return sut.input.tensors.map((t) => t.data);
}

function refusal(body: BinaryTensorBody): string {
  try {
    decodeBinaryInferRequest(body, LIMITS);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return (error as Error).message;
  }
  throw new Error('expected an InvalidInputError');
}

describe('decodeBinaryInferRequest', () => {
  describe('decoding', () => {
    it('takes each binary input its binary_data_size bytes, in input order, beside JSON inputs', () => {
      const body = binaryBody(
        {
          id: 'r1',
          inputs: [
            binaryInput('a', 'FP32', [2, 2], 16),
            { name: 'j', datatype: 'INT32', shape: [1], data: [7] },
            binaryInput('b', 'BYTES', [2], 17),
          ],
          outputs: [{ name: 'label', parameters: { binary_data: true } }],
        },
        f32([1.5, -2, 0.25, 3]),
        strings(['setosa', 'vé']),
      );

      const sut = decodeBinaryInferRequest(body, LIMITS);

      expect(sut.id).toBe('r1');
      expect(sut.outputs).toEqual([{ name: 'label', binary: true }]);
      expect(sut.input).toEqual({
        kind: 'tensors',
        tensors: [
          {
            name: 'a',
            datatype: 'FP32',
            shape: [2, 2],
            data: Float32Array.from([1.5, -2, 0.25, 3]),
          },
          { name: 'j', datatype: 'INT32', shape: [1], data: [7] },
          { name: 'b', datatype: 'BYTES', shape: [2], data: ['setosa', 'vé'] },
        ],
      });
    });

    it.each<[string, number, (v: DataView, o: number, x: number) => void, number[]]>([
      ['UINT8', 1, (v, o, x) => v.setUint8(o, x), [0, 255]],
      ['INT8', 1, (v, o, x) => v.setInt8(o, x), [-128, 127]],
      ['UINT16', 2, (v, o, x) => v.setUint16(o, x, true), [0, 65535]],
      ['INT16', 2, (v, o, x) => v.setInt16(o, x, true), [-32768, 32767]],
      ['UINT32', 4, (v, o, x) => v.setUint32(o, x, true), [0, 4294967295]],
      ['INT32', 4, (v, o, x) => v.setInt32(o, x, true), [-2147483648, 2147483647]],
      ['FP32', 4, (v, o, x) => v.setFloat32(o, x, true), [-0.5, 3.25]],
      ['FP64', 8, (v, o, x) => v.setFloat64(o, x, true), [0.1, -1e300]],
    ])('decodes %s little-endian', (datatype, width, put, values) => {
      const body = binaryBody(
        { inputs: [binaryInput('x', datatype, [2], 2 * width)] },
        packed(values, width, put),
      );

      expect(Array.from(decode(body)[0] as ArrayLike<number>)).toEqual(values);
    });

    it('decodes INT64 and UINT64 exactly beyond 2^53, as bigints', () => {
      const big = [2n ** 53n + 1n, -(2n ** 63n)];
      const ubig = [2n ** 64n - 1n, 2n ** 53n + 3n];
      const body = binaryBody(
        { inputs: [binaryInput('i', 'INT64', [2], 16), binaryInput('u', 'UINT64', [2], 16)] },
        packed(big, 8, (v, o, x) => v.setBigInt64(o, x, true)),
        packed(ubig, 8, (v, o, x) => v.setBigUint64(o, x, true)),
      );

      const [i, u] = decode(body);

      expect(Array.from(i as BigInt64Array)).toEqual(big);
      expect(Array.from(u as BigUint64Array)).toEqual(ubig);
    });

    it('decodes BOOL as one byte per element', () => {
      const body = binaryBody(
        { inputs: [binaryInput('b', 'BOOL', [3], 3)] },
        Buffer.from([1, 0, 1]),
      );

      expect(decode(body)[0]).toEqual([true, false, true]);
    });

    it('decodes FP16 to float32 values, declared FP16 still', () => {
      const body = binaryBody(
        { inputs: [binaryInput('h', 'FP16', [3], 6)] },
        packed([1.5, -2, 65504], 2, (v, o, x) => v.setUint16(o, toFloat16Bits(x), true)),
      );

      const sut = decodeBinaryInferRequest(body, LIMITS);

      expect(sut.input).toMatchObject({
        tensors: [{ datatype: 'FP16', data: Float32Array.from([1.5, -2, 65504]) }],
      });
    });

    it('decodes BF16 to float32 values, declared FP32 for the model', () => {
      const body = binaryBody(
        { inputs: [binaryInput('h', 'BF16', [2], 4)] },
        packed([0x3fc0, 0xc049], 2, (v, o, x) => v.setUint16(o, x, true)),
      );

      const sut = decodeBinaryInferRequest(body, LIMITS);

      expect(sut.input).toMatchObject({
        tensors: [{ datatype: 'FP32', data: Float32Array.from([1.5, -3.140625]) }],
      });
    });

    it('decodes empty tensors and empty strings', () => {
      const body = binaryBody(
        { inputs: [binaryInput('e', 'FP32', [0, 4], 0), binaryInput('s', 'BYTES', [1], 4)] },
        strings(['']),
      );

      expect(decode(body).map((d) => Array.from(d as ArrayLike<unknown>))).toEqual([[], ['']]);
    });

    it('keeps the JSON header under the depth bound and the poisoning refusal', () => {
      const deep = new BinaryTensorBody(Buffer.from('[[[[[[[[[[1]]]]]]]]]]'), '21');
      const poisoned = binaryBody({ inputs: [], __proto__: { admin: true } });
      const raw = '{"inputs": [], "__proto__": {"admin": true}}';

      expect(refusal(deep)).toMatch(/nests deeper than 8 levels/);
      expect(refusal(poisoned)).toMatch(/inputs must be a non-empty list/);
      expect(refusal(new BinaryTensorBody(Buffer.from(raw), String(raw.length)))).toMatch(
        /prototype poisoning/,
      );
    });
  });

  describe('framing', () => {
    const header = { inputs: [binaryInput('x', 'FP32', [2], 8)] };

    it.each([
      ['-1', /must be a whole number of bytes, got "-1"/],
      ['1.5', /must be a whole number of bytes, got "1.5"/],
      ['x', /must be a whole number of bytes, got "x"/],
      ['', /must be a whole number of bytes, got ""/],
    ])('refuses an Inference-Header-Content-Length of %p', (length, message) => {
      const body = binaryBody(header, f32([1, 2]));

      expect(refusal(new BinaryTensorBody(body.bytes, length))).toMatch(message);
    });

    it('refuses a header length beyond the body', () => {
      const body = binaryBody(header, f32([1, 2]));

      expect(refusal(new BinaryTensorBody(body.bytes, String(body.bytes.length + 1)))).toBe(
        `the Inference-Header-Content-Length header says the JSON header is ${body.bytes.length + 1} bytes, but the body has only ${body.bytes.length}`,
      );
    });

    it('refuses a header length that cuts the JSON short', () => {
      const body = binaryBody(header, f32([1, 2]));

      expect(refusal(new BinaryTensorBody(body.bytes, '10'))).toMatch(
        /^the JSON header is not valid JSON/,
      );
    });

    it.each([
      [-8, 'parameters.binary_data_size must be a whole number of bytes ≥ 0, got -8'],
      [7.5, 'parameters.binary_data_size must be a whole number of bytes ≥ 0, got 7.5'],
      ['8', 'parameters.binary_data_size must be a whole number of bytes ≥ 0, got "8"'],
      [
        2 ** 60,
        'parameters.binary_data_size must be a whole number of bytes ≥ 0, got 1152921504606847000',
      ],
    ])('refuses a binary_data_size of %p, naming the input', (size, message) => {
      const bad = binaryBody(
        {
          inputs: [{ ...binaryInput('x', 'FP32', [2], 0), parameters: { binary_data_size: size } }],
        },
        f32([1, 2]),
      );

      expect(refusal(bad)).toBe(`input 'x': ${message}`);
    });

    it('refuses a size that disagrees with shape × element size', () => {
      const body = binaryBody({ inputs: [binaryInput('x', 'FP32', [3], 8)] }, f32([1, 2]));

      expect(refusal(body)).toBe(
        "input 'x': shape [3] of FP32 needs 12 bytes, but binary_data_size is 8",
      );
    });

    it('refuses a huge shape claim without allocating for it', () => {
      const body = binaryBody(
        { inputs: [binaryInput('x', 'FP32', [2 ** 31, 2 ** 31], 8)] },
        f32([1, 2]),
      );

      expect(refusal(body)).toMatch(
        /^input 'x' holds 4611686018427387904 values, more than the 100/,
      );
    });

    it('applies the element cap to binary inputs as to JSON ones', () => {
      const body = binaryBody(
        { inputs: [binaryInput('x', 'UINT8', [101], 101)] },
        Buffer.alloc(101),
      );

      expect(refusal(body)).toMatch(/more than the 100 one request may carry \(API_MAX_ELEMENTS\)/);
    });

    it('refuses a truncated body', () => {
      const body = binaryBody(header, f32([1]));

      expect(refusal(body)).toBe(
        "input 'x': binary_data_size is 8 bytes, but only 4 are left in the body (truncated?)",
      );
    });

    it('refuses bytes left over after the last binary input', () => {
      const body = binaryBody(header, f32([1, 2, 3]));

      expect(refusal(body)).toMatch(/^the body has 4 bytes after the binary data of its inputs/);
    });

    it('refuses an input with both data and binary_data_size', () => {
      const body = binaryBody(
        { inputs: [{ ...binaryInput('x', 'FP32', [2], 8), data: [1, 2] }] },
        f32([1, 2]),
      );

      expect(refusal(body)).toBe("input 'x' has both data and binary_data_size");
    });

    it('refuses an unknown datatype on a binary input', () => {
      const body = binaryBody({ inputs: [binaryInput('x', 'FP8', [2], 2)] }, Buffer.alloc(2));

      expect(refusal(body)).toMatch(/^input 'x': datatype must be one of BOOL, .*BF16, got "FP8"/);
    });

    it('refuses BF16 in JSON data, which only the binary form carries', () => {
      const body = binaryBody({ inputs: [{ name: 'x', datatype: 'BF16', shape: [1], data: [1] }] });

      expect(refusal(body)).toMatch(/\(BF16 only in the binary form\)$/);
    });

    describe('BYTES', () => {
      const bytesBody = (shape: number[], tensor: Buffer): BinaryTensorBody =>
        binaryBody({ inputs: [binaryInput('s', 'BYTES', shape, tensor.length)] }, tensor);

      it('refuses fewer elements than the shape', () => {
        expect(refusal(bytesBody([3], strings(['a', 'b'])))).toBe(
          "input 's': shape [3] needs 3 BYTES elements, got 2",
        );
      });

      it('refuses more elements than the shape', () => {
        expect(refusal(bytesBody([1], strings(['a', 'b'])))).toBe(
          "input 's': shape [1] holds 1 BYTES elements, but binary_data_size has 5 bytes after them",
        );
      });

      it('refuses an element longer than the bytes left', () => {
        const tensor = Buffer.concat([strings(['a']), Buffer.from([0xff, 0xff, 0xff, 0x7f, 1])]);

        expect(refusal(bytesBody([2], tensor))).toBe(
          "input 's': BYTES element 1 claims 2147483647 bytes, but binary_data_size leaves 1",
        );
      });

      it('refuses a length prefix cut short', () => {
        const tensor = Buffer.concat([strings(['a']), Buffer.from([1, 0])]);

        expect(refusal(bytesBody([2], tensor))).toBe(
          "input 's': BYTES element 1 has a length prefix cut short by binary_data_size",
        );
      });
    });
  });
});

describe('encodeBinaryTensor', () => {
  const tensor = (datatype: Tensor['datatype'], data: Tensor['data']): Tensor => ({
    name: 'y',
    datatype,
    shape: [data.length],
    data,
  });

  it('writes typed arrays as their little-endian bytes', () => {
    const sut = encodeBinaryTensor(tensor('FP32', Float32Array.from([1.5, -2])));

    expect([sut.readFloatLE(0), sut.readFloatLE(4)]).toEqual([1.5, -2]);
  });

  it('writes INT64 exactly beyond 2^53', () => {
    const sut = encodeBinaryTensor(tensor('INT64', BigInt64Array.from([2n ** 62n + 1n])));

    expect(sut.readBigInt64LE(0)).toBe(2n ** 62n + 1n);
  });

  it('writes plain number lists in the datatype', () => {
    expect(encodeBinaryTensor(tensor('INT64', [3, -1]))).toEqual(
      packed([3n, -1n], 8, (v, o, x) => v.setBigInt64(o, x, true)),
    );
    expect(encodeBinaryTensor(tensor('FP16', [1.5]))).toEqual(
      packed([toFloat16Bits(1.5)], 2, (v, o, x) => v.setUint16(o, x, true)),
    );
    expect(encodeBinaryTensor(tensor('UINT16', [513]))).toEqual(Buffer.from([1, 2]));
  });

  it('writes FP16 bits as they are', () => {
    const bits = Uint16Array.from([toFloat16Bits(0.5)]);

    expect(encodeBinaryTensor(tensor('FP16', bits)).readUInt16LE(0)).toBe(bits[0]);
  });

  it('writes BOOL as one byte each and BYTES length-prefixed', () => {
    expect(encodeBinaryTensor(tensor('BOOL', [true, false]))).toEqual(Buffer.from([1, 0]));
    expect(encodeBinaryTensor(tensor('BOOL', Uint8Array.from([1, 0])))).toEqual(
      Buffer.from([1, 0]),
    );
    expect(encodeBinaryTensor(tensor('BYTES', ['ab', 'é']))).toEqual(strings(['ab', 'é']));
  });
});
