import { describeJsonKind as describe, isRecord } from '../../common/values';
import { ModelSignature } from '../../models/model-signature.types';
import { InvalidInputError } from '../inference.error';

/** One inference param a model declares (MLflow's ParamSpec). */
export type ParamSpec = ModelSignature['params'][number];

/** Params checked against a model's params schema. */
export interface BoundParams {
  /** Every declared param, given or defaulted; undefined when the model declares none. */
  params?: Readonly<Record<string, unknown>>;
  /** Params given to a model that declares none: ignored, as MLflow ignores them. */
  ignored: string[];
}

/**
 * Open Inference request `parameters` that are the protocol's own, never the
 * model's: Triton's binary data, sequence, priority and timeout keys, KServe's
 * `content_type` and `headers`, the classification extension's key.
 */
const PROTOCOL_PARAMETERS: ReadonlySet<string> = new Set([
  'binary_data_output',
  'classification',
  'content_type',
  'headers',
  'sequence_id',
  'sequence_start',
  'sequence_end',
  'priority',
  'timeout',
]);

/** An Open Inference request's `parameters` for the model: the protocol's own keys taken out. */
export function modelParameters(
  parameters: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> | undefined {
  if (!parameters) return undefined;
  const entries = Object.entries(parameters).filter(([key]) => !PROTOCOL_PARAMETERS.has(key));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

/**
 * Checks inference params (MLflow `params`, Open Inference `parameters`)
 * against the params schema of the model's signature, as MLflow's
 * `_enforce_params_schema` does (mlflow/models/utils.py): each declared param
 * given is checked for its type and shape, each one not given takes its
 * default; a model that declares none ignores what it is given. Unlike
 * MLflow, which ignores undeclared params with a warning, a param the model
 * does not declare is refused: a misspelt param must not silently answer
 * with the default.
 * @throws InvalidInputError naming the param, and the type it must have.
 */
export function bindParams(
  given: Readonly<Record<string, unknown>> | undefined,
  specs: readonly ParamSpec[] | undefined,
): BoundParams {
  const names = Object.keys(given ?? {});
  if (!specs?.length) return { ignored: names };
  const unknown = names.find((name) => !specs.some((spec) => spec.name === name));
  if (unknown !== undefined) {
    throw new InvalidInputError(
      `unknown param '${unknown}'; the model takes ${specs.map((s) => `'${s.name}'`).join(', ')}`,
      `params.${unknown}`,
    );
  }
  const params: Record<string, unknown> = {};
  for (const spec of specs) {
    params[spec.name] =
      given && Object.hasOwn(given, spec.name) ? checkParam(given[spec.name], spec) : spec.default;
  }
  return { params, ignored: [] };
}

/** The value as given when it fits the spec (MLflow's ParamSpec.validate_type_and_shape). */
function checkParam(value: unknown, spec: ParamSpec): unknown {
  if (spec.shape === undefined || spec.shape === null) {
    if (!fitsType(value, spec.type)) throw wrongParam(spec, value);
    return value;
  }
  // MLflow takes only scalars and 1-D lists (shape [-1]).
  if (!Array.isArray(value) || !value.every((item) => fitsType(item, spec.type))) {
    throw wrongParam(spec, value);
  }
  return value;
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/**
 * MLflow's `_enforce_param_datatype` on JSON values: null passes as null;
 * integer widens to long, float and double; anything else must be the type.
 */
function fitsType(value: unknown, type: string): boolean {
  if (value === null) return type !== 'object';
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return (
        Number.isInteger(value) && (value as number) >= INT32_MIN && (value as number) <= INT32_MAX
      );
    case 'long':
      return Number.isSafeInteger(value);
    case 'float':
    case 'double':
      return typeof value === 'number';
    case 'string':
      return typeof value === 'string';
    case 'datetime':
      return typeof value === 'string' && !Number.isNaN(Date.parse(value));
    case 'object':
      return isRecord(value);
    default:
      // binary, or a type this server does not know: MLflow refuses binary params.
      return false;
  }
}

function wrongParam(spec: ParamSpec, value: unknown): InvalidInputError {
  const expected =
    spec.shape === undefined || spec.shape === null
      ? `${article(spec.type)} ${spec.type}`
      : `a list of ${spec.type} (shape [-1])`;
  return new InvalidInputError(
    `param '${spec.name}' must be ${expected}, got ${value === null ? 'null' : describe(value)}`,
    `params.${spec.name}`,
  );
}

function article(word: string): string {
  return /^[aeiou]/i.test(word) ? 'an' : 'a';
}
