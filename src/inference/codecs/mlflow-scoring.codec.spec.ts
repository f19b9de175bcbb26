import { ModelSignature } from '../../models/model-signature.types';
import { toFloat16Bits } from '../binding/float16';
import { InvalidInputError, UnsupportedMediaTypeError } from '../inference.error';
import { Tensor } from '../../models/tensor.types';
import { InferenceInput, InferenceResult } from '../inference.types';
import { decodeMlflowRequest } from './mlflow-scoring.codec';
import { encodeMlflowResponse, mlflowResultKind } from './mlflow-scoring.encoder';

const JSON_TYPE = 'application/json';

function decode(body: unknown, contentType = JSON_TYPE): ReturnType<typeof decodeMlflowRequest> {
  return decodeMlflowRequest(body, contentType);
}

function invalid(body: unknown, contentType = JSON_TYPE): InvalidInputError {
  try {
    decode(body, contentType);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError');
}

/** A result without a signature, answering a request of `inputKind`: MLflow's shape follows the request. */
function result(
  inputKind: 'table' | 'tensors',
  outputs: Tensor[],
): [InferenceResult, InferenceInput] {
  const input: InferenceInput =
    inputKind === 'table'
      ? { kind: 'table', columns: [], rows: [] }
      : { kind: 'tensors', tensors: [] };
  return [
    { modelName: 'iris', modelVersion: '1', rows: outputs[0]?.shape[0] ?? 0, outputs },
    input,
  ];
}

describe('decodeMlflowRequest', () => {
  describe('dataframe_split', () => {
    it('decodes columns and rows into a table', () => {
      const body = {
        dataframe_split: {
          columns: ['a', 'b'],
          data: [
            [1, 2],
            [3, 4],
          ],
          index: [7, 8],
        },
      };

      expect(decode(body)).toEqual({
        input: {
          kind: 'table',
          columns: ['a', 'b'],
          rows: [
            [1, 2],
            [3, 4],
          ],
        },
      });
    });

    it('names columns by position when they are not given, as pandas does', () => {
      expect(decode({ dataframe_split: { data: [[1, 2]] } }).input).toEqual({
        kind: 'table',
        columns: ['0', '1'],
        rows: [[1, 2]],
      });
    });

    it('takes numeric column names as text', () => {
      expect(decode({ dataframe_split: { columns: [0, 1], data: [[1, 2]] } }).input).toMatchObject({
        columns: ['0', '1'],
      });
    });

    it.each([
      [
        'a list',
        { dataframe_split: [[1, 2]] },
        /dataframe_split must be an object with 'data'.*got a list/,
      ],
      [
        'no data',
        { dataframe_split: { columns: ['a'] } },
        /must have 'data' and optionally 'columns' and 'index'; got columns/,
      ],
      ['an unknown field', { dataframe_split: { data: [[1]], extra: 1 } }, /got data, extra/],
      [
        'data that is not a list',
        { dataframe_split: { data: 5 } },
        /dataframe_split\.data must be a list of rows, got a number/,
      ],
      [
        'a row that is not a list',
        { dataframe_split: { columns: ['a'], data: [[1], 2] } },
        /dataframe_split\.data\[1\] must be a list of values \(a row\), got a number/,
      ],
      [
        'a ragged row',
        { dataframe_split: { columns: ['a', 'b'], data: [[1, 2], [3]] } },
        /dataframe_split\.data\[1\] has 1 values, but there are 2 columns/,
      ],
      [
        'an index of the wrong length',
        { dataframe_split: { columns: ['a'], data: [[1], [2]], index: [0] } },
        /index must be a list with one label per row \(2\)/,
      ],
      [
        'columns that are not names',
        { dataframe_split: { columns: 'a', data: [[1]] } },
        /columns must be a list of column names, got a string/,
      ],
      [
        'a column named twice',
        { dataframe_split: { columns: ['a', 'a'], data: [[1, 2]] } },
        /column 'a' appears twice/,
      ],
    ])('returns 400 for %s', (_case, body, message) => {
      expect(invalid(body).message).toMatch(message);
    });
  });

  describe('dataframe_records', () => {
    it('decodes records, a missing key being a missing value', () => {
      const body = {
        dataframe_records: [
          { a: 1, b: 2 },
          { b: 4, c: 'x' },
        ],
      };

      expect(decode(body).input).toEqual({
        kind: 'table',
        columns: ['a', 'b', 'c'],
        rows: [
          [1, 2, null],
          [null, 4, 'x'],
        ],
      });
    });

    it.each([
      [
        'an object',
        { dataframe_records: { a: [1] } },
        /dataframe_records must be a list of records \(objects\), got an object/,
      ],
      [
        'a record that is a list',
        { dataframe_records: [{ a: 1 }, [2]] },
        /dataframe_records\[1\] must be a record \(an object\), got a list/,
      ],
    ])('returns 400 for %s', (_case, body, message) => {
      expect(invalid(body).message).toMatch(message);
    });
  });

  describe('instances and inputs', () => {
    it('decodes a list as one unnamed tensor', () => {
      expect(
        decode({
          inputs: [
            [1, 2],
            [3, 4],
          ],
        }).input,
      ).toEqual({
        kind: 'tensors',
        tensors: [
          {
            data: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
      });
      expect(decode({ instances: [1, 2] }).input).toEqual({
        kind: 'tensors',
        tensors: [{ data: [1, 2] }],
      });
    });

    it('decodes an object as named tensors', () => {
      expect(decode({ inputs: { a: [1, 2], b: [[3]] } }).input).toEqual({
        kind: 'tensors',
        tensors: [
          { name: 'a', data: [1, 2] },
          { name: 'b', data: [[3]] },
        ],
      });
    });

    it('decodes a list of records as named tensors, column-wise', () => {
      expect(
        decode({
          instances: [
            { a: 1, b: [1, 2] },
            { b: [3, 4], a: 2 },
          ],
        }).input,
      ).toEqual({
        kind: 'tensors',
        tensors: [
          { name: 'a', data: [1, 2] },
          {
            name: 'b',
            data: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
      });
    });

    it('decodes a scalar as an unnamed tensor', () => {
      expect(decode({ inputs: 'hello' }).input).toEqual({
        kind: 'tensors',
        tensors: [{ data: 'hello' }],
      });
    });

    it.each([
      [
        'records with different keys',
        { instances: [{ a: 1 }, { b: 2 }] },
        /instances\[1\] has the keys b, but instances\[0\] has a: every record needs the same keys/,
      ],
      [
        'records mixed with values',
        { inputs: [{ a: 1 }, 2] },
        /inputs mixes records \(objects\) with other values/,
      ],
      ['values then records', { inputs: [1, { a: 1 }] }, /inputs mixes records/],
      ['null', { inputs: null }, /inputs must not be null/],
      ['an empty object', { inputs: {} }, /inputs is an empty object/],
    ])('returns 400 for %s', (_case, body, message) => {
      expect(invalid(body).message).toMatch(message);
    });
  });

  describe('the envelope', () => {
    it('returns the params object', () => {
      expect(decode({ inputs: [1], params: { threshold: 0.5 } }).params).toEqual({
        threshold: 0.5,
      });
      expect(decode({ inputs: [1], params: null }).params).toBeUndefined();
    });

    it('returns 400 for params that are not an object', () => {
      const error = invalid({ inputs: [1], params: [1] });

      expect(error.message).toBe('params must be a JSON object, got a list');
      expect(error.field).toBe('params');
    });

    it('ignores other top-level fields, as MLflow does', () => {
      expect(decode({ inputs: [1], model: 'x' }).input.kind).toBe('tensors');
    });

    it('returns 400 naming the fields when none of the four formats is there', () => {
      expect(invalid({ foo: 1 }).message).toBe(
        'the request body must have exactly one of the fields dataframe_split, dataframe_records, instances, inputs; got none (fields: foo)',
      );
    });

    it('returns 400 naming the formats when several are there', () => {
      expect(invalid({ inputs: [1], dataframe_split: { data: [] } }).message).toMatch(
        /exactly one of the fields .*; got dataframe_split, inputs$/,
      );
    });

    it.each([
      ['a list', [1, 2], /must be a JSON object with exactly one of the fields .*; got a list/],
      ['an empty body', undefined, /got nothing/],
      ['an empty text body', '  ', /got nothing/],
    ])('returns 400 for %s', (_case, body, message) => {
      expect(invalid(body).message).toMatch(message);
    });

    it('parses a raw body, with the NaN tokens Python clients send', () => {
      const body = '{"dataframe_split": {"columns": ["a"], "data": [[NaN], [Infinity]]}}';

      expect(decode(body).input).toEqual({
        kind: 'table',
        columns: ['a'],
        rows: [[NaN], [Infinity]],
      });
      expect(decode(Buffer.from(body)).input).toMatchObject({ columns: ['a'] });
    });

    it('returns 400 for a body that is not JSON', () => {
      expect(invalid('not json').message).toMatch(/^the request body is not valid JSON: /);
    });

    it('returns 400 for a body that is not UTF-8', () => {
      expect(invalid(Buffer.from([0x7b, 0xff, 0x7d])).message).toBe(
        'the JSON body is not valid UTF-8',
      );
    });
  });

  describe('content types', () => {
    it.each([
      'application/json; charset=utf-8',
      'Application/JSON;charset=UTF-8',
      'application/json; charset="utf8"',
    ])('accepts %s', (contentType) => {
      expect(decode({ inputs: [1] }, contentType).input.kind).toBe('tensors');
    });

    it.each([
      [undefined, /no Content-Type: send application\/json or text\/csv/],
      ['text/plain', /unsupported content type 'text\/plain'/],
      ['application/vnd.apache.parquet', /unsupported content type/],
      ['application/json; charset=latin-1', /only UTF-8 is supported, got charset=latin-1/],
      ['application/json; format=pandas-split', /unrecognized content type parameter 'format'/],
    ])('answers 415 for %s', (contentType, message) => {
      const run = (): unknown => decodeMlflowRequest({ inputs: [1] }, contentType);

      expect(run).toThrow(UnsupportedMediaTypeError);
      expect(run).toThrow(message);
    });

    it('decodes CSV with a header row into a typed table', () => {
      const csv = 'a,b,name\r\n1,2.5,"Smith, J."\r\n3,,x\r\n';

      expect(decode(csv, 'text/csv; charset=utf-8')).toEqual({
        input: {
          kind: 'table',
          columns: ['a', 'b', 'name'],
          rows: [
            [1, 2.5, 'Smith, J.'],
            [3, null, 'x'],
          ],
        },
      });
    });

    it('returns 400 for an empty CSV body', () => {
      expect(invalid(undefined, 'text/csv').message).toMatch(/the CSV body is empty/);
    });

    it('returns 400 for a CSV body that arrived parsed', () => {
      expect(invalid({ a: 1 }, 'text/csv').message).toBe('expected a CSV body as text');
    });
  });
});

describe('encodeMlflowResponse', () => {
  // Expected bodies recorded from MLflow 3.17.2's scoring server (`invocations()`)
  // on ONNX models built for the purpose (onnxruntime 1.31).

  it('writes a data frame answer as records, byte for byte as MLflow', () => {
    const body = encodeMlflowResponse(
      ...result('table', [
        { name: 'y', datatype: 'FP32', shape: [2, 1], data: Float32Array.from([3, 7]) },
        { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, 1n]) },
        { name: 'nan', datatype: 'FP32', shape: [2, 1], data: Float32Array.from([NaN, NaN]) },
      ]),
    );

    expect(body).toBe(
      '{"predictions": [{"y": 3.0, "label": 1, "nan": NaN}, {"y": 7.0, "label": 1, "nan": NaN}]}',
    );
  });

  it("writes an ndarray predict's answer as a plain list, as MLflow writes an sklearn model's labels", () => {
    const [answer, input] = result('table', [
      {
        name: 'predictions',
        datatype: 'INT64',
        shape: [3],
        data: BigInt64Array.from([1n, 0n, 1n]),
      },
    ]);

    const body = encodeMlflowResponse({ ...answer, extras: { mlflowForm: 'list' } }, input);

    expect(body).toBe('{"predictions": [1, 0, 1]}');
  });

  it("writes an ndarray predict's [n, k] answer as nested lists, floats as Python writes them", () => {
    const [answer, input] = result('tensors', [
      {
        name: 'predictions',
        datatype: 'FP64',
        shape: [2, 2],
        data: Float64Array.from([1, 0.5, 2, 1e-7]),
      },
    ]);

    const body = encodeMlflowResponse({ ...answer, extras: { mlflowForm: 'list' } }, input);

    expect(body).toBe('{"predictions": [[1.0, 0.5], [2.0, 1e-07]]}');
  });

  it('writes a tensor answer as a dict of nested lists, byte for byte as MLflow', () => {
    const body = encodeMlflowResponse(
      ...result('tensors', [
        { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([2n, 2n]) },
        {
          name: 'probabilities',
          datatype: 'FP32',
          shape: [2, 3],
          data: Float32Array.from([
            20.69999885559082, 30.899999618530273, 41.10000228881836, 60.89999771118164,
            78.0999984741211, 95.30000305175781,
          ]),
        },
      ]),
    );

    expect(body).toBe(
      '{"predictions": {"label": [2, 2], "probabilities": [[20.69999885559082, 30.899999618530273, 41.10000228881836], [60.89999771118164, 78.0999984741211, 95.30000305175781]]}}',
    );
  });

  it('flattens a lone [n, 3] output into 3n records, as MLflow does', () => {
    const body = encodeMlflowResponse(
      ...result('table', [
        {
          name: 'p',
          datatype: 'FP32',
          shape: [2, 3],
          data: Float32Array.from([9, 12, 15, 19, 26, 33]),
        },
      ]),
    );

    expect(body).toBe(
      '{"predictions": [{"p": 9.0}, {"p": 12.0}, {"p": 15.0}, {"p": 19.0}, {"p": 26.0}, {"p": 33.0}]}',
    );
  });

  it('writes every datatype as Python does: exact int64, repr floats, ASCII-escaped text', () => {
    const values = [0.1, 1e-5, 1e16, 1.5e300, -0, 123456789, 1e18, -2.5];
    const body = encodeMlflowResponse(
      ...result('tensors', [
        { name: 'f_out', datatype: 'FP64', shape: [8], data: Float64Array.from(values) },
        {
          name: 'i_out',
          datatype: 'INT64',
          shape: [8],
          data: BigInt64Array.from([
            0n,
            0n,
            10n ** 16n,
            -(2n ** 63n),
            0n,
            123456789n,
            10n ** 18n,
            -2n,
          ]),
        },
        {
          name: 's_out',
          datatype: 'BYTES',
          shape: [8],
          data: ['a', 'été', '"q"\n', '😀', '', 'x', 'y', 'z'],
        },
        {
          name: 'b_out',
          datatype: 'BOOL',
          shape: [8],
          data: Uint8Array.from([1, 1, 1, 1, 0, 1, 1, 0]),
        },
        {
          name: 'h_out',
          datatype: 'FP16',
          shape: [8],
          data: Uint16Array.from(values, toFloat16Bits),
        },
        { name: 'f32_out', datatype: 'FP32', shape: [8], data: Float32Array.from(values) },
      ]),
    );

    expect(body).toBe(
      '{"predictions": {"f_out": [0.1, 1e-05, 1e+16, 1.5e+300, -0.0, 123456789.0, 1e+18, -2.5], "i_out": [0, 0, 10000000000000000, -9223372036854775808, 0, 123456789, 1000000000000000000, -2], "s_out": ["a", "\\u00e9t\\u00e9", "\\"q\\"\\n", "\\ud83d\\ude00", "", "x", "y", "z"], "b_out": [true, true, true, true, false, true, true, false], "h_out": [0.0999755859375, 1.0013580322265625e-05, Infinity, Infinity, -0.0, Infinity, Infinity, -2.5], "f32_out": [0.10000000149011612, 9.999999747378752e-06, 1.0000000272564224e+16, Infinity, -0.0, 123456792.0, 9.999999843067494e+17, -2.5]}}',
    );
  });

  it('answers one record per row where MLflow would fail on outputs of different lengths', () => {
    const body = encodeMlflowResponse(
      ...result('table', [
        { name: 'label', datatype: 'INT64', shape: [2], data: BigInt64Array.from([0n, 2n]) },
        {
          name: 'probabilities',
          datatype: 'FP32',
          shape: [2, 2],
          data: Float32Array.from([0.75, 0.25, 0, 1]),
        },
      ]),
    );

    expect(body).toBe(
      '{"predictions": [{"label": 0, "probabilities": [0.75, 0.25]}, {"label": 2, "probabilities": [0.0, 1.0]}]}',
    );
  });

  it('writes per-row [n, 1] outputs as scalars beside longer rows', () => {
    const body = encodeMlflowResponse(
      ...result('table', [
        { name: 'score', datatype: 'FP64', shape: [2, 1], data: Float64Array.from([0.5, 1.5]) },
        {
          name: 'embedding',
          datatype: 'FP32',
          shape: [2, 2, 1],
          data: Float32Array.from([1, 2, 3, 4]),
        },
      ]),
    );

    expect(body).toBe(
      '{"predictions": [{"score": 0.5, "embedding": [[1.0], [2.0]]}, {"score": 1.5, "embedding": [[3.0], [4.0]]}]}',
    );
  });

  it('falls back to a dict when outputs do not share rows', () => {
    const body = encodeMlflowResponse(
      ...result('table', [
        { name: 'a', datatype: 'INT32', shape: [2], data: Int32Array.from([1, 2]) },
        { name: 'b', datatype: 'INT32', shape: [3], data: Int32Array.from([1, 2, 3]) },
      ]),
    );

    expect(body).toBe('{"predictions": {"a": [1, 2], "b": [1, 2, 3]}}');
  });

  it('writes a scalar output and no outputs', () => {
    expect(
      encodeMlflowResponse(
        ...result('tensors', [{ name: 's', datatype: 'FP64', shape: [], data: [2] }]),
      ),
    ).toBe('{"predictions": {"s": 2.0}}');
    expect(encodeMlflowResponse(...result('table', []))).toBe('{"predictions": []}');
  });

  it('reads plain arrays too', () => {
    const body = encodeMlflowResponse(
      ...result('tensors', [
        { name: 'n', datatype: 'INT64', shape: [2], data: [1, 2] },
        { name: 'h', datatype: 'FP16', shape: [1], data: [0.5] },
        { name: 'b', datatype: 'BOOL', shape: [1], data: [false] },
      ]),
    );

    expect(body).toBe('{"predictions": {"n": [1, 2], "h": [0.5], "b": [false]}}');
  });
});

describe('mlflowResultKind', () => {
  const column: ModelSignature = {
    inputs: [{ kind: 'column', name: 'a', type: 'double', required: true }],
    outputs: [],
    params: [],
  };
  const tensor: ModelSignature = {
    inputs: [{ kind: 'tensor', dtype: 'float32', datatype: 'FP32', shape: [-1, 4] }],
    outputs: [],
    params: [],
  };
  const tableInput: InferenceInput = { kind: 'table', columns: ['a'], rows: [[1]] };
  const tensorsInput: InferenceInput = { kind: 'tensors', tensors: [{ data: [1] }] };

  it('is table for a column-based signature, whatever came in', () => {
    expect(mlflowResultKind(tensorsInput, column)).toBe('table');
  });

  it('is tensors for a tensor-based signature, whatever came in', () => {
    expect(mlflowResultKind(tableInput, tensor)).toBe('tensors');
  });

  it('is what came in without a signature', () => {
    expect(mlflowResultKind(tableInput, undefined)).toBe('table');
    expect(mlflowResultKind(tensorsInput, { inputs: [], outputs: [], params: [] })).toBe('tensors');
  });
});
