import { BinaryTensorBody } from '../../common/http/binary-tensor-body';
import { parseStrictJson } from '../../common/http/safe-json';
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
import {
  BinaryDataType,
  BinaryTensorReader,
  encodeBinaryTensor,
  splitBinaryBody,
} from './binary-tensor.codec';
import { classify } from './classification';
import {
  RequestedOutput,
  decodeRequestParameters,
  decodeRequestedOutputs,
} from './requested-outputs';

/**
 * The Open Inference Protocol v2 over REST (KServe `docs/predict-api/v2/
 * required_api.md`): infer requests and responses, model metadata, in JSON
 * and in the binary tensor data extension (binary-tensor.codec.ts). Only the
 * envelope is checked here; values meet the model's signature in the binder.
 */

export interface InferRequest {
  id?: string;
  /** Request-level `parameters` for the model, the extensions' own keys taken out. */
  parameters?: Record<string, unknown>;
  /** Always `tensors`, each with name, shape, datatype and flat row-major data (a typed array from the binary form). */
  input: InferenceInput;
  /** Names from `outputs`; undefined means every output. */
  requestedOutputs?: string[];
  /** `outputs` with what each asks of the binary and classification extensions. */
  outputs?: RequestedOutput[];
  /** `parameters.binary_data_output`: every output not saying otherwise in binary. */
  binaryOutput: boolean;
}

export interface InferResponseTensor {
  name: string;
  shape: number[];
  datatype: DataType;
  /** Absent for an output in binary, whose bytes follow the header. */
  data?: (number | string | boolean)[];
  /** `binary_data_size` of an output in binary. */
  parameters?: { binary_data_size: number };
}

export interface InferResponse {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: InferResponseTensor[];
}

/** A response as sent: JSON alone, or a JSON header and the binary outputs' bytes in order. */
export interface InferAnswer {
  body: InferResponse;
  /** Empty when no output is in binary: the body is then the whole answer. */
  binary: Buffer[];
}

/** What the caller asked of the outputs, for encoding the answer. */
export type AnswerOptions = Pick<InferRequest, 'id' | 'outputs' | 'binaryOutput'>;

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

const DATATYPES: ReadonlySet<string> = new Set(DATA_TYPES);
const BINARY_DATATYPES: ReadonlySet<string> = new Set([...DATA_TYPES, 'BF16']);

/**
 * Decodes and checks an infer request body: `inputs` a non-empty list, each
 * with a unique string name, a shape of whole numbers ≥ 0, a known datatype and
 * data — flat, or nested (flattened here, row-major) — holding exactly
 * product(shape) values; or, with `reader` (the binary form), an input may
 * instead declare `parameters.binary_data_size` and take its values from it.
 *
 * Linear in the body: a shape is compared with the data before anything is
 * allocated for it (exactly, however large the claim), nesting is walked
 * without recursion, and all inputs together hold at most `limits.maxElements`.
 * @throws InvalidInputError naming the input and the field.
 */
export function decodeInferRequest(
  body: unknown,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
  reader?: BinaryTensorReader,
): InferRequest {
  if (!isRecord(body)) {
    throw new InvalidInputError(`the request body must be a JSON object, got ${describe(body)}`);
  }
  const { parameters, binaryOutput } = decodeRequestParameters(body.parameters);
  const request: InferRequest = {
    input: { kind: 'tensors', tensors: decodeInputs(body.inputs, limits, reader) },
    binaryOutput,
  };
  if (body.id !== undefined && body.id !== null) {
    if (typeof body.id !== 'string') {
      throw new InvalidInputError(`id must be a string, got ${describe(body.id)}`, 'id');
    }
    request.id = body.id;
  }
  if (parameters) request.parameters = parameters;
  if (body.outputs !== undefined && body.outputs !== null) {
    request.outputs = decodeRequestedOutputs(body.outputs);
    request.requestedOutputs = request.outputs.map((o) => o.name);
  }
  return request;
}

/**
 * Decodes a body in the binary tensor data extension: the JSON header (with
 * the same depth bound and prototype-poisoning refusal as any JSON body), then
 * each binary input's bytes in input order; no byte may be left over.
 * @throws InvalidInputError naming what is wrong with the framing or the request.
 */
export function decodeBinaryInferRequest(
  body: BinaryTensorBody,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): InferRequest {
  const { header, tensors } = splitBinaryBody(body.bytes, body.headerLength);
  const parsed = parseStrictJson(header, limits.maxDepth);
  if (parsed.kind === 'refused') throw new InvalidInputError(parsed.refused.reason);
  if (parsed.kind === 'malformed') {
    throw new InvalidInputError(`the JSON header is not valid JSON: ${parsed.reason}`);
  }
  const reader = new BinaryTensorReader(tensors);
  const request = decodeInferRequest(parsed.value, limits, reader);
  reader.finish();
  return request;
}

/**
 * The response body: the result's outputs (the inference service has chosen
 * the ones asked for, in the order asked); `id` echoed when the request had one.
 *
 * Data is plain JSON numbers: INT64/UINT64 values above 2^53 lose precision in
 * `Number()` (JSON parsers read numbers as doubles anyway; the binary form
 * keeps them exact), and NaN or Infinity, which JSON cannot hold, become null
 * when serialized.
 */
export function encodeInferResponse(
  result: InferenceResult,
  options: Partial<AnswerOptions> = {},
): InferResponse {
  return encodeInferAnswer(result, {
    ...options,
    binaryOutput: false,
    outputs: jsonOnly(options.outputs),
  }).body;
}

/**
 * The answer in the form asked: an output is in binary when its
 * `parameters.binary_data` says so, or, saying nothing, when the request's
 * `binary_data_output` does; its header entry then carries `binary_data_size`
 * and no data. Outputs asked for with `classification` are their top classes.
 */
export function encodeInferAnswer(result: InferenceResult, options: AnswerOptions): InferAnswer {
  const asked = new Map((options.outputs ?? []).map((o) => [o.name, o]));
  const binary: Buffer[] = [];
  const outputs = result.outputs.map((tensor) => {
    const wanted = asked.get(tensor.name);
    const answer = wanted?.classification ? classify(tensor, wanted.classification) : tensor;
    if (!(wanted?.binary ?? options.binaryOutput)) return encodeTensor(answer);
    const bytes = encodeBinaryTensor(answer);
    binary.push(bytes);
    return {
      name: answer.name,
      shape: [...answer.shape],
      datatype: answer.datatype,
      parameters: { binary_data_size: bytes.length },
    };
  });
  const body: InferResponse = {
    model_name: result.modelName,
    model_version: result.modelVersion,
    outputs,
  };
  if (options.id !== undefined) body.id = options.id;
  return { body, binary };
}

/**
 * The JSON text of the answer when no output is asked in binary: exactly
 * `JSON.stringify(encodeInferAnswer(result, options).body)`, written straight
 * from the output buffers (no array of every value on the way).
 * @returns undefined when an output is asked in binary (see encodeInferAnswer).
 */
export function writeInferResponse(
  result: InferenceResult,
  options: AnswerOptions,
): string | undefined {
  const asked = options.outputs?.length
    ? new Map(options.outputs.map((o) => [o.name, o]))
    : undefined;
  let outputs = '';
  for (let i = 0; i < result.outputs.length; i++) {
    const tensor = result.outputs[i];
    const wanted = asked?.get(tensor.name);
    if (wanted?.binary ?? options.binaryOutput) return undefined;
    const answer = wanted?.classification ? classify(tensor, wanted.classification) : tensor;
    outputs +=
      `${i === 0 ? '' : ','}{"name":${JSON.stringify(answer.name)},` +
      `"shape":[${answer.shape.join(',')}],"datatype":${JSON.stringify(answer.datatype)},` +
      `"data":${jsonDataText(answer)}}`;
  }
  const id = options.id === undefined ? '' : `,"id":${JSON.stringify(options.id)}`;
  return (
    `{"model_name":${JSON.stringify(result.modelName)},` +
    `"model_version":${JSON.stringify(result.modelVersion)},"outputs":[${outputs}]${id}}`
  );
}

/** `JSON.stringify(jsonData(tensor))`, without the array. */
function jsonDataText(tensor: Tensor): string {
  const { data, datatype } = tensor;
  const n = data.length;
  if (n === 0) return '[]';
  let text = '[';
  if (datatype === 'BOOL') {
    for (let i = 0; i < n; i++) text += `${i === 0 ? '' : ','}${data[i] ? 'true' : 'false'}`;
  } else if (datatype === 'FP16' && data instanceof Uint16Array) {
    for (let i = 0; i < n; i++)
      text += `${i === 0 ? '' : ','}${numberText(fromFloat16Bits(data[i]))}`;
  } else if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) text += `${i === 0 ? '' : ','}${String(Number(data[i]))}`;
  } else if (ArrayBuffer.isView(data)) {
    const numbers = data as ArrayLike<number>;
    for (let i = 0; i < n; i++) text += `${i === 0 ? '' : ','}${numberText(numbers[i])}`;
  } else {
    // string[] (BYTES) or plain values: as JSON.stringify writes an array's items.
    const items = data as ArrayLike<unknown>;
    for (let i = 0; i < n; i++)
      text += `${i === 0 ? '' : ','}${JSON.stringify(items[i]) ?? 'null'}`;
  }
  return `${text}]`;
}

/** A number as JSON.stringify writes it: null for NaN and ±Infinity. */
function numberText(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

function jsonOnly(outputs: RequestedOutput[] | undefined): RequestedOutput[] | undefined {
  return outputs?.map(({ binary: _binary, ...rest }) => rest);
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

function decodeInputs(
  raw: unknown,
  limits: DecodeLimits,
  reader: BinaryTensorReader | undefined,
): RequestTensor[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new InvalidInputError(`inputs must be a non-empty list, got ${describe(raw)}`, 'inputs');
  }
  const seen = new Set<string>();
  let elements = 0;
  return raw.map((item: unknown, i) => {
    const tensor = decodeInput(item, i, limits, reader);
    if (seen.has(tensor.name as string)) {
      throw new InvalidInputError(`input '${tensor.name}' appears twice`, tensor.name);
    }
    seen.add(tensor.name as string);
    elements += (tensor.data as ArrayLike<unknown>).length;
    checkElementCount(elements, i === 0 ? 'inputs[0]' : `inputs[0..${i}]`, limits, tensor.name);
    return tensor;
  });
}

function decodeInput(
  raw: unknown,
  i: number,
  limits: DecodeLimits,
  reader: BinaryTensorReader | undefined,
): RequestTensor {
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
  const dims = shape as number[];
  const size = binaryDataSize(raw.parameters, label, name);
  if (size !== undefined) {
    if (!reader) {
      throw new InvalidInputError(
        `${label} declares binary_data_size, but the request is not in the binary form (no Inference-Header-Content-Length header)`,
        name,
      );
    }
    if (data !== undefined) {
      throw new InvalidInputError(`${label} has both data and binary_data_size`, name);
    }
    if (typeof datatype !== 'string' || !BINARY_DATATYPES.has(datatype)) {
      throw new InvalidInputError(
        `${label}: datatype must be one of ${[...BINARY_DATATYPES].join(', ')}, got ${JSON.stringify(datatype) ?? 'nothing'}`,
        name,
      );
    }
    checkElementCount(claimedCount(dims), label, limits, name);
    const values = reader.read({
      label,
      name,
      datatype: datatype as BinaryDataType,
      shape: dims,
      size,
    });
    // bfloat16 arrives decoded to float32, which the binder reads as FP32.
    return {
      name,
      shape: dims,
      datatype: datatype === 'BF16' ? 'FP32' : (datatype as DataType),
      data: values,
    };
  }
  if (typeof datatype !== 'string' || !DATATYPES.has(datatype)) {
    throw new InvalidInputError(
      `${label}: datatype must be one of ${DATA_TYPES.join(', ')}, got ${JSON.stringify(datatype) ?? 'nothing'}${datatype === 'BF16' ? ' (BF16 only in the binary form)' : ''}`,
      name,
    );
  }
  if (data === undefined) throw new InvalidInputError(`${label} has no data`, name);
  return {
    name,
    shape: dims,
    datatype: datatype as DataType,
    data: flatData(data, dims, label, name, limits),
  };
}

/** `parameters.binary_data_size`, unchecked (the reader checks it); undefined when absent. */
function binaryDataSize(parameters: unknown, label: string, name: string): unknown {
  if (parameters === undefined || parameters === null) return undefined;
  if (!isRecord(parameters)) {
    throw new InvalidInputError(
      `${label}: parameters must be an object, got ${describe(parameters)}`,
      name,
    );
  }
  return parameters.binary_data_size ?? undefined;
}

/**
 * Flat data as given (a list, or a typed array from the gRPC adapter); nested
 * data flattened row-major; a lone value as a list of one. The nesting is checked and its count compared with the shape's
 * claim before the flat list is allocated.
 */
function flatData(
  data: unknown,
  shape: number[],
  label: string,
  name: string,
  limits: DecodeLimits,
): ArrayLike<unknown> {
  const claimed = claimedCount(shape);
  const mismatch = (got: number | bigint): InvalidInputError =>
    new InvalidInputError(
      `${label}: shape [${shape.join(', ')}] needs ${claimed} values, got ${got}`,
      name,
    );
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    // Numbers the gRPC adapter read from raw bytes, already flat and typed.
    const length = (data as unknown as ArrayLike<unknown>).length;
    if (claimed !== BigInt(length)) throw mismatch(length);
    return data as unknown as ArrayLike<unknown>;
  }
  if (!Array.isArray(data)) {
    if (claimed !== 1n) throw mismatch(1);
    return [data];
  }
  if (!data.some(Array.isArray)) {
    if (claimed !== BigInt(data.length)) throw mismatch(data.length);
    return data as unknown[];
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
