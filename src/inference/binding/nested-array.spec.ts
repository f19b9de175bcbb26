import {
  ArraySink,
  checkNested,
  claimedCount,
  elementCount,
  leafCount,
  flattenNested,
  formatPath,
  indexAt,
  nestedShape,
} from './nested-array';

describe('nested arrays', () => {
  it('reads the shape down the first elements', () => {
    expect(
      nestedShape([
        [1, 2, 3],
        [4, 5, 6],
      ]),
    ).toEqual([2, 3]);
    expect(nestedShape([])).toEqual([0]);
    expect(nestedShape([[], []])).toEqual([2, 0]);
    expect(nestedShape(7)).toEqual([]);
  });

  it('flattens row-major', () => {
    const sink = new ArraySink(8);

    expect(
      flattenNested(
        [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ],
        [2, 2, 2],
        sink,
      ),
    ).toBeUndefined();
    expect(sink.values).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('flattens a scalar and refuses a list where a scalar was expected', () => {
    const sink = new ArraySink(1);

    expect(flattenNested('x', [], sink)).toBeUndefined();
    expect(sink.values).toEqual(['x']);
    expect(flattenNested([1], [], sink)).toEqual({
      kind: 'ragged',
      path: [],
      message: 'expected a value, got a list',
    });
  });

  it.each([
    [[[1, 2], [3]], { path: [1], message: 'expected a list of 2, got 1' }],
    [[[1, 2], 3], { path: [1], message: 'expected a list of 2, got a value' }],
    [
      [
        [1, [2]],
        [3, 4],
      ],
      { path: [0, 1], message: 'expected a value, got a list' },
    ],
  ])('reports where %j is ragged', (data, failure) => {
    expect(flattenNested(data, nestedShape(data), new ArraySink(4))).toEqual({
      kind: 'ragged',
      ...failure,
    });
  });

  it('reports the value a sink refuses', () => {
    const sink = { set: (_i: number, v: unknown): boolean => typeof v === 'number' };

    expect(flattenNested([[1, 'x']], [1, 2], sink)).toEqual({
      kind: 'rejected',
      index: 1,
      value: 'x',
    });
  });

  it("stores numbers straight into a sink's float array, and hands it the rest", () => {
    const numbers = new Float32Array(4);
    const handed: unknown[] = [];
    const sink = {
      numbers,
      set: (i: number, v: unknown): boolean => (handed.push([i, v]), typeof v === 'bigint'),
    };

    expect(
      flattenNested(
        [
          [1.5, 2n],
          [3, 4],
        ],
        [2, 2],
        sink,
      ),
    ).toBeUndefined();
    expect([...numbers]).toEqual([1.5, 0, 3, 4]);
    expect(handed).toEqual([[1, 2n]]);
    expect(
      flattenNested(
        [
          [1, 2],
          ['x', 4],
        ],
        [2, 2],
        sink,
      ),
    ).toEqual({
      kind: 'rejected',
      index: 2,
      value: 'x',
    });
  });

  it('walks rows as the general walk does one level down', () => {
    let seed = 11;
    const random = (n: number) =>
      Math.floor(((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * n);
    const defects = [(): unknown => 'x', (): unknown => [1], (): unknown => 7, (): unknown => null];
    for (let n = 0; n < 300; n++) {
      const rows = 1 + random(4);
      const width = 1 + random(4);
      const data: unknown[] = Array.from({ length: rows }, () =>
        Array.from({ length: width }, () => random(10)),
      );
      if (random(2) === 0) {
        const r = random(rows);
        const pick = random(3);
        if (pick === 0) data[r] = defects[random(4)]();
        else if (pick === 1) (data[r] as unknown[]).push(1);
        else (data[r] as unknown[])[random(width)] = defects[random(4)]();
      }
      const set = (values: unknown[]) => (i: number, v: unknown) => (
        (values[i] = v),
        typeof v === 'number'
      );
      const asRows: unknown[] = [];
      const general: unknown[] = [];
      const failure = flattenNested(data, [rows, width], { set: set(asRows) });
      const deeper = flattenNested([data], [1, rows, width], { set: set(general) });

      expect(asRows).toEqual(general);
      expect(failure).toEqual(
        deeper?.kind === 'ragged' ? { ...deeper, path: deeper.path.slice(1) } : deeper,
      );
    }
  });

  it('counts elements and turns flat indexes back into positions', () => {
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([])).toBe(1);
    expect(indexAt(5, [2, 3])).toEqual([1, 2]);
    expect(formatPath([1, 0])).toBe('[1][0]');
  });
});

describe('nested arrays, bounded by the data', () => {
  it('counts a claim exactly beyond 2^53', () => {
    expect(claimedCount([1000, 1000, 1000, 1000])).toBe(10n ** 12n);
    expect(claimedCount([2 ** 40, 2 ** 40])).toBe(2n ** 80n);
    expect(claimedCount([])).toBe(1n);
  });

  it('checks the whole nesting without a sink, naming where it breaks', () => {
    expect(checkNested([[1, 2], [3]], [2, 2])).toEqual({
      kind: 'ragged',
      path: [1],
      message: 'expected a list of 2, got 1',
    });
    expect(
      checkNested(
        [
          [1, 2],
          [3, [4]],
        ],
        [2, 2],
      ),
    ).toEqual({
      kind: 'ragged',
      path: [1, 1],
      message: 'expected a value, got a list',
    });
    expect(checkNested([[1, 2], 3], [2, 2])).toMatchObject({ path: [1] });
    expect(
      checkNested(
        [
          [1, 2],
          [3, 4],
        ],
        [2, 2],
      ),
    ).toBeUndefined();
  });

  it('walks 200,000 levels without recursion', () => {
    let data: unknown = 1;
    for (let i = 0; i < 200_000; i++) data = [data];
    const shape = nestedShape(data);
    const sink = new ArraySink(1);

    expect(shape).toHaveLength(200_000);
    expect(flattenNested(data, shape, sink)).toBeUndefined();
    expect(sink.values).toEqual([1]);
  });

  it('counts the values of any nesting, reporting depth past the limit as -1', () => {
    expect(leafCount([1, [2, [3, 4]], []], 8)).toBe(4);
    expect(leafCount(5, 8)).toBe(1);
    expect(leafCount([[[[1]]]], 3)).toBe(-1);
  });
});
