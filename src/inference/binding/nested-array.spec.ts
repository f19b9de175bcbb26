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
