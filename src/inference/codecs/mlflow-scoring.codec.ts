// Over the ~300-line guide: the decoder of every MLflow request form
// (dataframe_split, dataframe_records, instances, inputs, CSV), each bounded
// by the same limits before it allocates; the answers are encoded in
// mlflow-scoring.encoder.ts.
import { describeJsonKind as describe, isRecord } from '../../common/values';
import { TextDecoder } from 'node:util';
import { parsePythonJson } from '../../models/mlmodel/python-json';
import { jsonDepth } from '../../common/http/json-depth';
import { refusePoisoning } from '../../common/http/safe-json';
import { leafCount } from '../binding/nested-array';
import { InvalidInputError, UnsupportedMediaTypeError } from '../inference.error';
import { InferenceInput, RequestTensor } from '../inference.types';
import { parseCsvTable } from './csv.parser';
import {
  DEFAULT_DECODE_LIMITS,
  DecodeLimits,
  checkElementCount,
  tooDeepError,
} from './decode-limits';

/**
 * The MLflow scoring protocol, as `mlflow models serve` speaks it (MLflow 3.17,
 * mlflow/pyfunc/scoring_server/__init__.py), so MLflow's own clients work
 * unchanged. Checked against the scoring server's `invocations()` run on real
 * ONNX models; differences are noted where they are made.
 */

export interface MlflowRequest {
  input: InferenceInput;
  /** The request's `params` (JSON only), for models with a params schema. */
  params?: Record<string, unknown>;
}

const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
const FORMAT_LIST = FORMATS.join(', ');
const SPLIT_KEYS: ReadonlySet<string> = new Set(['columns', 'data', 'index']);
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes an `/invocations` body.
 * @param body the raw body (string or Buffer), or JSON already parsed by the
 *   HTTP layer. Raw JSON may hold Python's NaN/Infinity tokens, which MLflow accepts.
 * @param contentType the request's Content-Type header.
 * @throws UnsupportedMediaTypeError for anything but JSON and CSV in UTF-8
 *   (MLflow answers 415 for other types, charsets and parameters; it also
 *   takes Parquet, which Modelgate does not).
 * @param limits what the body may decode to; a data frame's rows × columns
 *   and a tensor's values are counted before they are allocated.
 * @throws InvalidInputError naming what is wrong with the body.
 */
export function decodeMlflowRequest(
  body: unknown,
  contentType: string | undefined,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): MlflowRequest {
  const mime = mediaType(contentType);
  if (mime === 'text/csv') {
    const table = parseCsvTable(bodyText(body, 'CSV'));
    checkElementCount(table.rows.length * table.columns.length, 'the CSV body', limits);
    return { input: { kind: 'table', ...table } };
  }
  const parsed = typeof body === 'string' || Buffer.isBuffer(body) ? parseJson(body, limits) : body;
  return decodeJson(parsed, limits);
}

function mediaType(contentType: string | undefined): 'application/json' | 'text/csv' {
  if (contentType === undefined || contentType.trim() === '') {
    throw new UnsupportedMediaTypeError(
      'the request has no Content-Type: send application/json or text/csv',
    );
  }
  const [type, ...parameters] = contentType.split(';').map((part) => part.trim());
  for (const parameter of parameters) {
    if (parameter === '') continue;
    const equals = parameter.indexOf('=');
    const key = (equals < 0 ? parameter : parameter.slice(0, equals)).trim().toLowerCase();
    const value =
      equals < 0
        ? ''
        : parameter
            .slice(equals + 1)
            .trim()
            .replace(/^"|"$/g, '');
    if (key !== 'charset') {
      throw new UnsupportedMediaTypeError(
        `unrecognized content type parameter '${key}': only charset=utf-8 is accepted`,
      );
    }
    // MLflow compares with "utf-8" only; "utf8" is the same encoding.
    if (!['utf-8', 'utf8'].includes(value.toLowerCase())) {
      throw new UnsupportedMediaTypeError(`only UTF-8 is supported, got charset=${value}`);
    }
  }
  const mime = type.toLowerCase();
  if (mime === 'application/json' || mime === 'text/csv') return mime;
  throw new UnsupportedMediaTypeError(
    `unsupported content type '${type}': send application/json or text/csv`,
  );
}

function bodyText(body: unknown, what: string): string {
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) {
    try {
      return utf8.decode(body);
    } catch {
      throw new InvalidInputError(`the ${what} body is not valid UTF-8`);
    }
  }
  if (body === undefined || body === null) return '';
  throw new InvalidInputError(`expected a ${what} body as text`);
}

/**
 * JSON with Python's NaN/Infinity, under the guards of the strict parser
 * (common/http/safe-json.ts): nesting bounded before parsing, prototype keys refused.
 */
function parseJson(body: string | Buffer, limits: DecodeLimits): unknown {
  const text = bodyText(body, 'JSON');
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, limits.maxDepth) > limits.maxDepth) {
    throw tooDeepError('the JSON body', limits);
  }
  let value: unknown;
  try {
    value = parsePythonJson(text);
  } catch (error) {
    throw new InvalidInputError(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  const refused = refusePoisoning(value, text);
  if (refused) throw new InvalidInputError(refused.reason);
  return value;
}

function decodeJson(body: unknown, limits: DecodeLimits): MlflowRequest {
  if (!isRecord(body)) {
    throw new InvalidInputError(
      `the request body must be a JSON object with exactly one of the fields ${FORMAT_LIST}; got ${describe(body)}`,
    );
  }
  const present = FORMATS.filter((key) => body[key] !== undefined);
  if (present.length !== 1) {
    const got =
      present.length === 0
        ? `none (fields: ${Object.keys(body).join(', ') || 'none'})`
        : present.join(', ');
    throw new InvalidInputError(
      `the request body must have exactly one of the fields ${FORMAT_LIST}; got ${got}`,
    );
  }
  const [format] = present;
  const request: MlflowRequest = { input: decodeFormat(format, body[format], limits) };
  const params = body.params;
  if (params !== undefined && params !== null) {
    if (!isRecord(params)) {
      throw new InvalidInputError(
        `params must be a JSON object, got ${describe(params)}`,
        'params',
      );
    }
    request.params = params;
  }
  return request;
}

function decodeFormat(
  format: (typeof FORMATS)[number],
  value: unknown,
  limits: DecodeLimits,
): InferenceInput {
  switch (format) {
    case 'dataframe_split':
      return decodeSplit(value, limits);
    case 'dataframe_records':
      return decodeRecords(value, limits);
    case 'instances':
    case 'inputs':
      return countTensors(decodeTensors(value, format), format, limits);
  }
}

/** pandas' split orient: `{"columns": […], "data": [[…], …], "index": […]}`; the index is not used. */
function decodeSplit(value: unknown, limits: DecodeLimits): InferenceInput {
  const field = 'dataframe_split';
  if (!isRecord(value)) {
    throw new InvalidInputError(
      `${field} must be an object with 'data' and optionally 'columns' and 'index'; got ${describe(value)}`,
      field,
    );
  }
  const extra = Object.keys(value).filter((key) => !SPLIT_KEYS.has(key));
  if (extra.length > 0 || value.data === undefined) {
    throw new InvalidInputError(
      `${field} must have 'data' and optionally 'columns' and 'index'; got ${Object.keys(value).join(', ') || 'nothing'}`,
      field,
    );
  }
  const { data } = value;
  if (!Array.isArray(data)) {
    throw new InvalidInputError(
      `${field}.data must be a list of rows, got ${describe(data)}`,
      `${field}.data`,
    );
  }
  const columns = splitColumns(value.columns, data);
  checkElementCount(data.length * columns.length, `${field} (rows × columns)`, limits, field);
  for (let r = 0; r < data.length; r++) {
    const row: unknown = data[r];
    if (!Array.isArray(row)) {
      throw new InvalidInputError(
        `${field}.data[${r}] must be a list of values (a row), got ${describe(row)}`,
        `${field}.data`,
      );
    }
    if (row.length !== columns.length) {
      throw new InvalidInputError(
        `${field}.data[${r}] has ${row.length} values, but there are ${columns.length} columns`,
        `${field}.data`,
      );
    }
  }
  const { index } = value;
  if (index !== undefined && index !== null) {
    if (!Array.isArray(index) || index.length !== data.length) {
      throw new InvalidInputError(
        `${field}.index must be a list with one label per row (${data.length}), got ${describe(index)}`,
        `${field}.index`,
      );
    }
  }
  return { kind: 'table', columns, rows: data as unknown[][] };
}

/** Column names as given (numbers as text), or "0", "1", … by position when absent, as pandas names them. */
function splitColumns(raw: unknown, data: unknown[]): string[] {
  if (raw === undefined || raw === null) {
    const first: unknown = data[0];
    const width = Array.isArray(first) ? first.length : 0;
    return Array.from({ length: width }, (_, i) => String(i));
  }
  if (!Array.isArray(raw) || !raw.every((c) => typeof c === 'string' || typeof c === 'number')) {
    throw new InvalidInputError(
      `dataframe_split.columns must be a list of column names, got ${describe(raw)}`,
      'dataframe_split.columns',
    );
  }
  const columns = raw.map(String);
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) throw new InvalidInputError(`column '${name}' appears twice`, name);
    seen.add(name);
  }
  return columns;
}

/**
 * pandas' records orient: `[{"a": 1, "b": 2}, …]`; a key missing from a record
 * is a missing value. The frame has a column for every key any record has, so
 * records that each bring other keys make rows × keys cells of a small body:
 * the cells are counted against the cap before the frame is allocated.
 */
function decodeRecords(value: unknown, limits: DecodeLimits): InferenceInput {
  const field = 'dataframe_records';
  if (!Array.isArray(value)) {
    throw new InvalidInputError(
      `${field} must be a list of records (objects), got ${describe(value)}`,
      field,
    );
  }
  const positions = new Map<string, number>();
  const columns: string[] = [];
  for (let r = 0; r < value.length; r++) {
    const record: unknown = value[r];
    if (!isRecord(record)) {
      throw new InvalidInputError(
        `${field}[${r}] must be a record (an object), got ${describe(record)}`,
        field,
      );
    }
    for (const key of Object.keys(record)) {
      if (!positions.has(key)) {
        positions.set(key, columns.length);
        columns.push(key);
      }
    }
  }
  checkElementCount(
    value.length * columns.length,
    `${field} (${value.length} records × ${columns.length} distinct keys)`,
    limits,
    field,
  );
  const rows = (value as Record<string, unknown>[]).map((record) => {
    const row = new Array<unknown>(columns.length).fill(null);
    for (const key of Object.keys(record)) row[positions.get(key) as number] = record[key];
    return row;
  });
  return { kind: 'table', columns, rows };
}

/**
 * TF-serving style (`parse_tf_serving_input`, mlflow/utils/proto_json_utils.py):
 * a list is one unnamed tensor, an object maps names to tensors, a list of
 * records is named tensors taken column-wise (every record with the same keys).
 */
function decodeTensors(
  value: unknown,
  field: 'instances' | 'inputs',
): InferenceInput & { kind: 'tensors' } {
  if (value === null) throw new InvalidInputError(`${field} must not be null`, field);
  if (isRecord(value)) {
    const names = Object.keys(value);
    if (names.length === 0) throw new InvalidInputError(`${field} is an empty object`, field);
    return { kind: 'tensors', tensors: names.map((name) => ({ name, data: value[name] })) };
  }
  if (Array.isArray(value) && value.length > 0 && value.some(isRecord)) {
    return { kind: 'tensors', tensors: recordsAsTensors(value, field) };
  }
  return { kind: 'tensors', tensors: [{ data: value }] };
}

/** Counts the values of every tensor (at any nesting, without recursion) against the caps. */
function countTensors(
  input: InferenceInput & { kind: 'tensors' },
  field: 'instances' | 'inputs',
  limits: DecodeLimits,
): InferenceInput {
  let elements = 0;
  for (const tensor of input.tensors) {
    const what = tensor.name === undefined ? field : `${field}['${tensor.name}']`;
    const count = leafCount(tensor.data, limits.maxDepth);
    if (count < 0) throw tooDeepError(what, limits, tensor.name ?? field);
    elements += count;
    checkElementCount(elements, field, limits, tensor.name ?? field);
  }
  return input;
}

function recordsAsTensors(records: unknown[], field: string): RequestTensor[] {
  const first = records[0];
  if (!isRecord(first)) {
    throw new InvalidInputError(`${field} mixes records (objects) with other values`, field);
  }
  const names = Object.keys(first);
  // Every record is checked before the columns are allocated: a first record
  // of many keys over many empty ones would claim keys × records cells.
  records.forEach((record, r) => {
    if (!isRecord(record)) {
      throw new InvalidInputError(`${field} mixes records (objects) with other values`, field);
    }
    const keys = Object.keys(record);
    if (keys.length !== names.length || !names.every((n) => n in record)) {
      throw new InvalidInputError(
        `${field}[${r}] has the keys ${keys.join(', ')}, but ${field}[0] has ${names.join(', ')}: every record needs the same keys`,
        field,
      );
    }
  });
  const columns = names.map(() => new Array<unknown>(records.length));
  (records as Record<string, unknown>[]).forEach((record, r) => {
    names.forEach((name, c) => (columns[c][r] = record[name]));
  });
  return names.map((name, c) => ({ name, data: columns[c] }));
}
