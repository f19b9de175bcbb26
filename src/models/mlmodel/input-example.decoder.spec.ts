import { ModelSignature } from '../model-signature.types';
import { TensorSpec } from '../tensor.types';
import { decodeInputExample } from './input-example.decoder';
import { InputExampleError } from './input-example.error';

const FLOAT_INPUT: TensorSpec[] = [{ name: 'float_input', datatype: 'FP32', shape: [-1, 2] }];
const COLUMNS: ModelSignature = {
  inputs: [
    { kind: 'column', name: 'b', type: 'double', required: true },
    { kind: 'column', name: 'a', type: 'double', required: true },
  ],
  outputs: [],
  params: [],
};

function failure(run: () => unknown): InputExampleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputExampleError);
    return error as InputExampleError;
  }
  throw new Error('expected an InputExampleError');
}

describe(decodeInputExample.name, () => {
  it('stacks a data frame into a single input, in signature column order', () => {
    const sut = decodeInputExample(
      {
        dataframe_split: {
          columns: ['a', 'b'],
          data: [
            [1, 2],
            [3, null],
          ],
        },
      },
      FLOAT_INPUT,
      COLUMNS,
    );

    expect(sut).toEqual([
      {
        name: 'float_input',
        datatype: 'FP32',
        shape: [2, 2],
        data: Float32Array.from([2, 1, NaN, 3]),
      },
    ]);
  });

  it('feeds a data frame column by column to inputs named as its columns', () => {
    const inputs: TensorSpec[] = [
      { name: 'age', datatype: 'INT64', shape: [-1] },
      { name: 'city', datatype: 'BYTES', shape: [-1, 1] },
    ];

    const sut = decodeInputExample(
      {
        dataframe_records: [
          { age: 30, city: 'Lyon' },
          { age: 41, city: 'Oslo' },
        ],
      },
      inputs,
    );

    expect(sut).toEqual([
      { name: 'age', datatype: 'INT64', shape: [2], data: BigInt64Array.from([30n, 41n]) },
      { name: 'city', datatype: 'BYTES', shape: [2, 1], data: ['Lyon', 'Oslo'] },
    ]);
  });

  it('feeds one unnamed tensor to the single input, its shape from the nesting', () => {
    const sut = decodeInputExample(
      {
        inputs: [
          [1.5, 2],
          [3, 4],
        ],
        params: { k: 1 },
      },
      FLOAT_INPUT,
    );

    expect(sut).toEqual([
      {
        name: 'float_input',
        datatype: 'FP32',
        shape: [2, 2],
        data: Float32Array.from([1.5, 2, 3, 4]),
      },
    ]);
  });

  it('feeds named tensors by input name, records taken column-wise', () => {
    const inputs: TensorSpec[] = [
      { name: 'x', datatype: 'FP64', shape: [-1] },
      { name: 'flag', datatype: 'BOOL', shape: [-1] },
    ];

    const sut = decodeInputExample(
      {
        instances: [
          { x: 1, flag: true },
          { x: 2, flag: false },
        ],
      },
      inputs,
    );

    expect(sut).toEqual([
      { name: 'x', datatype: 'FP64', shape: [2], data: Float64Array.from([1, 2]) },
      { name: 'flag', datatype: 'BOOL', shape: [2], data: [true, false] },
    ]);
  });

  it.each([
    ['no known format', { rows: [] }, /expected exactly one of dataframe_split, .* got none/],
    ['two formats', { inputs: [1], instances: [1] }, /got instances, inputs/],
    [
      'ragged lists',
      { inputs: [[1, 2], [3]] },
      /input 'float_input' are not a regular nested list/,
    ],
    [
      'a shape the input does not take',
      { inputs: [[1, 2, 3]] },
      /takes shape \[-1, 2\], the example has \[1, 3\]/,
    ],
    [
      'text for a float input',
      { inputs: [['a', 'b']] },
      /input 'float_input': value 0 \("a"\) is not an FP32 value/,
    ],
    [
      'a column the signature needs',
      { dataframe_split: { columns: ['a'], data: [[1]] } },
      /it has no column b/,
    ],
  ])('says what is wrong with %s', (_case, body, message) => {
    expect(failure(() => decodeInputExample(body, FLOAT_INPUT, COLUMNS)).message).toMatch(message);
  });

  it('names the missing input of a multi-input model', () => {
    const inputs: TensorSpec[] = [
      { name: 'a', datatype: 'FP32', shape: [-1] },
      { name: 'b', datatype: 'FP32', shape: [-1] },
    ];

    expect(failure(() => decodeInputExample({ inputs: { a: [1] } }, inputs)).message).toBe(
      "input example: inputs has no input 'b' (it has a)",
    );
  });
});
