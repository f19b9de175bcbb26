import { ColumnSpec, ModelSignature } from '../model-signature.types';
import { tensorData, TensorValueError } from '../tensor-data';
import { Tensor, TensorSpec } from '../tensor.types';
import { InputExampleError } from './input-example.error';
import { describe, isRecord } from './values';

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;

/**
 * A model's input example (an MLflow scoring body, as {@link readInputExample}
 * gives it) as the feeds its runtime takes, for the warm-up run at load.
 *
 * This is not the request path's binder (inference/binding): that one checks
 * callers' requests and explains every fault; this one only needs MLflow's own
 * example of a model to reach the model, and lives here so that the models
 * module warms what it loads without knowing the protocols above it. It reads
 * what MLflow writes: a data frame (`dataframe_split`, `dataframe_records`)
 * fed column by column to inputs named as columns, or stacked [rows, columns]
 * in signature order into a single input (as MLflow's ONNX wrapper feeds
 * `DataFrame.values`); tensors (`inputs`, `instances`) as one unnamed array
 * for a single input, or arrays by input name. `params` are not fed.
 *
 * @throws InputExampleError naming what does not fit.
 */
export function decodeInputExample(
  body: Record<string, unknown>,
  inputs: readonly TensorSpec[],
  signature?: ModelSignature,
): Tensor[] {
  const present = FORMATS.filter((key) => body[key] !== undefined);
  if (present.length !== 1) {
    throw new InputExampleError(
      `expected exactly one of ${FORMATS.join(', ')}, got ${present.join(', ') || 'none'}`,
    );
  }
  const [format] = present;
  const value = body[format];
  switch (format) {
    case 'dataframe_split':
      return tableFeeds(splitTable(value), inputs, signature);
    case 'dataframe_records':
      return tableFeeds(recordsTable(value), inputs, signature);
    default:
      return tensorFeeds(value, format, inputs);
  }
}

interface Table {
  columns: string[];
  rows: unknown[][];
}

function splitTable(value: unknown): Table {
  if (!isRecord(value) || !Array.isArray(value.data)) {
    throw new InputExampleError(`dataframe_split must hold a list 'data', got ${describe(value)}`);
  }
  const rows = value.data as unknown[];
  if (!rows.every(Array.isArray)) {
    throw new InputExampleError('dataframe_split.data must be a list of rows (lists)');
  }
  const width = rows.length > 0 ? (rows[0] as unknown[]).length : 0;
  const columns = Array.isArray(value.columns)
    ? value.columns.map(String)
    : Array.from({ length: width }, (_, i) => String(i));
  if (!(rows as unknown[][]).every((row) => row.length === columns.length)) {
    throw new InputExampleError(`every row of dataframe_split.data needs ${columns.length} values`);
  }
  return { columns, rows: rows as unknown[][] };
}

function recordsTable(value: unknown): Table {
  if (!Array.isArray(value) || !value.every(isRecord)) {
    throw new InputExampleError('dataframe_records must be a list of records (objects)');
  }
  const records = value;
  const columns = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return { columns, rows: records.map((r) => columns.map((c) => r[c] ?? null)) };
}

function tableFeeds(
  table: Table,
  inputs: readonly TensorSpec[],
  signature: ModelSignature | undefined,
): Tensor[] {
  const { columns, rows } = table;
  const at = new Map(columns.map((c, i) => [c, i]));
  const column = (name: string): unknown[] => rows.map((row) => row[at.get(name) as number]);
  if (inputs.every((spec) => at.has(spec.name))) {
    // One input per column (several ONNX inputs, or a delegated model's columns).
    return inputs.map((spec) => {
      const shape = spec.shape.length === 2 ? [rows.length, 1] : [rows.length];
      return feed(spec, shape, column(spec.name));
    });
  }
  if (inputs.length !== 1) {
    throw new InputExampleError(
      `its columns (${columns.join(', ')}) do not name the model's inputs (${inputs.map((i) => i.name).join(', ')})`,
    );
  }
  const [spec] = inputs;
  const signed = signature?.inputs.every((s): s is ColumnSpec => s.kind === 'column')
    ? signature.inputs.flatMap((s) => (s.name === undefined ? [] : [s.name]))
    : [];
  const order = signed.length > 0 ? signed : columns;
  const missing = order.filter((name) => !at.has(name));
  if (missing.length > 0) {
    throw new InputExampleError(`it has no column ${missing.join(', ')}`);
  }
  const values = rows.flatMap((row) => order.map((name) => row[at.get(name) as number]));
  const shape = spec.shape.length === 1 ? [rows.length] : [rows.length, order.length];
  if (spec.shape.length === 1 && order.length !== 1) {
    throw new InputExampleError(
      `input '${spec.name}' takes one value a row, the example has ${order.length} columns`,
    );
  }
  return [feed(spec, shape, values)];
}

function tensorFeeds(value: unknown, format: string, inputs: readonly TensorSpec[]): Tensor[] {
  if (Array.isArray(value) && value.length > 0 && value.every(isRecord)) {
    // A list of records is named tensors taken column-wise (MLflow's parse_tf_serving_input).
    const records = value;
    const names = Object.keys(records[0]);
    return tensorFeeds(
      Object.fromEntries(names.map((name) => [name, records.map((r) => r[name])])),
      format,
      inputs,
    );
  }
  if (!isRecord(value)) {
    if (inputs.length !== 1) {
      throw new InputExampleError(
        `${format} holds one unnamed array, but the model has ${inputs.length} inputs`,
      );
    }
    return [nestedFeed(inputs[0], value)];
  }
  const names = Object.keys(value);
  return inputs.map((spec) => {
    if (value[spec.name] !== undefined) return nestedFeed(spec, value[spec.name]);
    if (inputs.length === 1 && names.length === 1) return nestedFeed(spec, value[names[0]]);
    throw new InputExampleError(
      `${format} has no input '${spec.name}' (it has ${names.join(', ')})`,
    );
  });
}

function nestedFeed(spec: TensorSpec, nested: unknown): Tensor {
  const shape: number[] = [];
  for (let node = nested; Array.isArray(node); node = node[0]) {
    shape.push(node.length);
    if (node.length === 0) break;
  }
  const flat: unknown[] = [];
  const walk = (node: unknown, dim: number): void => {
    if (dim === shape.length) {
      if (Array.isArray(node)) throw irregular(spec);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[dim]) throw irregular(spec);
    for (const item of node) walk(item, dim + 1);
  };
  walk(nested, 0);
  return feed(spec, shape, flat);
}

function irregular(spec: TensorSpec): InputExampleError {
  return new InputExampleError(`the values for input '${spec.name}' are not a regular nested list`);
}

function feed(spec: TensorSpec, shape: number[], values: unknown[]): Tensor {
  const fits =
    shape.length === spec.shape.length && spec.shape.every((d, i) => d < 0 || d === shape[i]);
  if (!fits) {
    throw new InputExampleError(
      `input '${spec.name}' takes shape [${spec.shape.join(', ')}], the example has [${shape.join(', ')}]`,
    );
  }
  if (spec.datatype === 'FP16') {
    // Half floats travel as their bits; the request binder writes them, this reader does not.
    throw new InputExampleError(`input '${spec.name}' is FP16, which warm-up does not feed`);
  }
  try {
    return {
      name: spec.name,
      datatype: spec.datatype,
      shape,
      data: tensorData(spec.datatype, values),
    };
  } catch (error) {
    if (error instanceof TensorValueError) {
      throw new InputExampleError(`input '${spec.name}': ${error.message}`);
    }
    throw error;
  }
}
