import { InvalidInputError } from '../../inference/inference.error';
import { toFloat16Bits } from '../../inference/binding/float16';
import { InferInputTensorMessage, ModelInferRequestMessage } from '../open-inference.messages';
import { decodeModelInferRequest as sut } from './infer-request.decoder';

const LIMITS = { maxElements: 1000, maxDepth: 8 };

function message(overrides: Partial<ModelInferRequestMessage>): ModelInferRequestMessage {
  return {
    model_name: 'iris',
    model_version: '',
    id: '',
    parameters: {},
    inputs: [],
    outputs: [],
    raw_input_contents: [],
    ...overrides,
  };
}

function input(overrides: Partial<InferInputTensorMessage>): InferInputTensorMessage {
  return {
    name: 'x',
    datatype: 'FP32',
    shape: ['1', '2'],
    parameters: {},
    contents: null,
    ...overrides,
  };
}

function le32(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

function bytesElements(...values: string[]): Buffer {
  return Buffer.concat(
    values.flatMap((v) => {
      const body = Buffer.from(v, 'utf8');
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(body.length);
      return [prefix, body];
    }),
  );
}

function failure(run: () => unknown): InvalidInputError {
  try {
    run();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

describe('decodeModelInferRequest', () => {
  it('reads typed contents from the field of the datatype, shape as numbers', () => {
    const { request, raw } = sut(
      message({ inputs: [input({ contents: { fp32_contents: [1.5, 2.5] } })] }),
      LIMITS,
    );

    expect(raw).toBe(false);
    expect(request.input).toEqual({
      kind: 'tensors',
      tensors: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [1.5, 2.5] }],
    });
  });

  it('reads raw little-endian contents into a typed array and says the answer should be raw', () => {
    const { request, raw } = sut(
      message({ inputs: [input({})], raw_input_contents: [le32(1.5, -2)] }),
      LIMITS,
    );

    expect(raw).toBe(true);
    expect(request.input).toEqual({
      kind: 'tensors',
      tensors: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: Float32Array.from([1.5, -2]) }],
    });
  });

  it('reads raw FP16 as numbers, INT64 exactly beyond 2^53, BOOL and BYTES framing', () => {
    const half = Buffer.alloc(4);
    half.writeUInt16LE(toFloat16Bits(0.5), 0);
    half.writeUInt16LE(toFloat16Bits(-2), 2);
    const int64 = Buffer.alloc(8);
    int64.writeBigInt64LE(2n ** 60n);
    const { request } = sut(
      message({
        inputs: [
          input({ name: 'h', datatype: 'FP16', shape: ['2'] }),
          input({ name: 'i', datatype: 'INT64', shape: ['1'] }),
          input({ name: 'b', datatype: 'BOOL', shape: ['2'] }),
          input({ name: 's', datatype: 'BYTES', shape: ['2'] }),
        ],
        raw_input_contents: [half, int64, Buffer.from([1, 0]), bytesElements('héllo', '')],
      }),
      LIMITS,
    );

    const data = request.input.kind === 'tensors' ? request.input.tensors.map((t) => t.data) : [];
    expect(data.map((d) => Array.from(d as ArrayLike<unknown>))).toEqual([
      [0.5, -2],
      [2n ** 60n],
      [true, false],
      ['héllo', ''],
    ]);
  });

  it('keeps id, request parameters as plain values, and the requested outputs', () => {
    const { request } = sut(
      message({
        id: 'req-1',
        parameters: {
          top_k: { int64_param: '3', parameter_choice: 'int64_param' },
          mode: { string_param: 'fast', parameter_choice: 'string_param' },
          strict: { bool_param: true, parameter_choice: 'bool_param' },
        },
        inputs: [input({ contents: { fp32_contents: [1, 2] } })],
        outputs: [{ name: 'label', parameters: {} }],
      }),
      LIMITS,
    );

    expect(request.id).toBe('req-1');
    expect(request.parameters).toEqual({ top_k: 3, mode: 'fast', strict: true });
    expect(request.requestedOutputs).toEqual(['label']);
  });

  it('refuses a raw string whose length disagrees with the shape, naming the input', () => {
    const error = failure(() =>
      sut(message({ inputs: [input({})], raw_input_contents: [le32(1, 2, 3)] }), LIMITS),
    );

    expect(error.field).toBe('x');
    expect(error.message).toBe(
      "input 'x': raw_input_contents[0] holds 12 bytes; 2 FP32 values need 8",
    );
  });

  it('refuses raw strings that do not match the inputs one to one', () => {
    const error = failure(() =>
      sut(
        message({ inputs: [input({}), input({ name: 'y' })], raw_input_contents: [le32(1, 2)] }),
        LIMITS,
      ),
    );

    expect(error.message).toContain('raw_input_contents holds 1 byte strings for 2 inputs');
  });

  it.each([
    ['a length prefix cut short', Buffer.from([5, 0]), 'cut inside its 4-byte length prefix'],
    ['a length beyond the bytes', Buffer.from([9, 0, 0, 0, 65]), 'claims 9 bytes, 1 are left'],
    [
      'fewer elements than the shape',
      bytesElements('a'),
      'holds 1 BYTES elements; its shape needs 2',
    ],
    [
      'bytes left over',
      Buffer.concat([bytesElements('a', 'b'), Buffer.from([1])]),
      'more than the 2 BYTES elements',
    ],
  ])('refuses BYTES framing with %s', (_case, bytes, expected) => {
    const error = failure(() =>
      sut(
        message({
          inputs: [input({ name: 's', datatype: 'BYTES', shape: ['2'] })],
          raw_input_contents: [bytes],
        }),
        LIMITS,
      ),
    );

    expect(error.field).toBe('s');
    expect(error.message).toContain(expected);
  });

  it('refuses a raw claim beyond the element cap before reading it', () => {
    const error = failure(() =>
      sut(
        message({
          inputs: [input({ shape: ['1000000', '1000000'] })],
          raw_input_contents: [le32(1)],
        }),
        LIMITS,
      ),
    );

    expect(error.message).toContain('more than the 1000 one request may carry (API_MAX_ELEMENTS)');
  });

  it('refuses typed values whose count disagrees with the shape, as the REST codec does', () => {
    const error = failure(() =>
      sut(message({ inputs: [input({ contents: { fp32_contents: [1, 2, 3] } })] }), LIMITS),
    );

    expect(error.message).toBe("input 'x': shape [1, 2] needs 2 values, got 3");
  });

  it('refuses values in a field other than the datatype names', () => {
    const error = failure(() =>
      sut(message({ inputs: [input({ contents: { int64_contents: ['1', '2'] } })] }), LIMITS),
    );

    expect(error.message).toBe(
      "input 'x' is FP32: its values belong in contents.fp32_contents, got contents.int64_contents",
    );
  });

  it('refuses an input that sends both typed and raw values', () => {
    const error = failure(() =>
      sut(
        message({
          inputs: [input({ contents: { fp32_contents: [1, 2] } })],
          raw_input_contents: [le32(1, 2)],
        }),
        LIMITS,
      ),
    );

    expect(error.message).toContain('has both contents and raw_input_contents[0]');
  });

  it('names an unknown datatype and a negative dimension through the REST envelope checks', () => {
    const datatype = failure(() =>
      sut(
        message({ inputs: [input({ datatype: 'FP8' })], raw_input_contents: [le32(1, 2)] }),
        LIMITS,
      ),
    );
    const shape = failure(() =>
      sut(
        message({ inputs: [input({ shape: ['-1', '2'] })], raw_input_contents: [le32(1, 2)] }),
        LIMITS,
      ),
    );

    expect(datatype.message).toContain("input 'x': datatype must be one of");
    expect(shape.message).toContain("input 'x': shape must be a list of whole numbers ≥ 0");
  });

  it('refuses a request with no inputs', () => {
    expect(failure(() => sut(message({}), LIMITS)).message).toContain(
      'inputs must be a non-empty list',
    );
  });
});
