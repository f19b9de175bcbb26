import { fromFloat16Bits } from '../binding/float16';
import { InvalidInputError } from '../inference.error';
import { Tensor } from '../../models/tensor.types';

/**
 * The classification extension (Triton `docs/protocol/extension_classification.md`):
 * an output of scores answered as its top k classes, each a BYTES string
 * `"<score>:<index>"` — `"<score>:<index>:<label>"` when the model has labels —
 * best first. A rank-1 output [c] is one row of c scores, answered [k]; a
 * rank-2 output [n, c] is n rows, answered [n, k]. k larger than c answers
 * all c classes, as Triton does.
 */

/** Scores the extension can rank: probabilities and logits. */
const SCORES = new Set(['FP16', 'FP32', 'FP64']);

/**
 * The top `k` classes of `tensor` per row.
 * @param labels class names by index, when the model has them.
 * @throws InvalidInputError when the output does not hold scores.
 */
export function classify(tensor: Tensor, k: number, labels?: readonly string[]): Tensor {
  const { name, datatype, shape } = tensor;
  if (!SCORES.has(datatype)) {
    throw new InvalidInputError(
      `output '${name}' is ${datatype}: classification ranks scores (FP16, FP32 or FP64)`,
      name,
    );
  }
  if (shape.length !== 1 && shape.length !== 2) {
    throw new InvalidInputError(
      `output '${name}' has shape [${shape.join(', ')}]: classification ranks [classes] or [rows, classes]`,
      name,
    );
  }
  const classes = shape[shape.length - 1];
  const rows = shape.length === 2 ? shape[0] : 1;
  const top = Math.min(k, classes);
  const scores = scoresOf(tensor);
  const data: string[] = [];
  for (let row = 0; row < rows; row++) {
    const start = row * classes;
    const order = Array.from({ length: classes }, (_, i) => i);
    // Stable: equal scores keep the lower index first.
    order.sort((a, b) => scores[start + b] - scores[start + a] || a - b);
    for (const index of order.slice(0, top)) {
      data.push(entry(scores[start + index], index, labels?.[index]));
    }
  }
  return {
    name,
    datatype: 'BYTES',
    shape: shape.length === 2 ? [rows, top] : [top],
    data,
  };
}

/** Triton's form: the score as C++ `std::to_string` prints a float (six decimals). */
function entry(score: number, index: number, label: string | undefined): string {
  const text = `${score.toFixed(6)}:${index}`;
  return label === undefined ? text : `${text}:${label}`;
}

function scoresOf(tensor: Tensor): ArrayLike<number> {
  const { data, datatype } = tensor;
  if (datatype === 'FP16' && data instanceof Uint16Array) return Array.from(data, fromFloat16Bits);
  return data as ArrayLike<number>;
}
