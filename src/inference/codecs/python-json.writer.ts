import { fromFloat16Bits } from '../binding/float16';
import { elementCount } from '../binding/nested-array';
import { DataType, Tensor } from '../../models/tensor.types';

/**
 * JSON text as MLflow's scoring server writes it: Python's `json.dump` with
 * its defaults (`", "` and `": "` separators, `ensure_ascii`, `allow_nan`)
 * over `ndarray.tolist()` values (mlflow/pyfunc/scoring_server
 * `predictions_to_json`, `NumpyEncoder`). So floats read like Python's
 * `repr` (`3.0`, `1e-05`), int64 values are exact, and NaN/Infinity appear as
 * the bare tokens Python writes (not valid JSON, but what MLflow's clients read).
 */

/** Python's `repr(float)`: the shortest round-trip digits, `.0` on integral values, `e±XX` exponents. */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const magnitude = value < 0 ? -value : value;
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    // Python writes these in fixed notation, as String() does for 1e-7…1e21 with
    // the same shortest digits: no exponent to rewrite (the common case, and
    // toExponential's string work was a visible share of a forest's answer).
    const fixed = String(value);
    return fixed.includes('.') ? fixed : `${fixed}.0`;
  }
  // toExponential() without digits gives the shortest round-trip digits, as repr does.
  const exponential = value.toExponential();
  const e = exponential.indexOf('e');
  const exponent = Number(exponential.slice(e + 1));
  // float_repr_style 'short': scientific when the exponent is < -4 or >= 16 (Python/pystrtod.c).
  if (exponent < -4 || exponent >= 16) {
    const digits = String(Math.abs(exponent)).padStart(2, '0');
    return `${exponential.slice(0, e)}e${exponent < 0 ? '-' : '+'}${digits}`;
  }
  const fixed = String(value);
  return fixed.includes('.') ? fixed : `${fixed}.0`;
}

/** A JSON string as Python writes it with `ensure_ascii=True`: anything outside space…~ escaped. */
export function pythonString(value: string): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Element `index` of a tensor, as MLflow writes it. */
export function pythonValue(tensor: Tensor, index: number): string {
  const value = tensor.data[index];
  return formatValue(tensor.datatype, value, tensor.data instanceof Uint16Array);
}

/** Writes element `index` of one tensor as MLflow does ({@link elementText}). */
export type ElementText = (index: number) => string;

/**
 * {@link pythonValue} for one tensor, its datatype's case chosen once: an
 * answer writes every element through it, so the per-element work is the
 * number's text alone.
 */
export function elementText(tensor: Tensor): ElementText {
  const data = tensor.data;
  switch (tensor.datatype) {
    case 'FP32':
    case 'FP64':
      if (data instanceof Float32Array || data instanceof Float64Array) {
        return (index) => pythonFloat(data[index]);
      }
      break;
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      if (isIntegerArray(data)) return (index) => String(data[index]);
      break;
    case 'INT64':
    case 'UINT64':
      if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
        return (index) => data[index].toString();
      }
      break;
  }
  return (index) => pythonValue(tensor, index);
}

type IntegerArray = Int8Array | Int16Array | Int32Array | Uint8Array | Uint16Array | Uint32Array;

function isIntegerArray(data: Tensor['data']): data is IntegerArray {
  return (
    data instanceof Int8Array ||
    data instanceof Int16Array ||
    data instanceof Int32Array ||
    data instanceof Uint8Array ||
    data instanceof Uint16Array ||
    data instanceof Uint32Array
  );
}

function formatValue(datatype: DataType, value: unknown, halfBits: boolean): string {
  switch (datatype) {
    case 'FP16':
      return pythonFloat(halfBits ? fromFloat16Bits(value as number) : Number(value));
    case 'FP32':
    case 'FP64':
      return pythonFloat(Number(value));
    case 'BOOL':
      return value ? 'true' : 'false';
    case 'BYTES':
      return pythonString(String(value));
    default:
      // Integers: a bigint prints exactly, as Python's int does.
      return typeof value === 'bigint' ? value.toString() : pythonInteger(value);
  }
}

function pythonInteger(value: unknown): string {
  const n = Number(value);
  return Number.isInteger(n) ? String(n) : pythonFloat(n);
}

/**
 * Elements [start, start + count) of a tensor as nested lists of `shape`
 * (`ndarray.tolist()`); a scalar when `shape` is [].
 */
export function pythonNested(
  tensor: Tensor,
  shape: readonly number[],
  start: number,
): { text: string; next: number } {
  return { text: nestedText(elementText(tensor), shape, start), next: start + elementCount(shape) };
}

/**
 * The elements from `start` as nested lists of `shape` (a scalar when it is
 * []), each written by `write`: {@link pythonNested} for a caller that writes
 * many slices of one tensor (a record per row).
 */
export function nestedText(write: ElementText, shape: readonly number[], start: number): string {
  return levelText(write, shape, 0, start);
}

function levelText(
  write: ElementText,
  shape: readonly number[],
  depth: number,
  start: number,
): string {
  if (depth === shape.length) return write(start);
  const length = shape[depth];
  let text = '[';
  if (depth === shape.length - 1) {
    for (let i = 0; i < length; i++) text += i === 0 ? write(start + i) : `, ${write(start + i)}`;
    return `${text}]`;
  }
  let stride = 1;
  for (let d = depth + 1; d < shape.length; d++) stride *= shape[d];
  for (let i = 0; i < length; i++) {
    const item = levelText(write, shape, depth + 1, start + i * stride);
    text += i === 0 ? item : `, ${item}`;
  }
  return `${text}]`;
}
