/**
 * Stacking requests along their first dimension into one runtime call, and
 * splitting the answer back by row counts. Pure functions over tensors: the
 * batcher decides who is stacked, these say whether they can be and do it.
 */
import { PredictOptions, RuntimeAnswer } from '../../models/runtimes/model-runtime';
import { Tensor, TensorData } from '../../models/tensor.types';

type TypedArray = Exclude<TensorData, readonly unknown[]>;
type TypedArrayConstructor = new (length: number) => TypedArray;

/**
 * What requests must share to be stacked: the same inputs (names, datatypes,
 * every dimension but the first, the same data layout), the same outputs
 * asked for and the same params. Undefined for a request that is never
 * stacked: a scalar input, inputs of different row counts, params that are
 * not plain JSON.
 */
export function stackKeyOf(feeds: readonly Tensor[], options: PredictOptions): string | undefined {
  if (feeds.length === 0) return undefined;
  const rows = feeds[0].shape[0];
  const parts: string[] = [];
  for (const feed of feeds) {
    if (feed.shape.length === 0 || feed.shape[0] !== rows) return undefined;
    // The layout too: the binder and the binary codec may give one datatype as different arrays.
    const layout = Array.isArray(feed.data) ? 'array' : feed.data.constructor.name;
    parts.push(`${feed.name}:${feed.datatype}:${layout}:${feed.shape.slice(1).join('x')}`);
  }
  let params: string;
  try {
    params = JSON.stringify(options.params ?? null);
  } catch {
    return undefined;
  }
  return `${parts.join('|')}#${options.outputs?.join(',') ?? '*'}#${params}`;
}

/** Rows of one request: its first dimension (the binder gives every input the same). */
export function rowsOf(feeds: readonly Tensor[]): number {
  return feeds[0]?.shape[0] ?? 0;
}

/**
 * The feeds of several requests with one stack key as one set of feeds: each
 * input's data concatenated in order, its first dimension the sum of theirs.
 */
export function stackFeeds(requests: readonly (readonly Tensor[])[]): Tensor[] {
  const [first] = requests;
  return first.map((feed, input) => {
    const parts = requests.map((feeds) => feeds[input]);
    const rows = parts.reduce((sum, part) => sum + part.shape[0], 0);
    return {
      name: feed.name,
      datatype: feed.datatype,
      shape: [rows, ...feed.shape.slice(1)],
      data: concat(parts.map((part) => part.data)),
    };
  });
}

/** An answer that cannot be split by rows: the model is not row-wise (see splitAnswer). */
export class UnsplittableAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = UnsplittableAnswerError.name;
  }
}

/**
 * One stacked answer as the answers of its requests, in their order: every
 * output's first dimension must be the total of the rows, and each request
 * gets its rows (views of typed arrays, not copies).
 * @throws UnsplittableAnswerError when an output has no such dimension, or the
 *   answer carries a scoring server's predictions (a whole-answer value).
 */
export function splitAnswer(answer: RuntimeAnswer, rowCounts: readonly number[]): RuntimeAnswer[] {
  const total = rowCounts.reduce((a, b) => a + b, 0);
  if (answer.extras?.mlflowPredictions !== undefined) {
    throw new UnsplittableAnswerError(
      "the answer carries a scoring server's own predictions, which rows do not split",
    );
  }
  for (const output of answer.outputs) {
    if (output.shape[0] !== total) {
      throw new UnsplittableAnswerError(
        `output '${output.name}' has shape [${output.shape.join(', ')}] for ${total} rows: its first dimension is not the batch`,
      );
    }
  }
  // The form (`list`, `records`…) is the model's, the same for every part.
  const form = answer.extras?.mlflowForm;
  const answers: RuntimeAnswer[] = rowCounts.map(() =>
    form ? { outputs: [], extras: { mlflowForm: form } } : { outputs: [] },
  );
  for (const output of answer.outputs) {
    const rest = output.shape.slice(1);
    const width = rest.reduce((a, b) => a * b, 1);
    let row = 0;
    rowCounts.forEach((rows, i) => {
      answers[i].outputs.push({
        name: output.name,
        datatype: output.datatype,
        shape: [rows, ...rest],
        data: slice(output.data, row * width, (row + rows) * width),
      });
      row += rows;
    });
  }
  return answers;
}

function concat(parts: readonly TensorData[]): TensorData {
  const [first] = parts;
  if (Array.isArray(first)) {
    return (parts as readonly (readonly unknown[])[]).flat() as TensorData;
  }
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new ((first as TypedArray).constructor as TypedArrayConstructor)(length);
  let offset = 0;
  for (const part of parts as readonly TypedArray[]) {
    // The stack key holds the layout, so every part is an array of this kind.
    (out as unknown as { set(a: TypedArray, o: number): void }).set(part, offset);
    offset += part.length;
  }
  return out;
}

function slice(data: TensorData, start: number, end: number): TensorData {
  if (Array.isArray(data)) return (data as readonly unknown[]).slice(start, end) as TensorData;
  return (data as TypedArray).subarray(start, end);
}
