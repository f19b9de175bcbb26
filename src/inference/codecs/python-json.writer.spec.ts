import { DataType, Tensor } from '../../models/tensor.types';
import {
  elementText,
  nestedText,
  pythonFloat,
  pythonNested,
  pythonString,
  pythonValue,
} from './python-json.writer';

describe('pythonFloat', () => {
  it.each([
    [3, '3.0'],
    [0.1, '0.1'],
    [-2.5, '-2.5'],
    [0.0001, '0.0001'],
    [0.00009999999999999999, '9.999999999999999e-05'],
    [-0.00012, '-0.00012'],
    [9999999999999998, '9999999999999998.0'],
    [-1e16, '-1e+16'],
    [Math.fround(0.1), '0.10000000149011612'],
    [123.456, '123.456'],
    [0.00001, '1e-05'],
    [1.5e-7, '1.5e-07'],
    [1e15, '1000000000000000.0'],
    [1e16, '1e+16'],
    [123456789012345680, '1.2345678901234568e+17'],
    [1.5e300, '1.5e+300'],
    [5e-324, '5e-324'],
    [0, '0.0'],
    [-0, '-0.0'],
    [NaN, 'NaN'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
  ])('writes %p as Python repr does: %s', (value, text) => {
    expect(pythonFloat(value)).toBe(text);
  });
});

describe('pythonString', () => {
  it('escapes as json.dumps with ensure_ascii', () => {
    expect(pythonString('é"\n\u007f\u0001😀')).toBe('"\\u00e9\\"\\n\\u007f\\u0001\\ud83d\\ude00"');
  });
});

describe('pythonNested', () => {
  it('writes a slice of a tensor as nested lists', () => {
    const tensor = {
      name: 't',
      datatype: 'INT32' as const,
      shape: [2, 2, 2],
      data: Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8]),
    };

    expect(pythonNested(tensor, [2, 2], 4)).toEqual({ text: '[[5, 6], [7, 8]]', next: 8 });
    expect(pythonNested(tensor, [], 3)).toEqual({ text: '4', next: 4 });
  });
});

describe('elementText', () => {
  const float = [0, -0, 1, 0.1, 1.5e-7, 1e16, 2 ** 70, NaN, Infinity, -Infinity, 3.25];
  const cases: Array<[DataType, Tensor['data']]> = [
    ['FP32', Float32Array.from(float)],
    ['FP64', Float64Array.from(float)],
    ['FP64', float],
    ['FP16', Uint16Array.from([0, 0x3c00, 0x7e00, 0xfc00])],
    ['INT8', Int8Array.from([-128, 0, 127])],
    ['INT32', Int32Array.from([-(2 ** 31), 7])],
    ['UINT32', Uint32Array.from([2 ** 32 - 1])],
    ['INT32', Float32Array.from([1.5e-7, 2, NaN])],
    ['INT32', [3, 4.5]],
    ['INT64', BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n])],
    ['UINT64', BigUint64Array.from([2n ** 64n - 1n])],
    ['INT64', [2 ** 53, -1]],
    ['BOOL', Uint8Array.from([0, 1])],
    ['BOOL', [true, false]],
    ['BYTES', ['a', 'é"\\']],
  ];

  it.each(cases)('writes every %s element of %p as pythonValue does', (datatype, data) => {
    const tensor: Tensor = { name: 't', datatype, shape: [data.length], data };
    const write = elementText(tensor);

    for (let i = 0; i < data.length; i++) expect(write(i)).toBe(pythonValue(tensor, i));
  });

  it('writes slices through one writer as pythonNested does', () => {
    const tensor: Tensor = {
      name: 't',
      datatype: 'FP32',
      shape: [2, 2, 3],
      data: Float32Array.from([1, 2, 3, 4, 5, 6, 0.5, 8, 9, 10, 11, 12]),
    };
    const write = elementText(tensor);

    for (const [shape, start] of [
      [[2, 3], 6],
      [[3], 3],
      [[], 7],
      [[2, 2, 3], 0],
    ] as Array<[number[], number]>) {
      expect(nestedText(write, shape, start)).toBe(pythonNested(tensor, shape, start).text);
    }
    expect(nestedText(write, [2, 3], 6)).toBe('[[0.5, 8.0, 9.0], [10.0, 11.0, 12.0]]');
  });
});
