/**
 * Nested JSON lists as tensors: `[[1, 2], [3, 4]]` is shape [2, 2] holding
 * 1, 2, 3, 4 in row-major order (numpy's C order, as MLflow and the Open
 * Inference Protocol read them).
 */

/** Where flattened values go: a tensor writer, or a plain array. */
export interface ValueSink {
  set(index: number, value: unknown): boolean;
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

/** The number of elements of a shape (1 for a scalar). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const d of shape) count *= d;
  return count;
}

/**
 * Hands every leaf of `data` to `sink`, row-major, checking the nesting matches
 * `shape` exactly. Returns the first failure, or undefined.
 */
export function flattenNested(
  data: unknown,
  shape: readonly number[],
  sink: ValueSink,
): FlattenFailure | undefined {
  if (shape.length === 0) {
    if (Array.isArray(data)) return ragged([], 'expected a value, got a list');
    return sink.set(0, data) ? undefined : { kind: 'rejected', index: 0, value: data };
  }
  const walker = new Walker(shape, sink);
  walker.walk(data, 0);
  return walker.failure;
}

class Walker {
  failure?: FlattenFailure;
  private next = 0;
  private readonly path: number[];

  constructor(
    private readonly shape: readonly number[],
    private readonly sink: ValueSink,
  ) {
    this.path = new Array<number>(shape.length).fill(0);
  }

  walk(node: unknown, depth: number): void {
    const length = this.shape[depth];
    if (!Array.isArray(node)) {
      this.fail(depth, `expected a list of ${length}, got a value`);
      return;
    }
    if (node.length !== length) {
      this.fail(depth, `expected a list of ${length}, got ${node.length}`);
      return;
    }
    const leaves = depth === this.shape.length - 1;
    for (let i = 0; i < length && !this.failure; i++) {
      this.path[depth] = i;
      const child: unknown = node[i];
      if (!leaves) {
        this.walk(child, depth + 1);
      } else if (Array.isArray(child)) {
        this.fail(depth + 1, 'expected a value, got a list');
      } else if (!this.sink.set(this.next, child)) {
        this.failure = { kind: 'rejected', index: this.next, value: child };
      } else {
        this.next++;
      }
    }
  }

  private fail(depth: number, message: string): void {
    this.failure = ragged(this.path.slice(0, depth), message);
  }
}

function ragged(path: number[], message: string): FlattenFailure {
  return { kind: 'ragged', path, message };
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
