import { InferenceResult } from '../../inference/inference.types';
import { toFloat16Bits } from '../../inference/binding/float16';
import { encodeModelInferResponse as sut } from './infer-response.encoder';

const RESULT: InferenceResult = {
  modelName: 'iris',
  modelVersion: '3',
  rows: 2,
  outputs: [
    { name: 'label', datatype: 'INT64', shape: [2], data: new BigInt64Array([0n, 2n]) },
    {
      name: 'probabilities',
      datatype: 'FP32',
      shape: [2, 1],
      data: new Float32Array([0.25, 0.75]),
    },
  ],
};

describe('encodeModelInferResponse', () => {
  it('answers typed contents in the field of each datatype, id echoed', () => {
    const response = sut(RESULT, { id: 'req-9', raw: false });

    expect(response).toEqual({
      model_name: 'iris',
      model_version: '3',
      id: 'req-9',
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [2], contents: { int64_contents: ['0', '2'] } },
        {
          name: 'probabilities',
          datatype: 'FP32',
          shape: [2, 1],
          contents: { fp32_contents: [0.25, 0.75] },
        },
      ],
      raw_output_contents: [],
    });
  });

  it('answers raw little-endian bytes, one string per output, when the request was raw', () => {
    const response = sut(RESULT, { id: '', raw: true });

    expect(response.outputs.every((o) => o.contents === undefined)).toBe(true);
    const [label, probabilities] = response.raw_output_contents;
    expect([label.readBigInt64LE(0), label.readBigInt64LE(8)]).toEqual([0n, 2n]);
    expect([probabilities.readFloatLE(0), probabilities.readFloatLE(4)]).toEqual([0.25, 0.75]);
  });

  it('answers raw when an output is FP16, which has no typed field', () => {
    const half: InferenceResult = {
      ...RESULT,
      outputs: [
        { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([toFloat16Bits(1.5)]) },
      ],
    };

    const response = sut(half, { id: '', raw: false });

    expect(response.raw_output_contents[0].readUInt16LE(0)).toBe(toFloat16Bits(1.5));
  });

  it('frames BYTES outputs as 4-byte lengths and UTF-8 bytes', () => {
    const strings: InferenceResult = {
      ...RESULT,
      outputs: [{ name: 's', datatype: 'BYTES', shape: [2], data: ['ab', 'é'] }],
    };

    const [bytes] = sut(strings, { id: '', raw: true }).raw_output_contents;

    expect([...bytes]).toEqual([2, 0, 0, 0, 97, 98, 2, 0, 0, 0, 0xc3, 0xa9]);
  });
});
