import { bindInputs } from '../binding/input-binder';
import { InvalidInputError } from '../inference.error';
import { DecodeLimits } from './decode-limits';
import { decodeInferRequest } from './open-inference.codec';
import { Fuzzer, countLeaves, decodeOrRefuse, decodedElements, deep } from './testing/fuzz';

const LIMITS: DecodeLimits = { maxElements: 10_000, maxDepth: 16 };
const MODEL_INPUTS = [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }];
const DATATYPES = ['FP32', 'FP64', 'INT64', 'INT8', 'BOOL', 'BYTES', 'FP16', 'X', 7];

/** An infer request: random, a mutated valid one, or one of the known attacks. */
function inferCase(fuzz: Fuzzer): unknown {
  switch (fuzz.int(6)) {
    case 0:
      return fuzz.value();
    case 1: {
      const tensor = fuzz.tensor();
      return {
        inputs: [
          {
            name: fuzz.pick(['x', 'y', '', '__proto__']),
            datatype: fuzz.pick(DATATYPES),
            shape: fuzz.chance(0.6) ? tensor.shape : fuzz.shape(),
            data: fuzz.chance(0.5) ? tensor.data : [tensor.data].flat(8),
          },
        ],
        ...(fuzz.chance(0.2) ? { outputs: fuzz.value(2) } : {}),
      };
    }
    case 2:
      return {
        inputs: [{ name: 'x', datatype: 'FP32', shape: fuzz.shape(), data: fuzz.value(3) }],
      };
    case 3:
      return {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: deep(fuzz.int(100_000)) }],
      };
    case 4: {
      // A first element claiming far more than the rest holds.
      const claim = [deep(3, 1) as unknown[], ...Array.from({ length: fuzz.int(50) }, () => [])];
      return { inputs: [{ name: 'x', datatype: 'FP32', shape: [4], data: claim }] };
    }
    default:
      return {
        inputs: Array.from({ length: fuzz.int(4) }, () => ({
          name: fuzz.key(),
          datatype: 'FP32',
          shape: [2, 2],
          data: [1, 2, 3, fuzz.scalar()],
        })),
      };
  }
}

describe('decodeInferRequest, fuzzed', () => {
  it('decodes or refuses with InvalidInputError 2,000 random and adversarial bodies, within the caps', () => {
    const fuzz = new Fuzzer(20261201);
    let decoded = 0;
    for (let n = 0; n < 2000; n++) {
      const body = inferCase(fuzz);

      const sut = decodeOrRefuse(n, () => decodeInferRequest(body, LIMITS), [InvalidInputError]);

      if (sut === undefined) continue;
      decoded++;
      const elements = decodedElements(sut.input);
      expect(elements).toBeLessThanOrEqual(countLeaves(body));
      expect(elements).toBeLessThanOrEqual(LIMITS.maxElements);
      decodeOrRefuse(n, () => bindInputs(sut.input, undefined, MODEL_INPUTS), [InvalidInputError]);
    }
    // The generator must reach the decoder's success path too, or the spec proves little.
    expect(decoded).toBeGreaterThan(100);
  });
});
