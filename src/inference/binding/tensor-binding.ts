// Over the ~300-line guide by a little: matching request tensors (or table
// columns) to tensor inputs, checking shapes and declared types, and writing
// them are one pass over one Source type, kept together so each check sees
// the same source description in its message.
import { InvalidInputError } from '../inference.error';
import { DataType, Tensor, TensorSpec } from '../../models/tensor.types';
import { InferenceInput, RequestTensor } from '../inference.types';
import { ExtraInputs, Table } from './column-binding';
import { firstDuplicate, formatShape, plural, quoteList } from './messages';
import {
  checkNested,
  claimedCount,
  elementCount,
  flattenNested,
  formatPath,
  indexAt,
  nestedShape,
} from './nested-array';
import { createWriter, describeValue, expectation } from './tensor-writer';

/** What a tensor must look like: a signature's tensor spec, or a model input when there is no signature. */
export interface TensorWant {
  name?: string;
  datatype: DataType;
  shape: number[];
}

/** One request tensor on its way into a model input. */
interface Source {
  /** How messages name it: `input 'x'`, `the input`, `column 'x'`, `the data frame`. */
  label: string;
  name?: string;
  /** The shape it is bound with. */
  shape: number[];
  /** Flat values (Open Inference), or… */
  flat?: ArrayLike<unknown>;
  /** …nested lists of `nestedShape`. */
  nested?: unknown;
  nestedShape?: number[];
  /** The datatype the request declared (Open Inference). */
  declared?: DataType;
}

type NumericKind = 'float' | 'int' | 'bool' | 'bytes';

const KIND: Readonly<Record<DataType, NumericKind>> = {
  BOOL: 'bool',
  UINT8: 'int',
  UINT16: 'int',
  UINT32: 'int',
  UINT64: 'int',
  INT8: 'int',
  INT16: 'int',
  INT32: 'int',
  INT64: 'int',
  FP16: 'float',
  FP32: 'float',
  FP64: 'float',
  BYTES: 'bytes',
};

/**
 * Binds tensors (or a data frame) to tensor specs, as MLflow's
 * `_enforce_tensor_schema` does (mlflow/models/utils.py): by name, or the one
 * unnamed tensor to the one input; rank and fixed dimensions checked (-1 is
 * any); a data frame is stacked into [rows, columns] for one unnamed spec, or
 * split into its columns for named specs. Values are converted to the ONNX
 * model input's datatype (see {@link checkDeclared} for declared datatypes).
 */
export function bindTensors(
  input: InferenceInput,
  wants: TensorWant[],
  modelInputs: TensorSpec[],
  extra: ExtraInputs,
): Tensor[] {
  const sources =
    input.kind === 'table' ? tableSources(input, wants, extra) : requestSources(input.tensors);
  const matched = matchSources(input, sources, wants, extra, modelInputs);
  const targets = wants.map((want) => targetOf(want, wants, modelInputs));
  return modelInputs.map((target) => {
    const w = targets.indexOf(target);
    if (w < 0) {
      throw new Error(
        `the ONNX model input '${target.name}' is not in the model's signature (${wantNames(wants)})`,
      );
    }
    const source = matched[w];
    checkShape(source, wants[w].shape, 'expected shape');
    if (wants[w] !== target) {
      checkShape(source, target.shape, `the model input '${target.name}' has shape`);
    }
    checkDeclared(source, target);
    return write(source, target);
  });
}

function requestSources(tensors: RequestTensor[]): Source[] {
  const names = tensors.filter((t) => t.name !== undefined).map((t) => t.name as string);
  const duplicate = firstDuplicate(names);
  if (duplicate !== undefined) {
    throw new InvalidInputError(`input '${duplicate}' appears twice`, duplicate);
  }
  return tensors.map((t) => {
    const label = t.name === undefined ? 'the input' : `input '${t.name}'`;
    const source: Source = { label, name: t.name, shape: [], declared: t.datatype };
    if (t.shape === undefined) {
      source.nested = t.data;
      source.nestedShape = nestedShape(t.data);
      source.shape = source.nestedShape;
      return source;
    }
    const count = claimedCount(t.shape);
    const flat = isFlatList(t.data) ? t.data : undefined;
    if (!flat || BigInt(flat.length) !== count) {
      const got = flat ? `${flat.length}` : describeValue(t.data);
      throw new InvalidInputError(
        `${label}: shape ${formatShape(t.shape)} needs ${count} values, got ${got}`,
        t.name,
      );
    }
    source.flat = flat;
    source.shape = t.shape;
    return source;
  });
}

/** A list, or the typed array the binary tensor data extension decodes to. */
function isFlatList(data: unknown): data is ArrayLike<unknown> {
  return Array.isArray(data) || (ArrayBuffer.isView(data) && !(data instanceof DataView));
}

/**
 * A data frame as tensors, after `_enforce_tensor_schema`: one unnamed spec
 * takes the whole frame ([rows, columns]; one column alone is [rows]);
 * named specs take the column of their name.
 */
function tableSources(table: Table, wants: TensorWant[], extra: ExtraInputs): Source[] {
  if (table.columns.length === 0) throw new InvalidInputError('the data frame has no columns');
  if (wants.length === 1 && wants[0].name === undefined) {
    if (table.columns.length === 1) return [columnSource(table, 0, wants[0])];
    return [
      {
        label: 'the data frame',
        shape: [table.rows.length, table.columns.length],
        nested: table.rows,
        nestedShape: [table.rows.length, table.columns.length],
      },
    ];
  }
  const positions = new Map<string, number>();
  for (const [i, name] of table.columns.entries()) {
    if (positions.has(name)) throw new InvalidInputError(`column '${name}' appears twice`, name);
    positions.set(name, i);
  }
  const expected = wants.map((w) => w.name as string);
  const missing = expected.filter((name) => !positions.has(name));
  if (missing.length > 0) {
    throw new InvalidInputError(
      `missing ${plural('column', missing.length)} ${quoteList(missing)}; the model expects ${quoteList(expected)}`,
      missing[0],
    );
  }
  rejectExtras(table.columns, expected, 'column', extra);
  return wants.map((want) =>
    columnSource(table, positions.get(want.name as string) as number, want),
  );
}

/** One column as a tensor: [rows] of scalars (or [rows, 1] for a rank-2 spec), or [rows, …] of lists. */
function columnSource(table: Table, index: number, want: TensorWant): Source {
  const column = table.rows.map((row) => row[index]);
  const shape = nestedShape(column);
  const name = table.columns[index];
  return {
    label: `column '${name}'`,
    name,
    shape: shape.length === 1 && want.shape.length === 2 ? [shape[0], 1] : shape,
    nested: column,
    nestedShape: shape,
  };
}

function matchSources(
  input: InferenceInput,
  sources: Source[],
  wants: TensorWant[],
  extra: ExtraInputs,
  modelInputs: TensorSpec[],
): Source[] {
  if (wants.length === 1 && wants[0].name === undefined) {
    if (sources.length !== 1) {
      throw new InvalidInputError(`the model takes one input, got ${sources.length}`);
    }
    // A named tensor (every Open Inference input is named) must use the name
    // the model's metadata publishes: its ONNX input's.
    const own = modelInputs.length === 1 ? modelInputs[0].name : undefined;
    const name = sources[0].name;
    if (input.kind === 'tensors' && name !== undefined && own !== undefined && name !== own) {
      throw new InvalidInputError(`unknown input '${name}'; the model's input is '${own}'`, name);
    }
    return sources;
  }
  if (sources.length === 1 && sources[0].name === undefined) {
    if (wants.length === 1) return sources;
    const names = wants.map((w) => w.name as string);
    throw new InvalidInputError(
      `the model takes named inputs ${quoteList(names)}: send one tensor for each, by name`,
    );
  }
  const byName = new Map(sources.map((s) => [s.name, s]));
  const expected = wants.map((w) => w.name as string);
  const missing = expected.filter((name) => !byName.has(name));
  if (missing.length > 0) {
    throw new InvalidInputError(
      `missing ${plural('input', missing.length)} ${quoteList(missing)}; the model expects ${quoteList(expected)}`,
      missing[0],
    );
  }
  rejectExtras(
    sources.map((s) => s.name as string),
    expected,
    'input',
    extra,
  );
  return wants.map((w) => byName.get(w.name) as Source);
}

/** The ONNX input a spec feeds: the one of its name, or the only one. */
function targetOf(want: TensorWant, wants: TensorWant[], modelInputs: TensorSpec[]): TensorSpec {
  if (modelInputs.includes(want as TensorSpec)) return want as TensorSpec;
  const named = modelInputs.find((m) => m.name === want.name);
  if (named) return named;
  if (wants.length === 1 && modelInputs.length === 1) return modelInputs[0];
  throw new Error(
    `the signature's input '${want.name ?? '(unnamed)'}' matches no ONNX model input (${modelInputs
      .map((m) => m.name)
      .join(', ')})`,
  );
}

function checkShape(source: Source, expected: readonly number[], what: string): void {
  const got = source.shape;
  const fits = got.length === expected.length && expected.every((d, i) => d === -1 || d === got[i]);
  if (!fits) {
    throw new InvalidInputError(
      `${source.label}: ${what} ${formatShape(expected)}, got ${formatShape(got)}`,
      source.name,
    );
  }
}

/**
 * A declared datatype may differ from the model input's within a family, and
 * integers may go into floats: FP64 data into an FP32 input is rounded, as
 * MLflow's `_cast_float64_to_float32` does; INT32 into INT64 widens; INT64
 * into INT8 is range-checked per value. Floats into integers, and anything
 * across BOOL or BYTES, would change what the values mean: refused.
 */
function checkDeclared(source: Source, target: TensorSpec): void {
  const declared = source.declared;
  if (declared === undefined || declared === target.datatype) return;
  const from = KIND[declared];
  const to = KIND[target.datatype];
  if (from === to || (from === 'int' && to === 'float')) return;
  throw new InvalidInputError(
    `${source.label} is ${declared}, but the model input '${target.name}' is ${target.datatype}`,
    source.name,
  );
}

function write(source: Source, target: TensorSpec): Tensor {
  // Nested lists claim their shape by their first elements alone: the whole
  // nesting is checked before product(shape) elements are allocated.
  const ragged = source.flat ? undefined : checkNested(source.nested, source.nestedShape ?? []);
  if (ragged?.kind === 'ragged') throw raggedError(source, ragged.path, ragged.message);
  const writer = createWriter(target.datatype, elementCount(source.shape));
  if (source.flat) {
    const flat = source.flat;
    for (let i = 0; i < flat.length; i++) {
      if (!writer.set(i, flat[i])) throw valueError(source, target, i, flat[i]);
    }
  } else {
    const failure = flattenNested(source.nested, source.nestedShape as number[], writer);
    if (failure?.kind === 'ragged') throw raggedError(source, failure.path, failure.message);
    if (failure) throw valueError(source, target, failure.index, failure.value);
  }
  return { name: target.name, datatype: target.datatype, shape: source.shape, data: writer.data };
}

function raggedError(source: Source, path: number[], message: string): Error {
  const where = path.length > 0 ? ` at ${formatPath(path)}` : '';
  return new InvalidInputError(
    `${source.label} is not a regular nested list${where}: ${message}`,
    source.name,
  );
}

function valueError(source: Source, target: TensorSpec, flat: number, value: unknown): Error {
  const index = indexAt(flat, source.shape);
  const where = index.length > 0 ? ` at [${index.join(', ')}]` : '';
  return new InvalidInputError(
    `${source.label}${where}: the model input '${target.name}' is ${target.datatype} and takes ${expectation(target.datatype)}, got ${describeValue(value)}`,
    source.name,
  );
}

function rejectExtras(
  given: string[],
  expected: string[],
  what: 'column' | 'input',
  extra: ExtraInputs,
): void {
  if (extra !== 'reject') return;
  const known = new Set(expected);
  const unknown = given.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `unknown ${plural(what, unknown.length)} ${quoteList(unknown)}; the model expects ${quoteList(expected)}`,
      unknown[0],
    );
  }
}

function wantNames(wants: TensorWant[]): string {
  return wants.map((w) => w.name ?? '(unnamed)').join(', ');
}
