import { Tensor } from '../models/tensor.types';
import { fromFloat16Bits } from './binding/float16';

const SCORES = new Set(['FP16', 'FP32', 'FP64']);

/** How far a challenger's answer is from the champion's, for the same request. */
export interface Agreement {
  /** Every output that is a label (not floating point: classes, strings, booleans) equal; absent when there is none. */
  labelsEqual?: boolean;
  /** The largest |champion − challenger| over the floating-point outputs; absent when there is none to compare. */
  scoreDifference?: number;
}

/**
 * Compares the outputs two versions gave for one request, output by output
 * (by name). An output one side lacks, or of another shape, makes the labels
 * unequal when it is a label, and is left out of the score difference when
 * it is a score (a difference between unlike tensors means nothing).
 */
export function agreementOf(champion: readonly Tensor[], challenger: readonly Tensor[]): Agreement {
  const theirs = new Map(challenger.map((t) => [t.name, t]));
  let labels: boolean | undefined;
  let difference: number | undefined;
  for (const mine of champion) {
    const other = theirs.get(mine.name);
    const sameShape = other !== undefined && sameDims(mine.shape, other.shape);
    if (!SCORES.has(mine.datatype)) {
      labels = (labels ?? true) && sameShape && sameValues(mine, other);
      continue;
    }
    if (!sameShape || !SCORES.has(other.datatype)) continue;
    const a = numbersOf(mine);
    const b = numbersOf(other);
    let most = difference ?? 0;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      // NaN on one side only is as far apart as two answers get.
      most = Math.max(
        most,
        Number.isNaN(d) ? (Number.isNaN(a[i]) && Number.isNaN(b[i]) ? 0 : Infinity) : d,
      );
    }
    difference = most;
  }
  return { labelsEqual: labels, scoreDifference: difference };
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function sameValues(a: Tensor, b: Tensor | undefined): boolean {
  if (!b || a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) {
    if (String(a.data[i]) !== String(b.data[i])) return false;
  }
  return true;
}

function numbersOf(t: Tensor): ArrayLike<number> {
  // onnxruntime gives FP16 as its bits (Node 20 has no Float16Array); a decoded answer gives numbers.
  if (t.datatype === 'FP16' && t.data instanceof Uint16Array) {
    return Array.from(t.data, (bits) => fromFloat16Bits(bits));
  }
  return t.data as ArrayLike<number>;
}
