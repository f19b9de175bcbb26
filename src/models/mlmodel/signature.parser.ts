import {
  ColumnSpec,
  ColumnType,
  ModelSignature,
  TensorSignatureSpec,
} from '../model-signature.types';
import { MlModelFormatError } from './mlmodel.error';
import { dataTypeOfNumpy } from './numpy-dtype';
import { describe, isRecord } from './values';

/** mlflow.types.DataType names. */
const COLUMN_TYPES: ReadonlySet<string> = new Set<ColumnType>([
  'boolean',
  'integer',
  'long',
  'float',
  'double',
  'string',
  'binary',
  'datetime',
]);

/** Column types MLflow has (mlflow/types/schema.py) but ModelSignature does not model. */
const UNMODELLED_COLUMN_TYPES: ReadonlySet<string> = new Set([
  'array',
  'object',
  'map',
  'any',
  'sparkml_vector',
]);

type Spec = ColumnSpec | TensorSignatureSpec;

/** A column or tensor Modelgate cannot check; the model may still be served elsewhere. */
class UnsupportedSpec extends Error {}

export type SignatureParse =
  | { signature: ModelSignature; unsupported?: undefined; warnings: string[] }
  | { signature?: undefined; unsupported: string; warnings: string[] };

/**
 * Reads the `signature` mapping of an MLmodel file. MLflow stores `inputs`,
 * `outputs` and `params` as JSON strings (mlflow/models/signature.py
 * `ModelSignature.to_dict`); lists written by hand are accepted too.
 *
 * An input Modelgate cannot model (an array column, a datetime tensor) leaves
 * the model without a usable signature (`unsupported` says why); such an
 * output is only left out, with a warning: outputs are not checked.
 * @throws MlModelFormatError when the signature is malformed.
 */
export function parseSignature(raw: unknown): SignatureParse {
  if (!isRecord(raw)) {
    throw new MlModelFormatError(`signature must be a mapping, got ${describe(raw)}`, 'signature');
  }
  const warnings: string[] = [];
  try {
    return {
      signature: {
        inputs: parseSchema(raw.inputs, 'signature.inputs'),
        outputs: parseSchema(raw.outputs, 'signature.outputs', warnings),
        params: parseParams(raw.params),
      },
      warnings,
    };
  } catch (error) {
    if (error instanceof UnsupportedSpec) return { unsupported: error.message, warnings };
    throw error;
  }
}

/** @param skipped collects specs Modelgate cannot model instead of failing on them. */
function parseSchema(raw: unknown, key: string, skipped?: string[]): Spec[] {
  const list = jsonList(raw, key);
  const specs: Spec[] = [];
  list.forEach((item, i) => {
    try {
      specs.push(parseSpec(item, `${key}[${i}]`));
    } catch (error) {
      if (!(error instanceof UnsupportedSpec) || !skipped) throw error;
      skipped.push(`${error.message}: left out of the signature`);
    }
  });
  const kinds = new Set(specs.map((s) => s.kind));
  if (kinds.size > 1) {
    // MLflow's Schema refuses this too (mlflow/types/schema.py Schema.__init__).
    throw new MlModelFormatError(`${key} mixes column and tensor specs`, key);
  }
  const names = specs.map((s) => s.name);
  if (names.some((n) => n !== undefined) && names.some((n) => n === undefined)) {
    throw new MlModelFormatError(`${key} mixes named and unnamed specs`, key);
  }
  const duplicate = names.find((n, i) => n !== undefined && names.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new MlModelFormatError(`${key} declares '${duplicate}' twice`, key);
  }
  return specs;
}

function parseSpec(raw: unknown, key: string): Spec {
  if (!isRecord(raw)) {
    throw new MlModelFormatError(`${key} must be an object, got ${describe(raw)}`, key);
  }
  const name = optionalName(raw.name, key);
  if (raw.type === 'tensor') return parseTensorSpec(raw, name, key);
  if (typeof raw.type !== 'string') {
    throw new MlModelFormatError(`${key} has no 'type'`, key);
  }
  if (UNMODELLED_COLUMN_TYPES.has(raw.type)) {
    throw new UnsupportedSpec(
      `${key}${name === undefined ? '' : ` ('${name}')`} has type '${raw.type}', which Modelgate cannot check`,
    );
  }
  if (!COLUMN_TYPES.has(raw.type)) {
    throw new MlModelFormatError(`${key}: unknown column type '${raw.type}'`, key);
  }
  if (raw.required !== undefined && raw.required !== null && typeof raw.required !== 'boolean') {
    throw new MlModelFormatError(`${key}.required must be true or false`, `${key}.required`);
  }
  // ColSpec defaults `required` to True (mlflow/types/schema.py ColSpec.__init__).
  return { kind: 'column', name, type: raw.type as ColumnType, required: raw.required !== false };
}

function parseTensorSpec(
  raw: Record<string, unknown>,
  name: string | undefined,
  key: string,
): TensorSignatureSpec {
  const info = raw['tensor-spec'];
  if (!isRecord(info)) {
    throw new MlModelFormatError(`${key} has type 'tensor' but no 'tensor-spec'`, key);
  }
  if (typeof info.dtype !== 'string') {
    throw new MlModelFormatError(`${key}.tensor-spec has no 'dtype'`, `${key}.tensor-spec.dtype`);
  }
  const { shape } = info;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && (d as number) >= -1)) {
    throw new MlModelFormatError(
      `${key}.tensor-spec.shape must be a list of integers (-1 for a variable dimension), got ${describe(shape)}`,
      `${key}.tensor-spec.shape`,
    );
  }
  const datatype = dataTypeOfNumpy(info.dtype);
  if (!datatype) {
    throw new UnsupportedSpec(
      `${key}${name === undefined ? '' : ` ('${name}')`} has dtype '${info.dtype}', which Modelgate cannot serve`,
    );
  }
  return { kind: 'tensor', name, dtype: info.dtype, datatype, shape: shape as number[] };
}

function parseParams(raw: unknown): ModelSignature['params'] {
  return jsonList(raw, 'signature.params').map((item, i) => {
    const key = `signature.params[${i}]`;
    if (!isRecord(item) || typeof item.name !== 'string') {
      throw new MlModelFormatError(`${key} must be an object with a 'name'`, key);
    }
    // ParamSpec.from_json_dict accepts `type` or, in older files, `dtype`.
    const type = item.type ?? item.dtype;
    if (typeof type !== 'string') {
      throw new MlModelFormatError(`${key} ('${item.name}') has no 'type'`, key);
    }
    const shape = item.shape;
    if (shape !== undefined && shape !== null && !isIntegerList(shape)) {
      throw new MlModelFormatError(`${key}.shape must be a list of integers or null`, key);
    }
    return { name: item.name, type, default: item.default, shape: shape ?? null };
  });
}

/** A schema list: JSON text as MLflow writes it, a list, or null/absent for none. */
function jsonList(raw: unknown, key: string): unknown[] {
  if (raw === undefined || raw === null || raw === '') return [];
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new MlModelFormatError(`${key} is not valid JSON: ${(error as Error).message}`, key);
    }
  }
  if (value === null) return [];
  if (!Array.isArray(value)) {
    throw new MlModelFormatError(`${key} must be a JSON list, got ${describe(value)}`, key);
  }
  return value as unknown[];
}

function optionalName(raw: unknown, key: string): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') {
    throw new MlModelFormatError(`${key}.name must be a string`, `${key}.name`);
  }
  return raw;
}

function isIntegerList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((d) => Number.isInteger(d));
}
