import { tensorsOf } from './scoring-server.runtime';

describe('tensorsOf (a scoring server’s predictions as tensors)', () => {
  it('reads a list of integers as one INT64 tensor', () => {
    expect(tensorsOf([0, 2])).toEqual([
      { name: 'predictions', datatype: 'INT64', shape: [2], data: BigInt64Array.from([0n, 2n]) },
    ]);
  });

  it('reads a list of lists of floats as an FP64 matrix', () => {
    expect(
      tensorsOf([
        [0.5, 0.5],
        [0.1, 0.9],
      ]),
    ).toEqual([
      {
        name: 'predictions',
        datatype: 'FP64',
        shape: [2, 2],
        data: Float64Array.from([0.5, 0.5, 0.1, 0.9]),
      },
    ]);
  });

  it('reads records as one tensor per field', () => {
    const tensors = tensorsOf([
      { label: 'setosa', score: 0.9 },
      { label: 'virginica', score: 0.8 },
    ]);

    expect(tensors).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [2], data: ['setosa', 'virginica'] },
      { name: 'score', datatype: 'FP64', shape: [2], data: Float64Array.from([0.9, 0.8]) },
    ]);
  });

  it('reads a dict of lists as one tensor per key', () => {
    expect(tensorsOf({ flags: [true, false] })).toEqual([
      { name: 'flags', datatype: 'BOOL', shape: [2], data: [true, false] },
    ]);
  });
});
