import { fromBFloat16Bits, fromFloat16Bits, toFloat16Bits } from './float16';

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [0, 0x0000],
    [-0, 0x8000],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1e6, 0x7c00],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [1e-10, 0x0000],
  ])('encodes %p as %i', (value, bits) => {
    expect(toFloat16Bits(value)).toBe(bits);
  });

  it('rounds half to even, carrying into the exponent', () => {
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(toFloat16Bits(2 - 2 ** -12)).toBe(0x4000);
    expect(toFloat16Bits(3 * 2 ** -25)).toBe(0x0002);
  });

  it('encodes NaN as a quiet NaN', () => {
    expect(toFloat16Bits(NaN) & 0x7e00).toBe(0x7e00);
  });

  it.each([
    [0x3c00, 1],
    [0xc000, -2],
    [0x0001, 2 ** -24],
    [0x7bff, 65504],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
  ])('decodes %i as %p', (bits, value) => {
    expect(fromFloat16Bits(bits)).toBe(value);
  });

  it('decodes NaN and negative zero', () => {
    expect(fromFloat16Bits(0x7e00)).toBeNaN();
    expect(Object.is(fromFloat16Bits(0x8000), -0)).toBe(true);
  });

  it('round-trips every finite half value', () => {
    for (let bits = 0; bits < 0x7c00; bits++) {
      if (toFloat16Bits(fromFloat16Bits(bits)) !== bits)
        throw new Error(`bits ${bits} do not round-trip`);
    }
  });
});

describe('bfloat16', () => {
  it.each([
    [0x3f80, 1],
    [0xc000, -2],
    [0x3f00, 0.5],
    [0x4049, 3.140625],
    [0x0000, 0],
    [0x7f80, Infinity],
    [0xff80, -Infinity],
    [0x0001, 2 ** -133],
  ])('decodes %i as %p', (bits, value) => {
    expect(fromBFloat16Bits(bits)).toBe(value);
  });

  it('decodes -0 and NaN', () => {
    expect(Object.is(fromBFloat16Bits(0x8000), -0)).toBe(true);
    expect(fromBFloat16Bits(0x7fc0)).toBeNaN();
  });
});
