/**
 * Seeded random inputs for the decoder fuzz specs: the same seed gives the
 * same cases, so a failure names a case that can be replayed.
 */

/** mulberry32: a small, fast, well-distributed 32-bit PRNG (Tommy Ettinger's constants). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Fuzzer {
  private readonly next: () => number;

  constructor(seed: number) {
    this.next = prng(seed);
  }

  int(max: number): number {
    return Math.floor(this.next() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A scalar of any JSON kind, and some JavaScript ones JSON has not. */
  scalar(): unknown {
    return this.pick<() => unknown>([
      () => this.int(1000) - 500,
      () => this.next() * 1e6,
      () => this.pick([NaN, Infinity, -Infinity, 2 ** 53 + 1, -0, 1e308]),
      () => this.pick(['', 'x', '1', 'NaN', '__proto__', 'constructor', '0'.repeat(50)]),
      () => this.chance(0.5),
      () => null,
      () => undefined,
    ])();
  }

  /** A key, now and then one that could poison a prototype. */
  key(): string {
    return this.chance(0.1)
      ? this.pick(['__proto__', 'constructor', 'prototype'])
      : this.pick(['a', 'b', 'name', 'shape', 'data', 'datatype', 'columns', `k${this.int(50)}`]);
  }

  /** A random JSON-ish value of bounded size; depth is made iteratively by {@link deep}. */
  value(budget = 6): unknown {
    if (budget <= 0 || this.chance(0.35)) return this.scalar();
    if (this.chance(0.5)) {
      return Array.from({ length: this.int(5) }, () => this.value(budget - 1));
    }
    const object: Record<string, unknown> = {};
    for (let i = this.int(4); i > 0; i--) {
      Object.defineProperty(object, this.key(), {
        value: this.value(budget - 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return object;
  }

  /** A regular nested list of numbers of a random shape (rank ≤ 4, ≤ 256 values). */
  tensor(): { shape: number[]; data: unknown } {
    const rank = this.int(4) + 1;
    const shape = Array.from({ length: rank }, () => this.int(4) + 1);
    let data: unknown = 0;
    for (let d = rank - 1; d >= 0; d--) {
      const inner = data;
      data = Array.from({ length: shape[d] }, () =>
        Array.isArray(inner) ? structuredClone(inner) : this.int(10),
      );
    }
    return { shape, data };
  }

  /** A shape claim: small, large, huge, negative or not whole. */
  shape(): unknown {
    return this.pick<() => unknown>([
      () => Array.from({ length: this.int(4) + 1 }, () => this.int(5)),
      () => [1000, 1000, 1000, 1000],
      () => [2 ** 31, 2 ** 31, 2 ** 31],
      () => [1e300, 1e300],
      () => [-1, 4],
      () => [1.5],
      () => 'x',
      () => [],
    ])();
  }
}

/** `depth` lists, one in the other, around `leaf`: built without recursion. */
export function deep(depth: number, leaf: unknown = 1): unknown {
  let node: unknown = leaf;
  for (let i = 0; i < depth; i++) node = [node];
  return node;
}

/** Values that are neither lists nor objects, at any depth, counted without recursion. */
export function countLeaves(value: unknown): number {
  let count = 0;
  const open: unknown[] = [value];
  while (open.length > 0) {
    const node = open.pop();
    if (Array.isArray(node)) for (const item of node as unknown[]) open.push(item);
    else if (node !== null && typeof node === 'object')
      for (const item of Object.values(node)) open.push(item);
    else count++;
  }
  return count;
}

/** Values a decoded input holds: a table's cells, or every tensor's leaves. */
export function decodedElements(
  input:
    | { kind: 'table'; columns: string[]; rows: unknown[][] }
    | { kind: 'tensors'; tensors: { data: unknown }[] },
): number {
  if (input.kind === 'table') return input.rows.length * input.columns.length;
  return input.tensors.reduce((sum, t) => sum + countLeaves(t.data), 0);
}

/**
 * Runs `decode` on case `n` and returns what it decoded, or undefined when it
 * refused the input with one of the `expected` errors; any other exception
 * fails, naming the case.
 */
export function decodeOrRefuse<T>(
  n: number,
  decode: () => T,
  expected: readonly (new (...args: never[]) => Error)[],
): T | undefined {
  try {
    return decode();
  } catch (error) {
    if (expected.some((cls) => error instanceof cls)) return undefined;
    throw new Error(`case ${n}: ${error instanceof Error ? error.stack : String(error)}`);
  }
}
