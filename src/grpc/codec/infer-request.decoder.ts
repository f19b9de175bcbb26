import { InferRequest, decodeInferRequest } from '../../inference/codecs/open-inference.codec';
import { DecodeLimits, checkElementCount } from '../../inference/codecs/decode-limits';
import { claimedCount } from '../../inference/binding/nested-array';
import { InvalidInputError } from '../../inference/inference.error';
import { DATA_TYPES, DataType } from '../../models/tensor.types';
import { InferInputTensorMessage, ModelInferRequestMessage } from '../open-inference.messages';
import { readParameters } from './infer-parameters';
import { readRawTensor } from './raw-tensor.codec';
import { hasContents, readContents } from './tensor-contents.codec';

export interface DecodedInferCall {
  request: InferRequest;
  /** The request sent raw_input_contents: answer with raw_output_contents. */
  raw: boolean;
}

const DATATYPES: ReadonlySet<string> = new Set(DATA_TYPES);

/**
 * A ModelInferRequest as the REST codec's InferRequest: each input's values
 * read from its typed contents or its raw byte string, then handed to
 * `decodeInferRequest` as the JSON body would be, so both protocols pass the
 * same envelope checks and limits (names, shapes, datatypes, counts, the
 * element cap). Raw byte lengths are compared with the shapes, and the
 * shapes with the element cap, before any value is read.
 * @throws InvalidInputError naming the input.
 */
export function decodeModelInferRequest(
  message: ModelInferRequestMessage,
  limits: DecodeLimits,
): DecodedInferCall {
  const raw = message.raw_input_contents ?? [];
  const inputs = message.inputs ?? [];
  if (raw.length > 0 && raw.length !== inputs.length) {
    throw new InvalidInputError(
      `raw_input_contents holds ${raw.length} byte strings for ${inputs.length} inputs: send one per input, in input order`,
      'raw_input_contents',
    );
  }
  let claimed = 0n;
  const body = {
    id: message.id === '' ? undefined : message.id,
    parameters: readParameters(message.parameters),
    inputs: inputs.map((input, i) => {
      const shape = shapeOf(input);
      if (raw.length > 0 && shape !== undefined && DATATYPES.has(input.datatype) && input.name) {
        claimed += claimedCount(shape);
        checkElementCount(claimed, `inputs[0..${i}]`, limits, input.name);
      }
      return {
        name: input.name,
        shape: shape ?? (input.shape ?? []).map(Number),
        datatype: input.datatype,
        data: valuesOf(input, shape, raw.length > 0 ? raw[i] : undefined, i),
      };
    }),
    outputs:
      message.outputs?.length > 0 ? message.outputs.map((o) => ({ name: o.name })) : undefined,
  };
  return { request: decodeInferRequest(body, limits), raw: raw.length > 0 };
}

/**
 * The shape as numbers; undefined (which decodeInferRequest names) when a
 * dimension is not a whole number ≥ 0 that a double holds exactly.
 */
function shapeOf(input: InferInputTensorMessage): number[] | undefined {
  const dims = (input.shape ?? []).map(Number);
  return dims.every((d) => Number.isSafeInteger(d) && d >= 0) ? dims : undefined;
}

/**
 * An input whose name, shape or datatype is wrong gets no values: the
 * envelope check then names what is wrong, as it does for a JSON body.
 */
function valuesOf(
  input: InferInputTensorMessage,
  shape: number[] | undefined,
  raw: Buffer | undefined,
  index: number,
): ArrayLike<unknown> {
  if (!input.name || shape === undefined || !DATATYPES.has(input.datatype)) return [];
  const datatype = input.datatype as DataType;
  if (raw === undefined) return readContents(input.contents, datatype, input.name);
  if (hasContents(input.contents)) {
    throw new InvalidInputError(
      `input '${input.name}' has both contents and raw_input_contents[${index}]: send one`,
      input.name,
    );
  }
  // The element cap has bounded the claim: it is a safe number here.
  return readRawTensor(raw, datatype, Number(claimedCount(shape)), {
    name: input.name,
    index,
  });
}
