import { DATA_TYPES } from '../../models/tensor.types';
import { createWriter, describeValue, expectation } from './tensor-writer';

describe('createWriter', () => {
  it.each([
    ['FP32', Float32Array],
    ['FP64', Float64Array],
    ['FP16', Uint16Array],
    ['INT8', Int8Array],
    ['INT16', Int16Array],
    ['INT32', Int32Array],
    ['INT64', BigInt64Array],
    ['UINT8', Uint8Array],
    ['UINT16', Uint16Array],
    ['UINT32', Uint32Array],
    ['UINT64', BigUint64Array],
    ['BOOL', Uint8Array],
  ] as const)('writes %s into a %p', (datatype, type) => {
    expect(createWriter(datatype, 3).data).toBeInstanceOf(type);
  });

  it('writes BYTES into a string array', () => {
    const writer = createWriter('BYTES', 2);

    expect(writer.set(0, 'a')).toBe(true);
    expect(writer.set(1, 1)).toBe(false);
    expect(writer.data).toEqual(['a', '']);
  });

  it('takes numbers only for floats', () => {
    const writer = createWriter('FP32', 1);

    expect(writer.set(0, '1')).toBe(false);
    expect(writer.set(0, true)).toBe(false);
    expect(writer.set(0, NaN)).toBe(true);
  });

  it.each([
    ['INT8', -128, 127],
    ['UINT8', 0, 255],
    ['INT16', -32768, 32767],
    ['UINT16', 0, 65535],
    ['INT32', -2147483648, 2147483647],
    ['UINT32', 0, 4294967295],
  ] as const)('range-checks %s to [%i, %i]', (datatype, min, max) => {
    const writer = createWriter(datatype, 1);

    expect(writer.set(0, min)).toBe(true);
    expect(writer.set(0, max)).toBe(true);
    expect(writer.set(0, min - 1)).toBe(false);
    expect(writer.set(0, max + 1)).toBe(false);
    expect(writer.set(0, 1.5)).toBe(false);
  });

  it('writes 64-bit integers from numbers and bigints, refusing what would wrap', () => {
    const int64 = createWriter('INT64', 2);
    const uint64 = createWriter('UINT64', 1);

    expect(int64.set(0, -(2 ** 63))).toBe(true);
    expect(int64.set(1, 5n)).toBe(true);
    expect(int64.data).toEqual(BigInt64Array.from([-(2n ** 63n), 5n]));
    expect(int64.set(0, 2 ** 63)).toBe(false);
    expect(int64.set(0, 2n ** 63n)).toBe(false);
    expect(int64.set(0, 0.5)).toBe(false);
    expect(int64.set(0, '1')).toBe(false);
    expect(uint64.set(0, -1)).toBe(false);
    expect(uint64.set(0, 2 ** 64 - 2048)).toBe(true);
  });

  it('writes booleans as bytes and nothing else', () => {
    const writer = createWriter('BOOL', 2);

    expect(writer.set(0, true)).toBe(true);
    expect(writer.set(1, 1)).toBe(false);
    expect(writer.data).toEqual(Uint8Array.from([1, 0]));
  });

  it('writes half floats as bits', () => {
    const writer = createWriter('FP16', 1);

    expect(writer.set(0, 1)).toBe(true);
    expect(writer.set(0, 'x')).toBe(false);
    expect(writer.data).toEqual(Uint16Array.from([0x3c00]));
  });
});

describe('messages', () => {
  it('says what every datatype takes', () => {
    for (const datatype of DATA_TYPES) expect(expectation(datatype)).toMatch(/^(a|an|true) /);
    expect(expectation('UINT8')).toBe('an integer from 0 to 255');
  });

  it.each([
    ['x', 'the string "x"'],
    ['a'.repeat(50), `the string "${'a'.repeat(40)}…"`],
    [null, 'null'],
    [undefined, 'null'],
    [1.5, '1.5'],
    [false, 'false'],
    [[1], 'a list'],
    [{ a: 1 }, 'an object'],
  ])('describes %p as %s', (value, text) => {
    expect(describeValue(value)).toBe(text);
  });
});
