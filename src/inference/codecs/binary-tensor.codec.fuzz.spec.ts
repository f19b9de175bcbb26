import { BinaryTensorBody } from '../../common/http/binary-tensor-body';
import { bindInputs } from '../binding/input-binder';
import { InvalidInputError } from '../inference.error';
import { DecodeLimits } from './decode-limits';
import { decodeBinaryInferRequest } from './open-inference.codec';
import { binaryBody, binaryInput, f32, strings } from './testing/binary-body';
import { Fuzzer, decodeOrRefuse, decodedElements } from './testing/fuzz';

const LIMITS: DecodeLimits = { maxElements: 10_000, maxDepth: 16 };
const MODEL_INPUTS = [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 4] }];
const DATATYPES = ['FP32', 'FP16', 'BF16', 'INT64', 'UINT8', 'BOOL', 'BYTES', 'X'];

/** A valid binary body, then mutated: sizes, shapes, header length, bytes cut or added. */
function binaryCase(fuzz: Fuzzer): BinaryTensorBody {
  const rows = fuzz.int(4) + 1;
  const values = Array.from({ length: rows * 4 }, () => fuzz.int(100) / 8);
  const datatype = fuzz.chance(0.5) ? 'FP32' : fuzz.pick(DATATYPES);
  const tensor =
    datatype === 'BYTES'
      ? strings(values.map(String))
      : f32(values).subarray(0, fuzz.chance(0.8) ? rows * 16 : fuzz.int(rows * 16));
  const size = fuzz.chance(0.7) ? tensor.length : (fuzz.pick([0, -1, 1.5, 2 ** 40, 'x']) as number);
  const shape = fuzz.chance(0.7) ? [rows, 4] : (fuzz.shape() as number[]);
  const body = binaryBody({ inputs: [binaryInput('x', datatype, shape, size)] }, tensor);
  switch (fuzz.int(5)) {
    case 0:
      return new BinaryTensorBody(
        body.bytes.subarray(0, fuzz.int(body.bytes.length + 1)),
        body.headerLength,
      );
    case 1:
      return new BinaryTensorBody(
        Buffer.concat([body.bytes, Buffer.alloc(fuzz.int(9))]),
        body.headerLength,
      );
    case 2:
      return new BinaryTensorBody(body.bytes, String(fuzz.scalar()));
    case 3: {
      const flipped = Buffer.from(body.bytes);
      for (let i = fuzz.int(4); i >= 0; i--) flipped[fuzz.int(flipped.length)] = fuzz.int(256);
      return new BinaryTensorBody(flipped, body.headerLength);
    }
    default:
      return body;
  }
}

describe('decodeBinaryInferRequest, fuzzed', () => {
  it('decodes or refuses with InvalidInputError 2,000 mutated binary bodies, within the caps', () => {
    const fuzz = new Fuzzer(20261202);
    let decoded = 0;
    for (let n = 0; n < 2000; n++) {
      const body = binaryCase(fuzz);

      const sut = decodeOrRefuse(n, () => decodeBinaryInferRequest(body, LIMITS), [
        InvalidInputError,
      ]);

      if (sut === undefined) continue;
      decoded++;
      expect(decodedElements(sut.input)).toBeLessThanOrEqual(Math.max(body.bytes.length, 1));
      decodeOrRefuse(n, () => bindInputs(sut.input, undefined, MODEL_INPUTS), [InvalidInputError]);
    }
    expect(decoded).toBeGreaterThan(100);
  });
});
