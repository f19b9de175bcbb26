/**
 * Nested JSON lists as tensors: `[[1, 2], [3, 4]]` is shape [2, 2] holding
 * 1, 2, 3, 4 in row-major order (numpy's C order, as MLflow and the Open
 * Inference Protocol read them).
 */

/** Where flattened values go: a tensor writer, or a plain array. */
export interface ValueSink {
  set(index: number, value: unknown): boolean;
  /**
   * Where a number may be stored as is, without a call to {@link set}: a
   * float tensor's array. Other values still go through `set`.
   */
  readonly numbers?: Float32Array | Float64Array;
}

export type FlattenFailure =
  /** A list where a value was expected, a value where a list was, or a list of the wrong length. */
  | { kind: 'ragged'; path: number[]; message: string }
  /** The sink refused a value. */
  | { kind: 'rejected'; index: number; value: unknown };

/**
 * The shape nested lists claim, read down their first elements (a scalar is
 * shape []). {@link flattenNested} then checks every list agrees.
 */
export function nestedShape(data: unknown): number[] {
  const shape: number[] = [];
  let node = data;
  while (Array.isArray(node)) {
    shape.push(node.length);
    if (node.length === 0) break;
    node = node[0];
  }
  return shape;
}

/** The number of elements of a shape (1 for a scalar); inexact above 2^53, see {@link claimedCount}. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  return count;
}

/**
 * The exact number of elements a shape claims, however large (a claim of
 * [1000, 1000, 1000, 1000] is 10^12, and a few more dimensions overflow
 * doubles): for comparing a claim with the data before allocating anything.
 */
export function claimedCount(shape: readonly number[]): bigint {
  let count = 1n;
  for (const d of shape) count *= BigInt(d);
  return count;
}

/**
 * Hands every leaf of `data` to `sink`, row-major, checking the nesting matches
 * `shape` exactly. Returns the first failure, or undefined. Iterative: depth
 * costs no stack.
 */
export function flattenNested(
  data: unknown,
  shape: readonly number[],
  sink: ValueSink,
): FlattenFailure | undefined {
  return walk(data, shape, sink);
}

/**
 * Checks that `data` nests exactly as `shape` says, without allocating
 * anything for its values: callers check this before they allocate
 * product(shape) elements, so a claim the data does not back costs nothing.
 * Returns the first failure, or undefined.
 */
export function checkNested(data: unknown, shape: readonly number[]): FlattenFailure | undefined {
  return walk(data, shape, undefined);
}

function walk(
  data: unknown,
  shape: readonly number[],
  sink: ValueSink | undefined,
): FlattenFailure | undefined {
  const rank = shape.length;
  if (rank === 2) return walkRows(data, shape[0], shape[1], sink);
  if (rank === 0) {
    if (Array.isArray(data)) return ragged([], 'expected a value, got a list');
    if (sink && !sink.set(0, data)) return { kind: 'rejected', index: 0, value: data };
    return undefined;
  }
  if (!Array.isArray(data)) return ragged([], `expected a list of ${shape[0]}, got a value`);
  if (data.length !== shape[0]) {
    return ragged([], `expected a list of ${shape[0]}, got ${data.length}`);
  }
  /** The list open at each depth, and the index read next in it. */
  const lists = new Array<unknown[]>(rank);
  const path = new Array<number>(rank).fill(0);
  lists[0] = data;
  let depth = 0;
  let next = 0;
  while (depth >= 0) {
    const i = path[depth];
    if (i >= shape[depth]) {
      depth--;
      if (depth >= 0) path[depth]++;
      continue;
    }
    const child: unknown = lists[depth][i];
    if (depth === rank - 1) {
      if (Array.isArray(child)) return ragged(path.slice(0, rank), 'expected a value, got a list');
      if (sink && !sink.set(next, child)) return { kind: 'rejected', index: next, value: child };
      next++;
      path[depth]++;
      continue;
    }
    const length = shape[depth + 1];
    if (!Array.isArray(child)) {
      return ragged(path.slice(0, depth + 1), `expected a list of ${length}, got a value`);
    }
    if (child.length !== length) {
      return ragged(path.slice(0, depth + 1), `expected a list of ${length}, got ${child.length}`);
    }
    depth++;
    lists[depth] = child;
    path[depth] = 0;
  }
  return undefined;
}

/**
 * {@link walk} for rank 2, the rows of a matrix (most requests): the same
 * checks, failures and order, in two plain loops. A profile of 100 forest
 * rows spent 10% of its time in the general walk (issue 15, point 3).
 */
function walkRows(
  data: unknown,
  rows: number,
  width: number,
  sink: ValueSink | undefined,
): FlattenFailure | undefined {
  if (!Array.isArray(data)) return ragged([], `expected a list of ${rows}, got a value`);
  if (data.length !== rows) return ragged([], `expected a list of ${rows}, got ${data.length}`);
  const numbers = sink?.numbers;
  let next = 0;
  for (let r = 0; r < rows; r++) {
    const row: unknown = data[r];
    if (!Array.isArray(row)) return ragged([r], `expected a list of ${width}, got a value`);
    if (row.length !== width) return ragged([r], `expected a list of ${width}, got ${row.length}`);
    for (let c = 0; c < width; c++, next++) {
      const value: unknown = row[c];
      if (numbers !== undefined && typeof value === 'number') {
        numbers[next] = value;
        continue;
      }
      if (Array.isArray(value)) return ragged([r, c], 'expected a value, got a list');
      if (sink && !sink.set(next, value)) return { kind: 'rejected', index: next, value };
    }
  }
  return undefined;
}

function ragged(path: number[], message: string): FlattenFailure {
  return { kind: 'ragged', path, message };
}

/**
 * The values of `data` that are not lists, at any depth, counted without
 * recursion: how many elements a request of nested lists carries, linear in
 * its size. Nesting deeper than `maxDepth` lists is reported as -1.
 */
export function leafCount(data: unknown, maxDepth: number): number {
  if (!Array.isArray(data)) return 1;
  let count = 0;
  const open: unknown[][] = [data];
  const depths: number[] = [1];
  while (open.length > 0) {
    const list = open.pop() as unknown[];
    const depth = depths.pop() as number;
    if (depth > maxDepth) return -1;
    for (const item of list) {
      if (Array.isArray(item)) {
        open.push(item);
        depths.push(depth + 1);
      } else {
        count++;
      }
    }
  }
  return count;
}

/** `[1][0]` for a path, `` for the top. */
export function formatPath(path: readonly number[]): string {
  return path.map((i) => `[${i}]`).join('');
}

/** The multi-index of a row-major flat index: 5 in shape [2, 3] → [1, 2]. */
export function indexAt(flat: number, shape: readonly number[]): number[] {
  const index = new Array<number>(shape.length).fill(0);
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d] || 1;
    index[d] = rest % size;
    rest = Math.floor(rest / size);
  }
  return index;
}

/** A sink that keeps every value, in a preallocated plain array. */
export class ArraySink implements ValueSink {
  readonly values: unknown[];

  constructor(length: number) {
    this.values = new Array<unknown>(length);
  }

  set(index: number, value: unknown): boolean {
    this.values[index] = value;
    return true;
  }
}
