import { bindInputs } from '../binding/input-binder';
import { InvalidInputError } from '../inference.error';
import { DEFAULT_DECODE_LIMITS, DecodeLimits } from './decode-limits';
import { decodeMlflowRequest } from './mlflow-scoring.codec';
import { decodeInferRequest } from './open-inference.codec';
import { deep } from './testing/fuzz';

/** The limits every decoder keeps, decided before any model is looked up. */
const LIMITS: DecodeLimits = { maxElements: 1000, maxDepth: 16 };

function records(count: number): { dataframe_records: Record<string, number>[] } {
  return { dataframe_records: Array.from({ length: count }, (_, i) => ({ [`k${i}`]: 1 })) };
}

function refusal(decode: () => unknown): InvalidInputError {
  try {
    decode();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

describe('decode limits', () => {
  it('defaults to 2^24 elements and 64 levels', () => {
    expect(DEFAULT_DECODE_LIMITS).toEqual({ maxElements: 2 ** 24, maxDepth: 64 });
  });

  describe('MLflow dataframe_records', () => {
    it('returns 400 naming records × keys and the cap when records bring differing keys', () => {
      const sut = refusal(() => decodeMlflowRequest(records(40), 'application/json', LIMITS));

      expect(sut.message).toBe(
        'dataframe_records (40 records × 40 distinct keys) holds 1600 values, more than the 1000 one request may carry (API_MAX_ELEMENTS)',
      );
    });

    it('refuses 30,000 such records at the default cap without building the table', () => {
      const before = process.memoryUsage().heapUsed;

      const sut = refusal(() => decodeMlflowRequest(records(30_000), 'application/json'));

      expect(sut.message).toMatch(/holds 900000000 values, more than the 16777216/);
      // The table would be 9·10^8 cells (7 GB of pointers); the refusal costs the keys alone.
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(200 * 1024 * 1024);
    });

    it('still decodes records with a few missing keys as missing values', () => {
      const sut = decodeMlflowRequest(
        { dataframe_records: [{ a: 1, b: 2 }, { a: 3 }] },
        'application/json',
        LIMITS,
      );

      expect(sut.input).toEqual({
        kind: 'table',
        columns: ['a', 'b'],
        rows: [
          [1, 2],
          [3, null],
        ],
      });
    });
  });

  describe('MLflow instances and inputs', () => {
    it('returns 400 naming the depth limit for deep nesting', () => {
      const sut = refusal(() =>
        decodeMlflowRequest({ instances: deep(200_000) }, 'application/json', LIMITS),
      );

      expect(sut.message).toBe('instances nests lists deeper than 16 levels (API_MAX_DEPTH=16)');
    });

    it('returns 400 naming the depth limit for deep JSON text, before parsing', () => {
      const text = `{"inputs": ${'['.repeat(200_000)}NaN${']'.repeat(200_000)}}`;

      const sut = refusal(() => decodeMlflowRequest(text, 'application/json', LIMITS));

      expect(sut.message).toBe(
        'the JSON body nests lists deeper than 16 levels (API_MAX_DEPTH=16)',
      );
    });

    it('returns 400 naming the cap for more values than it allows', () => {
      const sut = refusal(() =>
        decodeMlflowRequest({ inputs: new Array(1001).fill(0) }, 'application/json', LIMITS),
      );

      expect(sut.message).toMatch(/^inputs holds 1001 values, more than the 1000/);
    });

    it('refuses a first row claiming a million rows before allocating them', () => {
      const body = { inputs: [[1, 2, 3, 4], ...Array.from({ length: 999 }, () => [])] };
      const { input } = decodeMlflowRequest(body, 'application/json', LIMITS);

      const sut = refusal(() =>
        bindInputs(input, undefined, [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }]),
      );

      expect(sut.message).toBe(
        'the input is not a regular nested list at [1]: expected a list of 4, got 0',
      );
    });

    it('checks every record of named tensors before allocating their columns', () => {
      const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, 1]));
      const body = { instances: [wide, ...Array.from({ length: 5000 }, () => ({}))] };
      const before = process.memoryUsage().heapUsed;

      const sut = refusal(() => decodeMlflowRequest(body, 'application/json'));

      expect(sut.message).toMatch(/^instances\[1\] has the keys , but instances\[0\] has k0, k1/);
      // 5000 columns of 5001 rows would be 200 MB of pointers.
      expect(process.memoryUsage().heapUsed - before).toBeLessThan(100 * 1024 * 1024);
    });

    it("refuses '__proto__' and 'constructor.prototype' in the lenient parser's JSON", () => {
      for (const text of [
        '{"instances": [NaN], "__proto__": {"x": 1}}',
        '{"instances": [NaN], "\\u005f_proto__": {"x": 1}}',
        '{"instances": [NaN], "constructor": {"prototype": {"x": 1}}}',
      ]) {
        expect(refusal(() => decodeMlflowRequest(text, 'application/json')).message).toMatch(
          /'__proto__' or 'constructor.prototype', which is refused \(prototype poisoning\)/,
        );
      }
    });

    it('takes a key merely named constructor, as JSON allows', () => {
      const sut = decodeMlflowRequest('{"inputs": {"constructor": [NaN]}}', 'application/json');

      expect(sut.input).toEqual({
        kind: 'tensors',
        tensors: [{ name: 'constructor', data: [NaN] }],
      });
    });
  });

  describe('MLflow CSV', () => {
    it('reads a 40,000-digit cell followed by x as text, in one pass', () => {
      const sut = decodeMlflowRequest(`a\n${'1'.repeat(40_000)}x\n`, 'text/csv');

      expect(sut.input).toEqual({
        kind: 'table',
        columns: ['a'],
        rows: [[`${'1'.repeat(40_000)}x`]],
      });
    });

    it('returns 400 naming the cap for more cells than it allows', () => {
      const text = `a,b\n${'1,2\n'.repeat(501)}`;

      expect(refusal(() => decodeMlflowRequest(text, 'text/csv', LIMITS)).message).toBe(
        'the CSV body holds 1002 values, more than the 1000 one request may carry (API_MAX_ELEMENTS)',
      );
    });
  });

  describe('Open Inference', () => {
    it('returns 400 naming the shape and both counts for a claim the data does not back', () => {
      const body = {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1000, 1000, 1000, 1000], data: [1, 2] }],
      };

      expect(refusal(() => decodeInferRequest(body)).message).toBe(
        "input 'x': shape [1000, 1000, 1000, 1000] needs 1000000000000 values, got 2",
      );
    });

    it('counts claims beyond 2^53 exactly', () => {
      const body = {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2 ** 40, 2 ** 40], data: [1] }],
      };

      expect(refusal(() => decodeInferRequest(body)).message).toBe(
        `input 'x': shape [${2 ** 40}, ${2 ** 40}] needs ${2n ** 80n} values, got 1`,
      );
    });

    it('compares nested data with the claim before flattening it', () => {
      const data = [[1, 2, 3, 4], ...Array.from({ length: 99 }, () => [])];
      const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [400], data }] };

      expect(refusal(() => decodeInferRequest(body, LIMITS)).message).toBe(
        "input 'x': data is not a regular nested list at [1]",
      );
    });

    it('returns 400 naming the depth limit for deep data', () => {
      const body = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: deep(200_000) }] };

      expect(refusal(() => decodeInferRequest(body, LIMITS)).message).toBe(
        "input 'x': data nests lists deeper than 16 levels (API_MAX_DEPTH=16)",
      );
    });

    it('returns 400 naming the cap for inputs that together hold more values', () => {
      const input = (name: string) => ({
        name,
        datatype: 'FP32',
        shape: [600],
        data: new Array(600).fill(0),
      });

      expect(
        refusal(() => decodeInferRequest({ inputs: [input('a'), input('b')] }, LIMITS)).message,
      ).toBe(
        'inputs[0..1] holds 1200 values, more than the 1000 one request may carry (API_MAX_ELEMENTS)',
      );
    });
  });
});
