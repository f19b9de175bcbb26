import { ModelSignature } from '../../models/model-signature.types';
import { bindInputs } from '../binding/input-binder';
import { InvalidInputError, UnsupportedMediaTypeError } from '../inference.error';
import { DecodeLimits } from './decode-limits';
import { decodeMlflowRequest } from './mlflow-scoring.codec';
import { Fuzzer, countLeaves, decodeOrRefuse, decodedElements, deep } from './testing/fuzz';

const LIMITS: DecodeLimits = { maxElements: 10_000, maxDepth: 16 };
const REFUSALS = [InvalidInputError, UnsupportedMediaTypeError];
const MODEL_INPUTS = [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }];
const COLUMNS: ModelSignature = {
  inputs: ['a', 'b', 'c', 'd'].map((name) => ({
    kind: 'column' as const,
    name,
    type: 'double' as const,
    required: true,
  })),
  outputs: [],
  params: [],
};
const TENSOR: ModelSignature = {
  inputs: [{ kind: 'tensor', dtype: 'float32', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [],
  params: [],
};
const TOKENS = [
  '[',
  ']',
  '{',
  '}',
  ',',
  ':',
  '"a"',
  '"__proto__"',
  '"\\u005f_proto__"',
  'NaN',
  '-Infinity',
  '1',
  '1e999',
  'null',
  '"x"',
  ' ',
  '"inputs"',
  '"dataframe_records"',
];

/** A body as parsed JSON: random, a mutated valid one of each format, or a known attack. */
function parsedCase(fuzz: Fuzzer): unknown {
  switch (fuzz.int(7)) {
    case 0:
      return fuzz.value();
    case 1:
      return {
        dataframe_split: {
          columns: fuzz.chance(0.7) ? ['a', 'b', 'c', 'd'] : fuzz.value(2),
          data: fuzz.chance(0.7) ? [[1, 2, 3, fuzz.scalar()]] : fuzz.value(3),
        },
      };
    case 2:
      // Records that each bring their own keys: a wide table from a small body.
      return {
        dataframe_records: Array.from({ length: fuzz.int(400) }, (_, i) => ({
          [fuzz.chance(0.5) ? `k${i}` : 'a']: fuzz.scalar(),
        })),
      };
    case 3:
      return { [fuzz.pick(['instances', 'inputs'])]: fuzz.tensor().data };
    case 4:
      return { inputs: deep(fuzz.int(100_000), fuzz.scalar()) };
    case 5:
      return {
        instances: [[1, 2, 3, 4], ...Array.from({ length: fuzz.int(100) }, () => [])],
      };
    default:
      return {
        inputs: Object.fromEntries(
          Array.from({ length: fuzz.int(4) }, () => [fuzz.key(), fuzz.value(3)]),
        ),
      };
  }
}

/** JSON-ish text: token soup, now and then deep. */
function textCase(fuzz: Fuzzer): string {
  if (fuzz.chance(0.1)) return `{"instances": ${'['.repeat(fuzz.int(50_000))}NaN`;
  return Array.from({ length: fuzz.int(40) }, () => fuzz.pick(TOKENS)).join('');
}

function expectBounded(n: number, input: Parameters<typeof decodedElements>[0], bound: number) {
  const elements = decodedElements(input);
  expect(elements).toBeLessThanOrEqual(LIMITS.maxElements);
  if (bound >= 0) expect(elements).toBeLessThanOrEqual(bound);
  for (const signature of [COLUMNS, TENSOR, undefined]) {
    decodeOrRefuse(n, () => bindInputs(input, signature, MODEL_INPUTS), REFUSALS);
  }
}

describe('decodeMlflowRequest, fuzzed', () => {
  it('decodes or refuses 2,000 random and adversarial parsed bodies, within the caps', () => {
    const fuzz = new Fuzzer(11);
    let decoded = 0;
    for (let n = 0; n < 2000; n++) {
      const body = parsedCase(fuzz);

      const sut = decodeOrRefuse(
        n,
        () => decodeMlflowRequest(body, 'application/json', LIMITS),
        REFUSALS,
      );

      if (sut === undefined) continue;
      decoded++;
      // Records make rows × keys cells of a small body: bounded by the cap, not the body.
      const records = (body as { dataframe_records?: unknown }).dataframe_records !== undefined;
      expectBounded(n, sut.input, records ? -1 : countLeaves(body));
    }
    expect(decoded).toBeGreaterThan(100);
  });

  it('decodes or refuses 2,000 JSON-ish texts (the lenient parser: NaN, escapes, depth)', () => {
    const fuzz = new Fuzzer(12);
    for (let n = 0; n < 2000; n++) {
      const text = textCase(fuzz);

      const sut = decodeOrRefuse(
        n,
        () => decodeMlflowRequest(text, 'application/json', LIMITS),
        REFUSALS,
      );

      if (sut !== undefined) expectBounded(n, sut.input, text.length);
    }
  });

  it('never lets a prototype key through the lenient parser', () => {
    const fuzz = new Fuzzer(13);
    for (let n = 0; n < 500; n++) {
      const key = fuzz.pick([
        '"__proto__"',
        '"\\u005f\\u005fproto\\u005f\\u005f"',
        '"constructor"',
      ]);
      const inner = key.includes('constructor') ? '{"prototype": {"x": 1}}' : '{"x": 1}';
      const text = `{"instances": [[1, 2, 3, NaN]], ${key}: ${inner}}`;

      expect(() => decodeMlflowRequest(text, 'application/json', LIMITS)).toThrow(
        /prototype poisoning/,
      );
    }
  });
});
