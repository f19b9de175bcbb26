import { describeJsonKind as describe, isRecord } from '../../common/values';
import { fromFloat16Bits } from '../binding/float16';
import {
  ArraySink,
  checkNested,
  claimedCount,
  elementCount,
  flattenNested,
  formatPath,
  nestedShape,
} from '../binding/nested-array';
import { InvalidInputError } from '../inference.error';
import { DATA_TYPES, DataType, Tensor, TensorSpec } from '../../models/tensor.types';
import { InferenceInput, InferenceResult, RequestTensor } from '../inference.types';
import {
  DEFAULT_DECODE_LIMITS,
  DecodeLimits,
  checkElementCount,
  tooDeepError,
} from './decode-limits';

/**
 * The Open Inference Protocol v2 over REST (KServe `docs/predict-api/v2/
 * required_api.md`): infer requests and responses, model metadata. Only the
 * envelope is checked here; values meet the model's signature in the binder.
 */

export interface InferRequest {
  id?: string;
  parameters?: Record<string, unknown>;
  /** Always `tensors`, each with name, shape, datatype and flat row-major data. */
  input: InferenceInput;
  /** Names from `outputs`; undefined means every output. */
  requestedOutputs?: string[];
}

export interface InferResponseTensor {
  name: string;
  shape: number[];
  datatype: DataType;
  data: (number | string | boolean)[];
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: InferResponseTensor[];
}

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

const DATATYPES: ReadonlySet<string> = new Set(DATA_TYPES);

/**
 * Decodes and checks an infer request body: `inputs` a non-empty list, each
 * with a unique string name, a shape of whole numbers ≥ 0, a known datatype and
 * data — flat, or nested (flattened here, row-major) — holding exactly
 * product(shape) values.
 *
 * Linear in the body: a shape is compared with the data before anything is
 * allocated for it (exactly, however large the claim), nesting is walked
 * without recursion, and all inputs together hold at most `limits.maxElements`.
 * @throws InvalidInputError naming the input and the field.
 */
export function decodeInferRequest(
  body: unknown,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): InferRequest {
  if (!isRecord(body)) {
    throw new InvalidInputError(`the request body must be a JSON object, got ${describe(body)}`);
  }
  const request: InferRequest = {
    input: { kind: 'tensors', tensors: decodeInputs(body.inputs, limits) },
  };
  if (body.id !== undefined && body.id !== null) {
    if (typeof body.id !== 'string') {
      throw new InvalidInputError(`id must be a string, got ${describe(body.id)}`, 'id');
    }
    request.id = body.id;
  }
  if (body.parameters !== undefined && body.parameters !== null) {
    if (!isRecord(body.parameters)) {
      throw new InvalidInputError(
        `parameters must be an object, got ${describe(body.parameters)}`,
        'parameters',
      );
    }
    request.parameters = body.parameters;
  }
  if (body.outputs !== undefined && body.outputs !== null) {
    request.requestedOutputs = decodeRequestedOutputs(body.outputs);
  }
  return request;
}

/**
 * The response body: the result's outputs (the inference service has chosen
 * the ones asked for, in the order asked); `id` echoed when the request had one.
 *
 * Data is plain JSON numbers: INT64/UINT64 values above 2^53 lose precision in
 * `Number()` (JSON parsers read numbers as doubles anyway), and NaN or
 * Infinity, which JSON cannot hold, become null when serialized.
 */
export function encodeInferResponse(
  result: InferenceResult,
  options: { id?: string } = {},
): InferResponse {
  const response: InferResponse = {
    model_name: result.modelName,
    model_version: result.modelVersion,
    outputs: result.outputs.map(encodeTensor),
  };
  if (options.id !== undefined) response.id = options.id;
  return response;
}

/** `GET /v2/models/{name}[/versions/{v}]`: -1 marks a variable dimension. */
export function modelMetadata(
  name: string,
  versions: string[],
  platform: string,
  inputs: TensorSpec[],
  outputs: TensorSpec[],
): ModelMetadata {
  const spec = (t: TensorSpec): TensorSpec => ({
    name: t.name,
    datatype: t.datatype,
    shape: [...t.shape],
  });
  return {
    name,
    versions: [...versions],
    platform,
    inputs: inputs.map(spec),
    outputs: outputs.map(spec),
  };
}

function decodeInputs(raw: unknown, limits: DecodeLimits): RequestTensor[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new InvalidInputError(`inputs must be a non-empty list, got ${describe(raw)}`, 'inputs');
  }
  const seen = new Set<string>();
  let elements = 0;
  return raw.map((item: unknown, i) => {
    const tensor = decodeInput(item, i, limits);
    if (seen.has(tensor.name as string)) {
      throw new InvalidInputError(`input '${tensor.name}' appears twice`, tensor.name);
    }
    seen.add(tensor.name as string);
    elements += (tensor.data as unknown[]).length;
    checkElementCount(elements, i === 0 ? 'inputs[0]' : `inputs[0..${i}]`, limits, tensor.name);
    return tensor;
  });
}

function decodeInput(raw: unknown, i: number, limits: DecodeLimits): RequestTensor {
  const at = `inputs[${i}]`;
  if (!isRecord(raw)) {
    throw new InvalidInputError(`${at} must be an object, got ${describe(raw)}`, at);
  }
  const { name, shape, datatype, data } = raw;
  if (typeof name !== 'string' || name === '') {
    throw new InvalidInputError(`${at}.name must be a non-empty string`, `${at}.name`);
  }
  const label = `input '${name}'`;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= 0)) {
    throw new InvalidInputError(
      `${label}: shape must be a list of whole numbers ≥ 0, got ${JSON.stringify(shape) ?? 'nothing'}`,
      name,
    );
  }
  if (typeof datatype !== 'string' || !DATATYPES.has(datatype)) {
    throw new InvalidInputError(
      `${label}: datatype must be one of ${DATA_TYPES.join(', ')}, got ${JSON.stringify(datatype) ?? 'nothing'}`,
      name,
    );
  }
  if (data === undefined) throw new InvalidInputError(`${label} has no data`, name);
  const dims = shape as number[];
  return {
    name,
    shape: dims,
    datatype: datatype as DataType,
    data: flatData(data, dims, label, name, limits),
  };
}

/**
 * Flat data as given; nested data flattened row-major; a lone value as a list
 * of one. The nesting is checked and its count compared with the shape's
 * claim before the flat list is allocated.
 */
function flatData(
  data: unknown,
  shape: number[],
  label: string,
  name: string,
  limits: DecodeLimits,
): unknown[] {
  const claimed = claimedCount(shape);
  const mismatch = (got: number | bigint): InvalidInputError =>
    new InvalidInputError(
      `${label}: shape [${shape.join(', ')}] needs ${claimed} values, got ${got}`,
      name,
    );
  if (!Array.isArray(data)) {
    if (claimed !== 1n) throw mismatch(1);
    return [data];
  }
  if (!data.some(Array.isArray)) {
    if (claimed !== BigInt(data.length)) throw mismatch(data.length);
    return data;
  }
  const nested = nestedShape(data);
  if (nested.length > limits.maxDepth) throw tooDeepError(`${label}: data`, limits, name);
  const failure = checkNested(data, nested);
  if (failure) {
    const where = failure.kind === 'ragged' ? formatPath(failure.path) : '';
    throw new InvalidInputError(
      `${label}: data is not a regular nested list${where ? ` at ${where}` : ''}`,
      name,
    );
  }
  const count = claimedCount(nested);
  if (count !== claimed) throw mismatch(count);
  const sink = new ArraySink(elementCount(nested));
  flattenNested(data, nested, sink);
  return sink.values;
}

function decodeRequestedOutputs(raw: unknown): string[] {
  if (!Array.isArray(raw)) {
    throw new InvalidInputError(`outputs must be a list, got ${describe(raw)}`, 'outputs');
  }
  return raw.map((item: unknown, i) => {
    if (!isRecord(item) || typeof item.name !== 'string' || item.name === '') {
      throw new InvalidInputError(
        `outputs[${i}] must be an object with a name`,
        `outputs[${i}].name`,
      );
    }
    return item.name;
  });
}

function encodeTensor(tensor: Tensor): InferResponseTensor {
  return {
    name: tensor.name,
    shape: [...tensor.shape],
    datatype: tensor.datatype,
    data: jsonData(tensor),
  };
}

function jsonData(tensor: Tensor): (number | string | boolean)[] {
  const { data, datatype } = tensor;
  if (datatype === 'BOOL') return Array.from(data as ArrayLike<unknown>, (v) => Boolean(v));
  if (datatype === 'FP16' && data instanceof Uint16Array) return Array.from(data, fromFloat16Bits);
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return Array.from(data, (v) => Number(v));
  }
  return Array.from(data as ArrayLike<number | string>);
}
