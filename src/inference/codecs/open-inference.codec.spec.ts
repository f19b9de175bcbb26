import { toFloat16Bits } from '../binding/float16';
import { InvalidInputError } from '../inference.error';
import { InferenceResult } from '../inference.types';
import {
  decodeInferRequest,
  encodeInferAnswer,
  encodeInferResponse,
  modelMetadata,
  writeInferResponse,
} from './open-inference.codec';

function invalid(body: unknown): InvalidInputError {
  try {
    decodeInferRequest(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError');
}

const input = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'float_input',
  shape: [2, 2],
  datatype: 'FP32',
  data: [1, 2, 3, 4],
  ...overrides,
});

describe('decodeInferRequest', () => {
  it('decodes an infer request with id, parameters and requested outputs', () => {
    const request = decodeInferRequest({
      id: 'req-1',
      parameters: { priority: 1 },
      inputs: [input()],
      outputs: [{ name: 'label' }, { name: 'probabilities', parameters: {} }],
    });

    expect(request).toEqual({
      id: 'req-1',
      parameters: { priority: 1 },
      input: {
        kind: 'tensors',
        tensors: [{ name: 'float_input', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }],
      },
      requestedOutputs: ['label', 'probabilities'],
      outputs: [{ name: 'label' }, { name: 'probabilities' }],
      binaryOutput: false,
    });
  });

  it("takes the binary extension's own keys out of the parameters, keeping the rest for the model", () => {
    const request = decodeInferRequest({
      parameters: { binary_data_output: true, temperature: 0.5 },
      inputs: [input()],
      outputs: [{ name: 'label', parameters: { binary_data: false, classification: 2 } }],
    });

    expect(request.parameters).toEqual({ temperature: 0.5 });
    expect(request.binaryOutput).toBe(true);
    expect(request.outputs).toEqual([{ name: 'label', binary: false, classification: 2 }]);
  });

  it("leaves parameters out when only the extension's keys were there", () => {
    const request = decodeInferRequest({
      parameters: { binary_data_output: false },
      inputs: [input()],
    });

    expect(request).not.toHaveProperty('parameters');
  });

  it('refuses binary_data_size on a JSON request, which has no bytes to take it from', () => {
    const error = invalid({
      inputs: [input({ data: undefined, parameters: { binary_data_size: 16 } })],
    });

    expect(error.message).toBe(
      "input 'float_input' declares binary_data_size, but the request is not in the binary form (no Inference-Header-Content-Length header)",
    );
  });

  it('flattens nested data row-major', () => {
    const request = decodeInferRequest({
      inputs: [
        input({
          data: [
            [1, 2],
            [3, 4],
          ],
        }),
      ],
    });

    expect(request.input).toEqual({
      kind: 'tensors',
      tensors: [{ name: 'float_input', shape: [2, 2], datatype: 'FP32', data: [1, 2, 3, 4] }],
    });
  });

  it('takes a lone value for a one-element tensor', () => {
    const request = decodeInferRequest({ inputs: [input({ shape: [1], data: 5 })] });

    expect(request.input).toMatchObject({ tensors: [{ data: [5] }] });
  });

  it('leaves id, parameters and outputs out when absent', () => {
    const request = decodeInferRequest({ inputs: [input()] });

    expect(request).not.toHaveProperty('id');
    expect(request).not.toHaveProperty('parameters');
    expect(request.requestedOutputs).toBeUndefined();
  });

  it.each([
    [
      'a body that is not an object',
      [1],
      /the request body must be a JSON object, got a list/,
      undefined,
    ],
    ['no inputs', {}, /inputs must be a non-empty list, got nothing/, 'inputs'],
    ['empty inputs', { inputs: [] }, /inputs must be a non-empty list, got a list/, 'inputs'],
    [
      'an input that is not an object',
      { inputs: [1] },
      /inputs\[0\] must be an object/,
      'inputs[0]',
    ],
    [
      'an input without a name',
      { inputs: [input({ name: '' })] },
      /inputs\[0\]\.name must be a non-empty string/,
      'inputs[0].name',
    ],
    [
      'a negative dimension',
      { inputs: [input({ shape: [-1, 2] })] },
      /input 'float_input': shape must be a list of whole numbers ≥ 0, got \[-1,2\]/,
      'float_input',
    ],
    [
      'no shape',
      { inputs: [input({ shape: undefined })] },
      /shape must be a list of whole numbers ≥ 0, got nothing/,
      'float_input',
    ],
    [
      'an unknown datatype',
      { inputs: [input({ datatype: 'FLOAT32' })] },
      /input 'float_input': datatype must be one of BOOL, .*, BYTES, got "FLOAT32"/,
      'float_input',
    ],
    [
      'no data',
      { inputs: [input({ data: undefined })] },
      /input 'float_input' has no data/,
      'float_input',
    ],
    [
      'too few values',
      { inputs: [input({ data: [1, 2, 3] })] },
      /input 'float_input': shape \[2, 2\] needs 4 values, got 3/,
      'float_input',
    ],
    [
      'nested data with too many values',
      {
        inputs: [
          input({
            data: [
              [1, 2],
              [3, 4],
              [5, 6],
            ],
          }),
        ],
      },
      /needs 4 values, got 6/,
      'float_input',
    ],
    [
      'ragged nested data',
      { inputs: [input({ data: [[1, 2], [3]] })] },
      /input 'float_input': data is not a regular nested list at \[1\]/,
      'float_input',
    ],
    [
      'an input name used twice',
      { inputs: [input(), input()] },
      /input 'float_input' appears twice/,
      'float_input',
    ],
    [
      'an id that is not a string',
      { id: 7, inputs: [input()] },
      /id must be a string, got a number/,
      'id',
    ],
    [
      'parameters that are not an object',
      { parameters: [1], inputs: [input()] },
      /parameters must be an object, got a list/,
      'parameters',
    ],
    [
      'outputs that are not a list',
      { inputs: [input()], outputs: { name: 'x' } },
      /outputs must be a list, got an object/,
      'outputs',
    ],
    [
      'an output without a name',
      { inputs: [input()], outputs: [{}] },
      /outputs\[0\] must be an object with a name/,
      'outputs[0].name',
    ],
  ])('returns 400 for %s, naming the field', (_case, body, message, field) => {
    const error = invalid(body);

    expect(error.message).toMatch(message);
    expect(error.field).toBe(field);
  });
});

describe('encodeInferResponse', () => {
  const result: InferenceResult = {
    modelName: 'iris',
    modelVersion: '3',
    rows: 2,
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([0n, 2n ** 60n]) },
      {
        name: 'probabilities',
        datatype: 'FP32',
        shape: [2, 2],
        data: Float32Array.from([0.5, 0.5, 0, 1]),
      },
    ],
  };

  it('answers every output with flat data, echoing the id', () => {
    expect(encodeInferResponse(result, { id: 'req-1' })).toEqual({
      model_name: 'iris',
      model_version: '3',
      id: 'req-1',
      outputs: [
        // 2^60 as a double: exact here, but int64 values above 2^53 lose precision as JSON numbers.
        { name: 'label', shape: [2], datatype: 'INT64', data: [0, 2 ** 60] },
        { name: 'probabilities', shape: [2, 2], datatype: 'FP32', data: [0.5, 0.5, 0, 1] },
      ],
    });
  });

  it('writes int64 data as JSON numbers, not strings', () => {
    const body = JSON.stringify(encodeInferResponse(result));

    // JSON.stringify prints the double's shortest form: 2^60 reads back exactly as a double.
    expect(body).toContain('"data":[0,1152921504606847000]');
  });

  it('leaves the id out when the request had none', () => {
    expect(encodeInferResponse(result)).not.toHaveProperty('id');
  });

  it('writes booleans, half floats and strings as JSON values', () => {
    const response = encodeInferResponse({
      ...result,
      outputs: [
        { name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
        { name: 'h', datatype: 'FP16', shape: [1], data: Uint16Array.from([toFloat16Bits(1.5)]) },
        { name: 's', datatype: 'BYTES', shape: [1], data: ['setosa'] },
        { name: 'u', datatype: 'UINT64', shape: [1], data: BigUint64Array.from([7n]) },
      ],
    });

    expect(response.outputs.map((o) => o.data)).toEqual([[true, false], [1.5], ['setosa'], [7]]);
  });
});

describe('encodeInferAnswer', () => {
  const result: InferenceResult = {
    modelName: 'iris',
    modelVersion: '3',
    rows: 2,
    outputs: [
      {
        name: 'label',
        datatype: 'INT64',
        shape: [2],
        data: BigInt64Array.from([1n, 2n ** 60n + 1n]),
      },
      {
        name: 'probabilities',
        datatype: 'FP32',
        shape: [2, 2],
        data: Float32Array.from([0.25, 0.75, 1, 0]),
      },
    ],
  };

  it('answers in plain JSON when no output is asked in binary', () => {
    const sut = encodeInferAnswer(result, { binaryOutput: false, id: 'r' });

    expect(sut.binary).toEqual([]);
    expect(sut.body).toEqual(encodeInferResponse(result, { id: 'r' }));
  });

  it('answers every output in binary for binary_data_output, sizes in the header and no data', () => {
    const sut = encodeInferAnswer(result, { binaryOutput: true, id: 'r' });

    expect(sut.body).toEqual({
      model_name: 'iris',
      model_version: '3',
      id: 'r',
      outputs: [
        { name: 'label', shape: [2], datatype: 'INT64', parameters: { binary_data_size: 16 } },
        {
          name: 'probabilities',
          shape: [2, 2],
          datatype: 'FP32',
          parameters: { binary_data_size: 16 },
        },
      ],
    });
    expect(sut.binary[0].readBigInt64LE(8)).toBe(2n ** 60n + 1n);
    expect(Array.from({ length: 4 }, (_, i) => sut.binary[1].readFloatLE(i * 4))).toEqual([
      0.25, 0.75, 1, 0,
    ]);
  });

  it("lets an output's binary_data override the request's default", () => {
    const sut = encodeInferAnswer(result, {
      binaryOutput: true,
      outputs: [{ name: 'label', binary: false }, { name: 'probabilities' }],
    });

    expect(sut.body.outputs[0]).toEqual({
      name: 'label',
      shape: [2],
      datatype: 'INT64',
      data: [1, Number(2n ** 60n + 1n)],
    });
    expect(sut.body.outputs[1].parameters).toEqual({ binary_data_size: 16 });
    expect(sut.binary).toHaveLength(1);
  });

  it('answers a classified output as its top classes, in either form', () => {
    const outputs = [{ name: 'probabilities', classification: 1 }];

    const json = encodeInferAnswer(result, { binaryOutput: false, outputs });
    const binary = encodeInferAnswer(result, {
      binaryOutput: false,
      outputs: [{ ...outputs[0], binary: true }],
    });

    expect(json.body.outputs[1]).toEqual({
      name: 'probabilities',
      shape: [2, 1],
      datatype: 'BYTES',
      data: ['0.750000:1', '1.000000:0'],
    });
    expect(binary.body.outputs[1]).toMatchObject({ datatype: 'BYTES', shape: [2, 1] });
    expect(binary.binary[0].subarray(4, 14).toString()).toBe('0.750000:1');
  });

  it('never answers in binary through encodeInferResponse', () => {
    const body = encodeInferResponse(result, { outputs: [{ name: 'label', binary: true }] });

    expect(body.outputs[0].data).toHaveLength(2);
  });
});

describe('writeInferResponse', () => {
  const result: InferenceResult = {
    modelName: 'iris "ünïcode"',
    modelVersion: '3',
    rows: 2,
    outputs: [
      {
        name: 'label',
        datatype: 'INT64',
        shape: [2],
        data: BigInt64Array.from([-1n, 2n ** 60n + 1n]),
      },
      {
        name: 'probabilities',
        datatype: 'FP32',
        shape: [2, 2],
        data: Float32Array.from([0.1, NaN, Infinity, -0]),
      },
      { name: 'd', datatype: 'FP64', shape: [3], data: Float64Array.from([1e-7, 1e21, -Infinity]) },
      { name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      { name: 'bp', datatype: 'BOOL', shape: [2], data: [true, false] },
      {
        name: 'h',
        datatype: 'FP16',
        shape: [2],
        data: Uint16Array.from([toFloat16Bits(1.5), 0x7e00]),
      },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['setosa', 'line\n"é"'] },
      { name: 'u', datatype: 'UINT64', shape: [1], data: BigUint64Array.from([7n]) },
      { name: 'i8', datatype: 'INT8', shape: [2], data: Int8Array.from([-128, 127]) },
      { name: 'empty', datatype: 'FP32', shape: [0], data: new Float32Array(0) },
    ],
  };

  it.each([
    ['no options', { binaryOutput: false }],
    ['an id', { binaryOutput: false, id: 'req "1"' }],
    [
      'a classified output and an output asked in JSON',
      {
        binaryOutput: false,
        outputs: [
          { name: 'probabilities', classification: 1 },
          { name: 'label', binary: false },
        ],
      },
    ],
  ])('writes exactly what JSON.stringify writes of the answer (%s)', (_case, options) => {
    const answered = result;

    const sut = writeInferResponse(answered, options);

    expect(sut).toBe(JSON.stringify(encodeInferAnswer(answered, options).body));
  });

  it('writes an answer whose only output overrides binary_data_output with binary_data false', () => {
    const answered = { ...result, outputs: result.outputs.slice(0, 1) };
    const options = { binaryOutput: true, outputs: [{ name: 'label', binary: false }] };

    const sut = writeInferResponse(answered, options);

    expect(sut).toBe(JSON.stringify(encodeInferAnswer(answered, options).body));
  });

  it('writes NaN and Infinity as null, int64 as numbers, half floats decoded', () => {
    const sut = JSON.parse(writeInferResponse(result, { binaryOutput: false }) as string) as {
      outputs: { name: string; data: unknown[] }[];
    };

    const data = Object.fromEntries(sut.outputs.map((o) => [o.name, o.data]));
    expect(data.probabilities).toEqual([Math.fround(0.1), null, null, 0]);
    expect(data.label).toEqual([-1, Number(2n ** 60n + 1n)]);
    expect(data.h).toEqual([1.5, null]);
    expect(data.b).toEqual([true, false]);
  });

  it('leaves an answer with an output in binary to encodeInferAnswer', () => {
    expect(writeInferResponse(result, { binaryOutput: true })).toBeUndefined();
    expect(
      writeInferResponse(result, { binaryOutput: false, outputs: [{ name: 's', binary: true }] }),
    ).toBeUndefined();
  });
});

describe('modelMetadata', () => {
  it('describes the model, -1 marking variable dimensions', () => {
    expect(
      modelMetadata(
        'iris',
        ['3'],
        'onnx_onnxv1',
        [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
        [{ name: 'label', datatype: 'INT64', shape: [-1] }],
      ),
    ).toEqual({
      name: 'iris',
      versions: ['3'],
      platform: 'onnx_onnxv1',
      inputs: [{ name: 'float_input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }],
    });
  });
});
