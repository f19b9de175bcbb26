import { InvalidInputError } from '../inference.error';
import { isDecimal, parseCsvTable } from './csv.parser';
import { Fuzzer, decodeOrRefuse } from './testing/fuzz';

const PIECES = [
  'a',
  '1',
  '-2.5',
  '1e5',
  '"',
  '""',
  ',',
  '\n',
  '\r\n',
  '\r',
  ' ',
  'NA',
  'True',
  'inf',
  'x',
  '\ufeff',
  '9'.repeat(200),
];

describe('parseCsvTable, fuzzed', () => {
  it('parses or refuses with InvalidInputError 3,000 random texts, with at most one cell per character', () => {
    const fuzz = new Fuzzer(4180);
    let parsed = 0;
    for (let n = 0; n < 3000; n++) {
      const text = Array.from({ length: fuzz.int(60) }, () => fuzz.pick(PIECES)).join('');

      const sut = decodeOrRefuse(n, () => parseCsvTable(text), [InvalidInputError]);

      if (sut === undefined) continue;
      parsed++;
      expect(sut.rows.length * sut.columns.length).toBeLessThanOrEqual(text.length + 1);
    }
    expect(parsed).toBeGreaterThan(100);
  });

  it('agrees with a reference number pattern on random number-like cells', () => {
    // The reference is the regex isDecimal replaced, run on short cells only.
    const reference = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
    const fuzz = new Fuzzer(7);
    for (let n = 0; n < 5000; n++) {
      const cell = Array.from({ length: fuzz.int(8) }, () =>
        fuzz.pick(['1', '0', '.', 'e', 'E', '+', '-', 'x', ' ']),
      ).join('');

      expect([cell, isDecimal(cell)]).toEqual([cell, reference.test(cell)]);
    }
  });
});
