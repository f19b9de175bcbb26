import { fromFloat16Bits } from '../binding/float16';
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
  if (shape.length === 0) return { text: pythonValue(tensor, start), next: start + 1 };
  let next = start;
  let text = '[';
  const [length, ...inner] = shape;
  if (inner.length === 0) {
    for (let i = 0; i < length; i++) {
      text += i === 0 ? pythonValue(tensor, next) : `, ${pythonValue(tensor, next)}`;
      next++;
    }
    return { text: `${text}]`, next };
  }
  for (let i = 0; i < length; i++) {
    const item = pythonNested(tensor, inner, next);
    text += i === 0 ? item.text : `, ${item.text}`;
    next = item.next;
  }
  return { text: `${text}]`, next };
}
