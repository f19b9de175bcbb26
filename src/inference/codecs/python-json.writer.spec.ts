import { pythonFloat, pythonNested, pythonString } from './python-json.writer';

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
