import { namePattern } from './name-pattern';

describe('namePattern', () => {
  it('reads * as any run and ? as one character, everything else literally', () => {
    expect(namePattern('iris*').test('iris-classifier')).toBe(true);
    expect(namePattern('iris.v2').test('irisXv2')).toBe(false);
    expect(namePattern('iris').test('iris2')).toBe(false);
  });
});
