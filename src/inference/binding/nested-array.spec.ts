import {
  ArraySink,
  elementCount,
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
