// Over the ~300-line guide on purpose: planning columns against a column
// signature and writing them into model inputs (coercion, missing values,
// shapes) are one rule set with one vocabulary of messages; the planners and
// the writer are split by function, and splitting the file would only export
// the private coercers to a second one.
import { ColumnSpec, ColumnType } from '../../models/model-signature.types';
import { InvalidInputError } from '../inference.error';
import { DataType, Tensor, TensorSpec } from '../../models/tensor.types';
import { RequestTensor } from '../inference.types';
import { firstDuplicate, formatShape, plural, quoteList } from './messages';
import {
  ArraySink,
  checkNested,
  elementCount,
  flattenNested,
  formatPath,
  nestedShape,
} from './nested-array';
import { TensorWriter, createWriter, describeValue, expectation } from './tensor-writer';

export type Table = { columns: string[]; rows: unknown[][] };

/** What to do with request columns or tensors the signature does not declare. */
export type ExtraInputs = 'reject' | 'ignore';

/** One column the model gets, in the order it gets them. */
export interface ColumnPlan {
  name: string;
  /** Position in the request's columns; -1 when an optional column is absent. */
  index: number;
  /** Undefined when there is no signature: the model input's datatype alone decides. */
  type?: ColumnType;
  required: boolean;
}

const FLOAT_TYPES: ReadonlySet<DataType> = new Set(['FP16', 'FP32', 'FP64']);

/**
 * Matches the request's columns to a column-based signature, as MLflow's
 * `_enforce_schema` does (mlflow/models/utils.py): required columns must be
 * there; unnamed signatures match by position. MLflow ignores extra columns
 * with a warning; `extra: 'reject'` names them in a 400 instead.
 */
export function planColumns(table: Table, specs: ColumnSpec[], extra: ExtraInputs): ColumnPlan[] {
  const positions = columnPositions(table.columns);
  if (specs.every((s) => s.name === undefined)) {
    const got = table.columns.length;
    if (got < specs.length || (extra === 'reject' && got > specs.length)) {
      throw new InvalidInputError(
        `the model takes ${specs.length} ${plural('column', specs.length)} (its signature does not name them), got ${got}`,
      );
    }
    return specs.map((spec, i) => ({
      name: table.columns[i],
      index: i,
      type: spec.type,
      required: spec.required,
    }));
  }
  const expected = specs.map((s) => s.name as string);
  const missing = specs.filter((s) => s.required && !positions.has(s.name as string));
  if (missing.length > 0) {
    const names = missing.map((s) => s.name as string);
    throw new InvalidInputError(
      `missing required ${plural('column', names.length)} ${quoteList(names)}; the model expects ${quoteList(expected)}`,
      names[0],
    );
  }
  if (extra === 'reject') {
    const known = new Set(expected);
    const unknown = table.columns.filter((c) => !known.has(c));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        `unknown ${plural('column', unknown.length)} ${quoteList(unknown)}; the model expects ${quoteList(expected)}`,
        unknown[0],
      );
    }
  }
  return specs.map((spec) => ({
    name: spec.name as string,
    index: positions.get(spec.name as string) ?? -1,
    type: spec.type,
    required: spec.required,
  }));
}

/**
 * Tensors sent to a column-based signature, as the data frame MLflow makes of
 * them (`_enforce_schema`): named tensors are columns ([n] or [n, 1], all of
 * the same n; a scalar is one row). One unnamed tensor is the single column of
 * a one-column signature, or the rows of an unnamed (positional) one.
 */
export function tensorsAsTable(tensors: RequestTensor[], specs: ColumnSpec[]): Table {
  const names = specs.filter((s) => s.name !== undefined).map((s) => s.name as string);
  if (tensors.length === 1 && tensors[0].name === undefined) {
    const [tensor] = tensors;
    if (names.length === 1) return fromColumns(names, [columnValues(tensor, names[0])]);
    if (names.length === 0) return matrixRows(tensor, specs.length);
    throw new InvalidInputError(
      `the model takes named columns ${quoteList(names)}: send a data frame (dataframe_split, ` +
        `dataframe_records, CSV) or {"inputs": {"<column>": [values]}}`,
    );
  }
  const given = tensors.map((t) => t.name);
  if (given.some((n) => n === undefined)) {
    throw new InvalidInputError('every input needs a name: they are the columns of the model');
  }
  const duplicate = firstDuplicate(given as string[]);
  if (duplicate !== undefined) {
    throw new InvalidInputError(`column '${duplicate}' appears twice`, duplicate);
  }
  return fromColumns(
    given as string[],
    tensors.map((t) => columnValues(t, t.name as string)),
  );
}

function fromColumns(columns: string[], values: unknown[][]): Table {
  const rows = values[0]?.length ?? 0;
  const uneven = values.findIndex((v) => v.length !== rows);
  if (uneven >= 0) {
    throw new InvalidInputError(
      `every column needs the same number of rows: '${columns[0]}' has ${rows}, '${columns[uneven]}' has ${values[uneven].length}`,
      columns[uneven],
    );
  }
  const table: unknown[][] = new Array<unknown[]>(rows);
  for (let r = 0; r < rows; r++) table[r] = values.map((column) => column[r]);
  return { columns, rows: table };
}

/** A tensor's values as one column: shape [], [n] or [n, 1]. */
function columnValues(tensor: RequestTensor, column: string): unknown[] {
  const shape = tensor.shape ?? nestedShape(tensor.data);
  const fits = shape.length <= 1 || (shape.length === 2 && shape[1] === 1);
  if (!fits) {
    throw new InvalidInputError(
      `column '${column}' must be a list of values (shape [n] or [n, 1]), got shape ${formatShape(shape)}`,
      column,
    );
  }
  if (tensor.shape !== undefined) {
    return Array.isArray(tensor.data) ? (tensor.data as unknown[]) : [tensor.data];
  }
  return flattenOrThrow(tensor.data, shape, `column '${column}'`, column);
}

/** One unnamed 2-D tensor as the rows of an unnamed (positional) column signature. */
function matrixRows(tensor: RequestTensor, width: number): Table {
  const shape = tensor.shape ?? nestedShape(tensor.data);
  if (shape.length !== 2) {
    throw new InvalidInputError(
      `the model takes rows of ${width} ${plural('column', width)}: send a list of rows, got shape ${formatShape(shape)}`,
    );
  }
  const [rows, columns] = shape;
  const flat =
    tensor.shape !== undefined
      ? (tensor.data as unknown[])
      : flattenOrThrow(tensor.data, shape, 'the input', undefined);
  const table: unknown[][] = new Array<unknown[]>(rows);
  for (let r = 0; r < rows; r++) table[r] = flat.slice(r * columns, (r + 1) * columns);
  return { columns: Array.from({ length: columns }, (_, i) => String(i)), rows: table };
}

function flattenOrThrow(
  data: unknown,
  shape: number[],
  label: string,
  field: string | undefined,
): unknown[] {
  // Checked whole before product(shape) values are allocated: the shape was
  // read from the first elements alone. ArraySink takes any value.
  const failure = checkNested(data, shape);
  if (failure?.kind === 'ragged') {
    const where = failure.path.length > 0 ? ` at ${formatPath(failure.path)}` : '';
    throw new InvalidInputError(
      `${label} is not a regular nested list${where}: ${failure.message}`,
      field,
    );
  }
  const sink = new ArraySink(elementCount(shape));
  flattenNested(data, shape, sink);
  return sink.values;
}

/**
 * Columns for a model without a signature, unchecked but for presence: one
 * model input takes every column in request order; several take the column
 * of their name each.
 */
export function planUntypedColumns(
  table: Table,
  modelInputs: TensorSpec[],
  extra: ExtraInputs,
): ColumnPlan[] {
  const positions = columnPositions(table.columns);
  if (modelInputs.length === 1) {
    return table.columns.map((name, index) => ({ name, index, required: false }));
  }
  const expected = modelInputs.map((m) => m.name);
  const missing = expected.filter((name) => !positions.has(name));
  if (missing.length > 0) {
    throw new InvalidInputError(
      `missing ${plural('column', missing.length)} ${quoteList(missing)}; the model's inputs are ${quoteList(expected)}`,
      missing[0],
    );
  }
  if (extra === 'reject') {
    const unknown = table.columns.filter((c) => !expected.includes(c));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        `unknown ${plural('column', unknown.length)} ${quoteList(unknown)}; the model's inputs are ${quoteList(expected)}`,
        unknown[0],
      );
    }
  }
  return expected.map((name) => ({ name, index: positions.get(name) as number, required: false }));
}

/**
 * Writes planned columns into the model's inputs. One input: the columns side
 * by side as a [rows, columns] matrix in plan order, as MLflow's
 * `_OnnxModelWrapper.predict` feeds `DataFrame.values` (mlflow/onnx/__init__.py).
 * Several inputs: each takes the column of its name, [rows] or [rows, 1] by its rank.
 */
export function bindColumns(table: Table, plan: ColumnPlan[], modelInputs: TensorSpec[]): Tensor[] {
  if (plan.length === 0) throw new InvalidInputError('the data frame has no columns');
  const rows = table.rows.length;
  if (modelInputs.length === 1) {
    const target = modelInputs[0];
    const shape = matrixShape(target, rows, plan.length);
    const writer = createWriter(target.datatype, rows * plan.length);
    plan.forEach((column, j) => writeColumn(table, column, writer, j, plan.length, target));
    return [{ name: target.name, datatype: target.datatype, shape, data: writer.data }];
  }
  const byName = new Map(plan.map((c) => [c.name, c]));
  return modelInputs.map((target) => {
    const column = byName.get(target.name);
    if (!column) {
      throw new InvalidInputError(
        `the model input '${target.name}' takes the column of that name, which the request lacks`,
        target.name,
      );
    }
    const shape = columnShape(target, rows);
    const writer = createWriter(target.datatype, rows);
    writeColumn(table, column, writer, 0, 1, target);
    return { name: target.name, datatype: target.datatype, shape, data: writer.data };
  });
}

function matrixShape(target: TensorSpec, rows: number, columns: number): number[] {
  const rank = target.shape.length;
  if (rank === 1 && columns === 1) return [rows];
  const width = target.shape[1];
  if (rank !== 2 || (width !== -1 && width !== columns)) {
    throw new InvalidInputError(
      `the model input '${target.name}' has shape ${formatShape(target.shape)}, which ${columns} ${plural('column', columns)} per row cannot fill`,
      target.name,
    );
  }
  return [rows, columns];
}

function columnShape(target: TensorSpec, rows: number): number[] {
  const rank = target.shape.length;
  if (rank === 1) return [rows];
  if (rank === 2 && (target.shape[1] === -1 || target.shape[1] === 1)) return [rows, 1];
  throw new InvalidInputError(
    `the model input '${target.name}' has shape ${formatShape(target.shape)}; one column cannot fill it`,
    target.name,
  );
}

/** Checks and writes one column, at `offset`, `offset + stride`, … */
function writeColumn(
  table: Table,
  column: ColumnPlan,
  writer: TensorWriter,
  offset: number,
  stride: number,
  target: TensorSpec,
): void {
  const coerce = coercerFor(column);
  const { rows } = table;
  const { index } = column;
  for (let r = 0; r < rows.length; r++) {
    const raw = index < 0 ? undefined : rows[r][index];
    let value: unknown;
    if (raw === null || raw === undefined || (typeof raw === 'number' && raw !== raw)) {
      value = missingValue(column, r, target);
    } else {
      value = coerce(raw);
      if (value === REJECT) {
        throw new InvalidInputError(
          `column '${column.name}' row ${r}: expected ${typeExpectation(column.type)}, got ${describeValue(raw)}`,
          column.name,
        );
      }
    }
    if (!writer.set(offset + r * stride, value)) {
      throw new InvalidInputError(
        `column '${column.name}' row ${r}: the model input '${target.name}' is ${target.datatype} and takes ${expectation(target.datatype)}, got ${describeValue(value)}`,
        column.name,
      );
    }
  }
}

/**
 * null, absent and NaN are missing. Only optional columns may miss values, and
 * only float inputs can hold the NaN that stands for them. (MLflow lets pandas
 * turn a null into NaN even in a required double column; here required means
 * a value in every row.)
 */
function missingValue(column: ColumnPlan, row: number, target: TensorSpec): number {
  if (column.required) {
    throw new InvalidInputError(
      column.index < 0
        ? `column '${column.name}' is required`
        : `column '${column.name}' row ${row}: missing value in a required column`,
      column.name,
    );
  }
  if (!FLOAT_TYPES.has(target.datatype)) {
    throw new InvalidInputError(
      column.index < 0
        ? `column '${column.name}' is absent, and the model input '${target.name}' (${target.datatype}) needs a value for it`
        : `column '${column.name}' row ${row}: missing value, which the model input '${target.name}' (${target.datatype}) cannot hold`,
      column.name,
    );
  }
  return NaN;
}

const REJECT = Symbol('reject');

type Coercer = (value: unknown) => unknown;

const identity: Coercer = (v) => v;
const asNumber: Coercer = (v) => (typeof v === 'number' ? v : REJECT);
const asInteger: Coercer = (v) => (Number.isInteger(v) ? v : REJECT);
const asInt32: Coercer = (v) =>
  Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647 ? v : REJECT;
const asBoolean: Coercer = (v) => (typeof v === 'boolean' ? v : REJECT);
/** Numbers are taken as text, as MLflow passes them through an object column (and CSV cells read as numbers). */
const asString: Coercer = (v) =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : REJECT;

function coercerFor(column: ColumnPlan): Coercer {
  switch (column.type) {
    case undefined:
      return identity;
    case 'double':
    case 'float':
      return asNumber;
    case 'long':
      return asInteger;
    case 'integer':
      return asInt32;
    case 'boolean':
      return asBoolean;
    case 'string':
      return asString;
    case 'binary':
    case 'datetime':
      // onnxruntime has no bytes or datetime tensors; MLflow would decode base64 / parse dates.
      throw new InvalidInputError(
        `column '${column.name}' has type ${column.type}, which the ONNX runtime cannot take`,
        column.name,
      );
  }
}

function typeExpectation(type: ColumnType | undefined): string {
  switch (type) {
    case 'double':
    case 'float':
      return `a ${type}`;
    case 'long':
      return 'an integer (long)';
    case 'integer':
      return 'a 32-bit integer';
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    default:
      return 'a value';
  }
}

function columnPositions(columns: string[]): Map<string, number> {
  const positions = new Map<string, number>();
  columns.forEach((name, i) => {
    if (positions.has(name)) {
      throw new InvalidInputError(`column '${name}' appears twice`, name);
    }
    positions.set(name, i);
  });
  return positions;
}
