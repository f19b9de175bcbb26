import {
  ColumnSpec,
  ModelSignature,
  TensorSignatureSpec,
} from '../../models/model-signature.types';
import { InvalidInputError } from '../inference.error';
import { TensorSpec } from '../../models/tensor.types';
import { InferenceInput, RequestTensor } from '../inference.types';
import { bindInputs } from './input-binder';

const IRIS = ['sepal length (cm)', 'sepal width (cm)', 'petal length (cm)', 'petal width (cm)'];

function columns(...specs: Partial<ColumnSpec>[]): ModelSignature {
  return {
    inputs: specs.map((s) => ({ kind: 'column', type: 'double', required: true, ...s })),
    outputs: [],
    params: [],
  };
}

function tensors(...specs: Partial<TensorSignatureSpec>[]): ModelSignature {
  return {
    inputs: specs.map((s) => ({
      kind: 'tensor',
      dtype: 'float32',
      datatype: 'FP32',
      shape: [-1, 4],
      ...s,
    })),
    outputs: [],
    params: [],
  };
}

function table(cols: string[], rows: unknown[][]): InferenceInput {
  return { kind: 'table', columns: cols, rows };
}

function tensorInput(...list: RequestTensor[]): InferenceInput {
  return { kind: 'tensors', tensors: list };
}

const IRIS_SIGNATURE = columns(...IRIS.map((name) => ({ name })));
const FLOAT_INPUT: TensorSpec = { name: 'float_input', datatype: 'FP32', shape: [-1, 4] };

function bindError(run: () => unknown): InvalidInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError');
}

describe('bindInputs', () => {
  describe('a column-based signature with a data frame', () => {
    it('stacks the columns in signature order into the single ONNX input', () => {
      const input = table([IRIS[3], IRIS[0], IRIS[1], IRIS[2]], [[0.2, 5.1, 3.5, 1.4]]);

      const [feed] = bindInputs(input, IRIS_SIGNATURE, [FLOAT_INPUT]);

      expect(feed.name).toBe('float_input');
      expect(feed.datatype).toBe('FP32');
      expect(feed.shape).toEqual([1, 4]);
      expect(feed.data).toEqual(Float32Array.from([5.1, 3.5, 1.4, 0.2]));
    });

    it('binds 100 rows of 4 columns into a Float32Array of 400 values', () => {
      const rows = Array.from({ length: 100 }, (_, r) => [r, r + 0.25, r + 0.5, r + 0.75]);

      const [feed] = bindInputs(table(IRIS, rows), IRIS_SIGNATURE, [FLOAT_INPUT]);

      expect(feed.data).toBeInstanceOf(Float32Array);
      expect(feed.data).toHaveLength(400);
      expect(feed.shape).toEqual([100, 4]);
      expect(feed.data[398]).toBe(99.5);
    });

    it('returns 400 naming the missing column', () => {
      const error = bindError(() =>
        bindInputs(table(IRIS.slice(0, 3), [[1, 2, 3]]), IRIS_SIGNATURE, [FLOAT_INPUT]),
      );

      expect(error.message).toMatch(/missing required column 'petal width \(cm\)'/);
      expect(error.field).toBe('petal width (cm)');
    });

    it('returns 400 naming unknown columns, which MLflow would ignore', () => {
      const error = bindError(() =>
        bindInputs(table([...IRIS, 'id'], [[1, 2, 3, 4, 7]]), IRIS_SIGNATURE, [FLOAT_INPUT]),
      );

      expect(error.message).toMatch(/unknown column 'id'; the model expects 'sepal length/);
    });

    it('ignores unknown columns when told to, as MLflow does', () => {
      const [feed] = bindInputs(
        table([...IRIS, 'id'], [[1, 2, 3, 4, 7]]),
        IRIS_SIGNATURE,
        [FLOAT_INPUT],
        {
          extraInputs: 'ignore',
        },
      );

      expect(feed.data).toEqual(Float32Array.from([1, 2, 3, 4]));
    });

    it('returns 400 naming the column, row and expected type of a mistyped value', () => {
      const error = bindError(() =>
        bindInputs(
          table(IRIS, [
            [1, 2, 3, 4],
            [1, 'x', 3, 4],
          ]),
          IRIS_SIGNATURE,
          [FLOAT_INPUT],
        ),
      );

      expect(error.message).toBe(
        `column 'sepal width (cm)' row 1: expected a double, got the string "x"`,
      );
      expect(error.field).toBe('sepal width (cm)');
    });

    it('refuses booleans in a double column', () => {
      expect(() =>
        bindInputs(table(IRIS, [[true, 2, 3, 4]]), IRIS_SIGNATURE, [FLOAT_INPUT]),
      ).toThrow(/row 0: expected a double, got true/);
    });

    it('takes NaN for null in an optional double column', () => {
      const signature = columns({ name: 'a' }, { name: 'b', required: false });

      const [feed] = bindInputs(table(['a', 'b'], [[1, null]]), signature, [
        { name: 'x', datatype: 'FP32', shape: [-1, 2] },
      ]);

      expect(Array.from(feed.data as Float32Array)).toEqual([1, NaN]);
    });

    it('fills an absent optional double column with NaN', () => {
      const signature = columns({ name: 'a' }, { name: 'b', required: false });

      const [feed] = bindInputs(table(['a'], [[1], [2]]), signature, [
        { name: 'x', datatype: 'FP64', shape: [-1, 2] },
      ]);

      expect(Array.from(feed.data as Float64Array)).toEqual([1, NaN, 2, NaN]);
    });

    it.each([
      ['null', null],
      ['NaN', NaN],
    ])('returns 400 for %s in a required column', (_case, value) => {
      expect(() =>
        bindInputs(table(IRIS, [[1, 2, value, 4]]), IRIS_SIGNATURE, [FLOAT_INPUT]),
      ).toThrow(`column 'petal length (cm)' row 0: missing value in a required column`);
    });

    it('returns 400 for a missing value an integer input cannot hold', () => {
      const signature = columns({ name: 'n', type: 'long', required: false });

      expect(() =>
        bindInputs(table(['n'], [[null]]), signature, [
          { name: 'n', datatype: 'INT64', shape: [-1] },
        ]),
      ).toThrow(/row 0: missing value, which the model input 'n' \(INT64\) cannot hold/);
    });

    it('returns 400 for an absent optional column an integer input needs', () => {
      const signature = columns(
        { name: 'a', type: 'long' },
        { name: 'b', type: 'long', required: false },
      );

      expect(() =>
        bindInputs(table(['a'], [[1]]), signature, [
          { name: 'x', datatype: 'INT64', shape: [-1, 2] },
        ]),
      ).toThrow(/column 'b' is absent, and the model input 'x' \(INT64\) needs a value for it/);
    });

    it('takes integers in a double column', () => {
      const [feed] = bindInputs(table(IRIS, [[5, 3, 1, 0]]), IRIS_SIGNATURE, [FLOAT_INPUT]);

      expect(feed.data).toEqual(Float32Array.from([5, 3, 1, 0]));
    });

    it.each([
      ['long', 1.5, /row 0: expected an integer \(long\), got 1.5/],
      ['integer', 2 ** 31, /row 0: expected a 32-bit integer, got 2147483648/],
      ['boolean', 1, /row 0: expected true or false, got 1/],
      ['string', true, /row 0: expected a string, got true/],
    ] as const)('returns 400 for a value that is not a %s', (type, value, message) => {
      const signature = columns({ name: 'c', type });

      expect(() =>
        bindInputs(table(['c'], [[value]]), signature, [
          { name: 'c', datatype: 'FP64', shape: [-1] },
        ]),
      ).toThrow(message);
    });

    it('returns 400 naming the model input when a double cannot go into its integer type', () => {
      const signature = columns({ name: 'c' });

      expect(() =>
        bindInputs(table(['c'], [[1.5]]), signature, [
          { name: 'c', datatype: 'INT64', shape: [-1] },
        ]),
      ).toThrow(`column 'c' row 0: the model input 'c' is INT64 and takes an integer, got 1.5`);
    });

    it('writes booleans, strings (numbers as text) and longs in their ONNX types', () => {
      const signature = columns(
        { name: 'flag', type: 'boolean' },
        { name: 'city', type: 'string' },
        { name: 'count', type: 'long' },
      );
      const modelInputs: TensorSpec[] = [
        { name: 'flag', datatype: 'BOOL', shape: [-1, 1] },
        { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
        { name: 'count', datatype: 'INT64', shape: [-1] },
      ];

      const feeds = bindInputs(
        table(
          ['count', 'city', 'flag'],
          [
            [3, 'Oslo', true],
            [4, 75001, false],
          ],
        ),
        signature,
        modelInputs,
      );

      expect(feeds).toEqual([
        { name: 'flag', datatype: 'BOOL', shape: [2, 1], data: Uint8Array.from([1, 0]) },
        { name: 'city', datatype: 'BYTES', shape: [2, 1], data: ['Oslo', '75001'] },
        { name: 'count', datatype: 'INT64', shape: [2], data: BigInt64Array.from([3n, 4n]) },
      ]);
    });

    it('returns 400 when an ONNX input has no column of its name', () => {
      const signature = columns({ name: 'a' }, { name: 'b' });

      expect(() =>
        bindInputs(table(['a', 'b'], [[1, 2]]), signature, [
          { name: 'a', datatype: 'FP32', shape: [-1] },
          { name: 'z', datatype: 'FP32', shape: [-1] },
        ]),
      ).toThrow(/the model input 'z' takes the column of that name/);
    });

    it('returns 400 when the columns cannot fill the ONNX input shape', () => {
      expect(() =>
        bindInputs(table(IRIS, [[1, 2, 3, 4]]), IRIS_SIGNATURE, [
          { name: 'float_input', datatype: 'FP32', shape: [-1, 3] },
        ]),
      ).toThrow(
        /the model input 'float_input' has shape \[-1, 3\], which 4 columns per row cannot fill/,
      );
    });

    it('feeds a one-column signature to a rank-1 input as [rows]', () => {
      const [feed] = bindInputs(table(['a'], [[1], [2]]), columns({ name: 'a' }), [
        { name: 'x', datatype: 'FP32', shape: [-1] },
      ]);

      expect(feed.shape).toEqual([2]);
    });

    it('refuses a column shape an ONNX input cannot take', () => {
      expect(() =>
        bindInputs(table(['a', 'b'], [[1, 2]]), columns({ name: 'a' }, { name: 'b' }), [
          { name: 'a', datatype: 'FP32', shape: [-1, 2] },
          { name: 'b', datatype: 'FP32', shape: [-1] },
        ]),
      ).toThrow(/the model input 'a' has shape \[-1, 2\]; one column cannot fill it/);
    });

    it('returns 400 for a column sent twice', () => {
      expect(() =>
        bindInputs(table(['a', 'a'], [[1, 2]]), columns({ name: 'a' }), [FLOAT_INPUT]),
      ).toThrow(`column 'a' appears twice`);
    });

    it('matches an unnamed signature by position', () => {
      const signature = columns({}, {});

      const [feed] = bindInputs(table(['x', 'y'], [[1, 2]]), signature, [
        { name: 'in', datatype: 'FP32', shape: [-1, 2] },
      ]);

      expect(feed.data).toEqual(Float32Array.from([1, 2]));
      expect(() => bindInputs(table(['x'], [[1]]), signature, [FLOAT_INPUT])).toThrow(
        /the model takes 2 columns \(its signature does not name them\), got 1/,
      );
    });

    it('refuses binary columns, which onnxruntime cannot take', () => {
      expect(() =>
        bindInputs(table(['b'], [['AAE=']]), columns({ name: 'b', type: 'binary' }), [
          { name: 'b', datatype: 'BYTES', shape: [-1] },
        ]),
      ).toThrow(/column 'b' has type binary, which the ONNX runtime cannot take/);
    });
  });

  describe('a column-based signature with tensors', () => {
    it('takes named tensors as columns', () => {
      const input = tensorInput(...IRIS.map((name, i) => ({ name, data: [i, i + 10] })));

      const [feed] = bindInputs(input, IRIS_SIGNATURE, [FLOAT_INPUT]);

      expect(feed.shape).toEqual([2, 4]);
      expect(feed.data).toEqual(Float32Array.from([0, 1, 2, 3, 10, 11, 12, 13]));
    });

    it('takes Open Inference tensors of shape [n] and [n, 1] as columns', () => {
      const signature = columns({ name: 'a' }, { name: 'b' });
      const input = tensorInput(
        { name: 'a', datatype: 'FP64', shape: [2], data: [1, 2] },
        { name: 'b', datatype: 'FP64', shape: [2, 1], data: [3, 4] },
      );

      const [feed] = bindInputs(input, signature, [
        { name: 'x', datatype: 'FP32', shape: [-1, 2] },
      ]);

      expect(feed.data).toEqual(Float32Array.from([1, 3, 2, 4]));
    });

    it('takes a scalar per column as one row', () => {
      const [feed] = bindInputs(tensorInput({ name: 'a', data: 7 }), columns({ name: 'a' }), [
        { name: 'x', datatype: 'FP32', shape: [-1, 1] },
      ]);

      expect(feed.shape).toEqual([1, 1]);
    });

    it('returns 400 when columns have different lengths', () => {
      expect(() =>
        bindInputs(
          tensorInput({ name: 'a', data: [1, 2] }, { name: 'b', data: [3] }),
          columns({ name: 'a' }, { name: 'b' }),
          [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
        ),
      ).toThrow(/every column needs the same number of rows: 'a' has 2, 'b' has 1/);
    });

    it('returns 400 for a column given as a matrix', () => {
      expect(() =>
        bindInputs(tensorInput({ name: 'a', data: [[1, 2]] }), columns({ name: 'a' }), [
          FLOAT_INPUT,
        ]),
      ).toThrow(
        /column 'a' must be a list of values \(shape \[n\] or \[n, 1\]\), got shape \[1, 2\]/,
      );
    });

    it('returns 400 asking for names when one unnamed tensor meets named columns', () => {
      expect(() =>
        bindInputs(tensorInput({ data: [[1, 2, 3, 4]] }), IRIS_SIGNATURE, [FLOAT_INPUT]),
      ).toThrow(/the model takes named columns 'sepal length \(cm\)'.*send a data frame/);
    });

    it('takes one unnamed list as the column of a one-column signature', () => {
      const [feed] = bindInputs(tensorInput({ data: [1, 2, 3] }), columns({ name: 'a' }), [
        { name: 'x', datatype: 'FP32', shape: [-1] },
      ]);

      expect(feed.data).toEqual(Float32Array.from([1, 2, 3]));
    });

    it('takes one unnamed matrix as the rows of an unnamed signature', () => {
      const [feed] = bindInputs(
        tensorInput({
          data: [
            [1, 2],
            [3, 4],
          ],
        }),
        columns({}, {}),
        [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }],
      );

      expect(feed.data).toEqual(Float32Array.from([1, 2, 3, 4]));
      expect(() =>
        bindInputs(tensorInput({ data: [1, 2] }), columns({}, {}), [FLOAT_INPUT]),
      ).toThrow(/the model takes rows of 2 columns: send a list of rows, got shape \[2\]/);
    });

    it('returns 400 for a ragged column', () => {
      expect(() =>
        bindInputs(tensorInput({ name: 'a', data: [[1], [2, 3]] }), columns({ name: 'a' }), [
          FLOAT_INPUT,
        ]),
      ).toThrow(/column 'a' is not a regular nested list at \[1\]: expected a list of 1, got 2/);
    });

    it('returns 400 for tensors without names or sent twice', () => {
      const signature = columns({ name: 'a' }, { name: 'b' });

      expect(() =>
        bindInputs(tensorInput({ name: 'a', data: [1] }, { data: [2] }), signature, [FLOAT_INPUT]),
      ).toThrow(/every input needs a name/);
      expect(() =>
        bindInputs(tensorInput({ name: 'a', data: [1] }, { name: 'a', data: [2] }), signature, [
          FLOAT_INPUT,
        ]),
      ).toThrow(`column 'a' appears twice`);
    });
  });

  describe('a tensor-based signature', () => {
    it('binds the unnamed tensor to the single input, converting to its datatype', () => {
      const [feed] = bindInputs(
        tensorInput({
          data: [
            [5.1, 3.5, 1.4, 0.2],
            [6.7, 3, 5.2, 2.3],
          ],
        }),
        tensors({}),
        [FLOAT_INPUT],
      );

      expect(feed).toEqual({
        name: 'float_input',
        datatype: 'FP32',
        shape: [2, 4],
        data: Float32Array.from([5.1, 3.5, 1.4, 0.2, 6.7, 3, 5.2, 2.3]),
      });
    });

    it('returns 400 naming the input, the expected shape and the shape it got', () => {
      const error = bindError(() =>
        bindInputs(tensorInput({ name: 'x', data: [[1, 2, 3]] }), tensors({ name: 'x' }), [
          { ...FLOAT_INPUT, name: 'x' },
        ]),
      );

      expect(error.message).toBe(`input 'x': expected shape [-1, 4], got [1, 3]`);
      expect(error.field).toBe('x');
    });

    it('returns 400 for the wrong rank', () => {
      expect(() =>
        bindInputs(tensorInput({ data: [1, 2, 3, 4] }), tensors({}), [FLOAT_INPUT]),
      ).toThrow(`the input: expected shape [-1, 4], got [4]`);
    });

    it('checks the ONNX input shape too when it is stricter than the signature', () => {
      expect(() =>
        bindInputs(tensorInput({ data: [[1, 2, 3]] }), tensors({ shape: [-1, -1] }), [FLOAT_INPUT]),
      ).toThrow(`the input: the model input 'float_input' has shape [-1, 4], got [1, 3]`);
    });

    it('returns 400 for ragged nested lists', () => {
      expect(() =>
        bindInputs(
          tensorInput({
            data: [
              [1, 2, 3, 4],
              [4, 5, 6],
            ],
          }),
          tensors({}),
          [FLOAT_INPUT],
        ),
      ).toThrow(`the input is not a regular nested list at [1]: expected a list of 4, got 3`);
    });

    it('returns 400 naming the element that is not a number', () => {
      expect(() =>
        bindInputs(
          tensorInput({
            data: [
              [1, 2, 3, 4],
              [4, 5, 'x', 6],
            ],
          }),
          tensors({}),
          [FLOAT_INPUT],
        ),
      ).toThrow(
        `the input at [1, 2]: the model input 'float_input' is FP32 and takes a number, got the string "x"`,
      );
    });

    it('converts FP64 data into an FP32 input, as MLflow casts float64 to float32', () => {
      const [feed] = bindInputs(
        tensorInput({
          name: 'float_input',
          datatype: 'FP64',
          shape: [1, 4],
          data: [0.1, 0.2, 0.3, 0.4],
        }),
        tensors({}),
        [FLOAT_INPUT],
      );

      expect(feed.data).toEqual(Float32Array.from([0.1, 0.2, 0.3, 0.4]));
    });

    it('binds a tensor named as the ONNX input of a column-signature model straight to it', () => {
      const [feed] = bindInputs(
        tensorInput({
          name: 'float_input',
          datatype: 'FP32',
          shape: [2, 4],
          data: [1, 2, 3, 4, 5, 6, 7, 8],
        }),
        IRIS_SIGNATURE,
        [FLOAT_INPUT],
      );

      expect(feed).toEqual({
        name: 'float_input',
        datatype: 'FP32',
        shape: [2, 4],
        data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
      });
    });

    it('returns 400 naming an input the model does not have, for a single unnamed spec', () => {
      const error = bindError(() =>
        bindInputs(
          tensorInput({ name: 'pixels', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }),
          tensors({}),
          [FLOAT_INPUT],
        ),
      );

      expect(error.message).toBe("unknown input 'pixels'; the model's input is 'float_input'");
    });

    it('widens integers and takes them into floats', () => {
      const spec: TensorSpec = { name: 'n', datatype: 'INT64', shape: [-1] };

      const [ints] = bindInputs(
        tensorInput({ name: 'n', datatype: 'INT32', shape: [2], data: [1, -2] }),
        undefined,
        [spec],
      );
      const [floats] = bindInputs(
        tensorInput({ name: 'float_input', datatype: 'INT64', shape: [1, 4], data: [1, 2, 3, 4] }),
        tensors({}),
        [FLOAT_INPUT],
      );

      expect(ints.data).toEqual(BigInt64Array.from([1n, -2n]));
      expect(floats.data).toEqual(Float32Array.from([1, 2, 3, 4]));
    });

    it.each([
      ['BYTES', 'FP32', ['a']],
      ['FP32', 'INT64', [1]],
      ['BOOL', 'INT8', [true]],
      ['INT32', 'BOOL', [1]],
    ] as const)('returns 400 for %s data into an %s input', (declared, target, data) => {
      expect(() =>
        bindInputs(
          tensorInput({ name: 'v', datatype: declared, shape: [1], data: [...data] }),
          undefined,
          [{ name: 'v', datatype: target, shape: [-1] }],
        ),
      ).toThrow(`input 'v' is ${declared}, but the model input 'v' is ${target}`);
    });

    it('range-checks integers narrowed into a smaller type', () => {
      expect(() =>
        bindInputs(
          tensorInput({ name: 'v', datatype: 'INT64', shape: [2], data: [1, 300] }),
          undefined,
          [{ name: 'v', datatype: 'INT8', shape: [-1] }],
        ),
      ).toThrow(
        `input 'v' at [1]: the model input 'v' is INT8 and takes an integer from -128 to 127, got 300`,
      );
    });

    it('returns 400 when flat data does not fill the declared shape', () => {
      expect(() =>
        bindInputs(
          tensorInput({ name: 'v', datatype: 'FP32', shape: [2, 2], data: [1, 2, 3] }),
          tensors({}),
          [FLOAT_INPUT],
        ),
      ).toThrow(`input 'v': shape [2, 2] needs 4 values, got 3`);
    });

    it('matches named tensors by name, in the ONNX input order', () => {
      const signature = tensors(
        { name: 'a', shape: [-1] },
        { name: 'b', shape: [-1], dtype: 'int64', datatype: 'INT64' },
      );
      const modelInputs: TensorSpec[] = [
        { name: 'b', datatype: 'INT64', shape: [-1] },
        { name: 'a', datatype: 'FP32', shape: [-1] },
      ];

      const feeds = bindInputs(
        tensorInput({ name: 'a', data: [1.5] }, { name: 'b', data: [2] }),
        signature,
        modelInputs,
      );

      expect(feeds.map((f) => [f.name, f.data])).toEqual([
        ['b', BigInt64Array.from([2n])],
        ['a', Float32Array.from([1.5])],
      ]);
    });

    it('returns 400 naming a missing input and rejects unknown ones', () => {
      const signature = tensors({ name: 'a', shape: [-1] }, { name: 'b', shape: [-1] });
      const modelInputs: TensorSpec[] = [
        { name: 'a', datatype: 'FP32', shape: [-1] },
        { name: 'b', datatype: 'FP32', shape: [-1] },
      ];

      expect(() =>
        bindInputs(tensorInput({ name: 'a', data: [1] }), signature, modelInputs),
      ).toThrow(`missing input 'b'; the model expects 'a', 'b'`);
      expect(() =>
        bindInputs(
          tensorInput({ name: 'a', data: [1] }, { name: 'b', data: [2] }, { name: 'c', data: [3] }),
          signature,
          modelInputs,
        ),
      ).toThrow(`unknown input 'c'; the model expects 'a', 'b'`);
      expect(
        bindInputs(
          tensorInput({ name: 'a', data: [1] }, { name: 'b', data: [2] }, { name: 'c', data: [3] }),
          signature,
          modelInputs,
          { extraInputs: 'ignore' },
        ),
      ).toHaveLength(2);
    });

    it('returns 400 for an input sent twice or one unnamed tensor for named inputs', () => {
      const signature = tensors({ name: 'a', shape: [-1] }, { name: 'b', shape: [-1] });
      const modelInputs: TensorSpec[] = [
        { name: 'a', datatype: 'FP32', shape: [-1] },
        { name: 'b', datatype: 'FP32', shape: [-1] },
      ];

      expect(() =>
        bindInputs(
          tensorInput({ name: 'a', data: [1] }, { name: 'a', data: [2] }),
          signature,
          modelInputs,
        ),
      ).toThrow(`input 'a' appears twice`);
      expect(() => bindInputs(tensorInput({ data: [1] }), signature, modelInputs)).toThrow(
        /the model takes named inputs 'a', 'b'/,
      );
    });

    it('returns 400 for several tensors where the model takes one', () => {
      expect(() =>
        bindInputs(
          tensorInput({ name: 'a', data: [[1, 2, 3, 4]] }, { name: 'b', data: [[1, 2, 3, 4]] }),
          tensors({}),
          [FLOAT_INPUT],
        ),
      ).toThrow('the model takes one input, got 2');
    });

    it('stacks a data frame into the unnamed tensor, as MLflow does', () => {
      const [feed] = bindInputs(
        table(IRIS, [
          [1, 2, 3, 4],
          [5, 6, 7, 8],
        ]),
        tensors({}),
        [FLOAT_INPUT],
      );

      expect(feed.shape).toEqual([2, 4]);
      expect(feed.data).toEqual(Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]));
      expect(() => bindInputs(table(['a', 'b'], [[1, 2]]), tensors({}), [FLOAT_INPUT])).toThrow(
        `the data frame: expected shape [-1, 4], got [1, 2]`,
      );
    });

    it('takes a one-column data frame as [rows, 1] for a rank-2 spec', () => {
      const [feed] = bindInputs(table(['a'], [[1], [2]]), tensors({ shape: [-1, 1] }), [
        { name: 'x', datatype: 'FP32', shape: [-1, 1] },
      ]);

      expect(feed.shape).toEqual([2, 1]);
    });

    it('splits a data frame into named tensors, list cells and all', () => {
      const signature = tensors({ name: 'img', shape: [-1, 2] }, { name: 'scale', shape: [-1] });
      const modelInputs: TensorSpec[] = [
        { name: 'img', datatype: 'FP32', shape: [-1, 2] },
        { name: 'scale', datatype: 'FP32', shape: [-1] },
      ];

      const feeds = bindInputs(
        table(
          ['scale', 'img'],
          [
            [0.5, [1, 2]],
            [2, [3, 4]],
          ],
        ),
        signature,
        modelInputs,
      );

      expect(feeds.map((f) => [f.shape, Array.from(f.data as Float32Array)])).toEqual([
        [
          [2, 2],
          [1, 2, 3, 4],
        ],
        [[2], [0.5, 2]],
      ]);
      expect(() => bindInputs(table(['img'], [[[1, 2]]]), signature, modelInputs)).toThrow(
        `missing column 'scale'; the model expects 'img', 'scale'`,
      );
      expect(() =>
        bindInputs(table(['img', 'scale', 'x'], [[[1, 2], 1, 0]]), signature, modelInputs),
      ).toThrow(`unknown column 'x'; the model expects 'img', 'scale'`);
    });

    it('returns 400 for a data frame without columns', () => {
      expect(() => bindInputs(table([], []), tensors({}), [FLOAT_INPUT])).toThrow(
        'the data frame has no columns',
      );
    });

    it('writes FP16 as half-precision bits and BOOL as bytes', () => {
      const feeds = bindInputs(
        tensorInput({ name: 'h', data: [1, 0.5] }, { name: 'b', data: [true, false] }),
        tensors(
          { name: 'h', dtype: 'float16', datatype: 'FP16', shape: [-1] },
          { name: 'b', dtype: 'bool', datatype: 'BOOL', shape: [-1] },
        ),
        [
          { name: 'h', datatype: 'FP16', shape: [-1] },
          { name: 'b', datatype: 'BOOL', shape: [-1] },
        ],
      );

      expect(feeds[0].data).toEqual(Uint16Array.from([0x3c00, 0x3800]));
      expect(feeds[1].data).toEqual(Uint8Array.from([1, 0]));
    });

    it('throws a plain error when the signature names an input the ONNX model lacks', () => {
      const run = (): unknown =>
        bindInputs(
          tensorInput({ name: 'a', data: [1] }, { name: 'b', data: [1] }),
          tensors({ name: 'a', shape: [-1] }, { name: 'b', shape: [-1] }),
          [
            { name: 'a', datatype: 'FP32', shape: [-1] },
            { name: 'c', datatype: 'FP32', shape: [-1] },
          ],
        );

      expect(run).toThrow(/the signature's input 'b' matches no ONNX model input \(a, c\)/);
      expect(run).not.toThrow(InvalidInputError);
    });

    it('throws a plain error when an ONNX input is missing from the signature', () => {
      const run = (): unknown =>
        bindInputs(tensorInput({ name: 'a', data: [1] }), tensors({ name: 'a', shape: [-1] }), [
          { name: 'a', datatype: 'FP32', shape: [-1] },
          { name: 'mask', datatype: 'FP32', shape: [-1] },
        ]);

      expect(run).toThrow(`the ONNX model input 'mask' is not in the model's signature (a)`);
      expect(run).not.toThrow(InvalidInputError);
    });
  });

  describe('no signature', () => {
    it('stacks a data frame into the single ONNX input, NaN for nulls', () => {
      const [feed] = bindInputs(table(['p', 'q'], [[1, null]]), undefined, [
        { name: 'x', datatype: 'FP32', shape: [-1, 2] },
      ]);

      expect(Array.from(feed.data as Float32Array)).toEqual([1, NaN]);
    });

    it('returns 400 for a data frame without columns', () => {
      expect(() => bindInputs(table([], []), undefined, [FLOAT_INPUT])).toThrow(
        'the data frame has no columns',
      );
    });

    it('maps data frame columns to several ONNX inputs by name', () => {
      const modelInputs: TensorSpec[] = [
        { name: 'a', datatype: 'FP32', shape: [-1] },
        { name: 'b', datatype: 'INT64', shape: [-1, 1] },
      ];

      const feeds = bindInputs(table(['b', 'a'], [[2, 1.5]]), undefined, modelInputs);

      expect(feeds).toEqual([
        { name: 'a', datatype: 'FP32', shape: [1], data: Float32Array.from([1.5]) },
        { name: 'b', datatype: 'INT64', shape: [1, 1], data: BigInt64Array.from([2n]) },
      ]);
      expect(() => bindInputs(table(['a'], [[1]]), undefined, modelInputs)).toThrow(
        `missing column 'b'; the model's inputs are 'a', 'b'`,
      );
      expect(() => bindInputs(table(['a', 'b', 'c'], [[1, 2, 3]]), undefined, modelInputs)).toThrow(
        `unknown column 'c'; the model's inputs are 'a', 'b'`,
      );
    });

    it('binds tensors by the ONNX input names and shapes', () => {
      const [feed] = bindInputs(
        tensorInput({ name: 'float_input', data: [[1, 2, 3, 4]] }),
        undefined,
        [FLOAT_INPUT],
      );

      expect(feed.shape).toEqual([1, 4]);
      expect(() =>
        bindInputs(tensorInput({ name: 'x', data: [[1, 2, 3, 4]] }), undefined, [FLOAT_INPUT]),
      ).toThrow(`missing input 'float_input'; the model expects 'float_input'`);
      expect(() =>
        bindInputs(tensorInput({ data: [[1, 2, 3]] }), undefined, [FLOAT_INPUT]),
      ).toThrow(`the input: expected shape [-1, 4], got [1, 3]`);
    });

    it('binds strings to a BYTES input', () => {
      const [feed] = bindInputs(tensorInput({ data: ['a', 'b'] }), undefined, [
        { name: 'text', datatype: 'BYTES', shape: [-1] },
      ]);

      expect(feed.data).toEqual(['a', 'b']);
    });

    it('throws a plain error for a model without inputs', () => {
      expect(() => bindInputs(tensorInput({ data: [1] }), undefined, [])).toThrow(
        'the ONNX model declares no inputs',
      );
    });
  });

  describe('typed arrays from the binary tensor data extension', () => {
    const flat = (
      datatype: RequestTensor['datatype'],
      data: unknown,
      shape = [1, 4],
    ): InferenceInput => tensorInput({ name: 'float_input', datatype, shape, data });

    it('binds a Float32Array as flat data', () => {
      const [feed] = bindInputs(flat('FP32', Float32Array.from([1, 2, 3, 4])), undefined, [
        FLOAT_INPUT,
      ]);

      expect(feed.data).toEqual(Float32Array.from([1, 2, 3, 4]));
    });

    it('widens INT64 bigints into a float input, as numbers', () => {
      const [feed] = bindInputs(flat('INT64', BigInt64Array.from([1n, 2n, 3n, 4n])), undefined, [
        FLOAT_INPUT,
      ]);

      expect(feed.data).toEqual(Float32Array.from([1, 2, 3, 4]));
    });

    it('keeps INT64 values beyond 2^53 exact into an INT64 input', () => {
      const big = BigInt64Array.from([2n ** 53n + 1n]);
      const [feed] = bindInputs(flat('INT64', big, [1]), undefined, [
        { name: 'float_input', datatype: 'INT64', shape: [-1] },
      ]);

      expect(feed.data).toEqual(big);
    });

    it('range-checks bigints into a narrower integer input', () => {
      expect(() =>
        bindInputs(flat('INT64', BigInt64Array.from([2n ** 40n]), [1]), undefined, [
          { name: 'float_input', datatype: 'INT32', shape: [-1] },
        ]),
      ).toThrow(/at \[0\]: the model input 'float_input' is INT32 and takes an integer from/);
    });

    it('refuses a typed array whose length disagrees with the shape', () => {
      expect(() =>
        bindInputs(flat('FP32', Float32Array.from([1, 2, 3])), undefined, [FLOAT_INPUT]),
      ).toThrow("input 'float_input': shape [1, 4] needs 4 values, got 3");
    });
  });
});
