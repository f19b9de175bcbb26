import { RuntimeAnswer } from '../../models/runtimes/model-runtime';
import { Tensor } from '../../models/tensor.types';
import { splitAnswer, stackFeeds, stackKeyOf, UnsplittableAnswerError } from './stacking';

const x = (rows: number[][]): Tensor => ({
  name: 'x',
  datatype: 'FP32',
  shape: [rows.length, rows[0].length],
  data: Float32Array.from(rows.flat()),
});

describe('stacking', () => {
  describe(stackKeyOf.name, () => {
    it('is equal for requests that differ only in their rows', () => {
      expect(stackKeyOf([x([[1, 2]])], {})).toBe(
        stackKeyOf(
          [
            x([
              [3, 4],
              [5, 6],
            ]),
          ],
          {},
        ),
      );
    });

    it.each([
      ['another dimension', [x([[1, 2, 3]])], {}],
      ['another datatype', [{ ...x([[1, 2]]), datatype: 'FP64', data: Float64Array.of(1, 2) }], {}],
      ['another layout', [{ ...x([[1, 2]]), data: [1, 2] }], {}],
      ['other outputs', [x([[1, 2]])], { outputs: ['label'] }],
      ['other params', [x([[1, 2]])], { params: { threshold: 0.3 } }],
    ] as const)('differs for %s', (_, feeds, options) => {
      expect(stackKeyOf([...feeds] as Tensor[], options)).not.toBe(stackKeyOf([x([[1, 2]])], {}));
    });

    it('is undefined for a scalar input or inputs of different row counts (never stacked)', () => {
      const scalar: Tensor = { name: 's', datatype: 'FP32', shape: [], data: Float32Array.of(1) };
      const y: Tensor = {
        name: 'y',
        datatype: 'INT64',
        shape: [2],
        data: BigInt64Array.of(1n, 2n),
      };
      expect(stackKeyOf([scalar], {})).toBeUndefined();
      expect(stackKeyOf([x([[1, 2]]), y], {})).toBeUndefined();
    });
  });

  describe(stackFeeds.name, () => {
    it('concatenates every input along its first dimension, in order', () => {
      const names = (v: string[]): Tensor => ({
        name: 'n',
        datatype: 'BYTES',
        shape: [v.length],
        data: v,
      });

      const [stacked, text] = stackFeeds([
        [x([[1, 2]]), names(['a'])],
        [
          x([
            [3, 4],
            [5, 6],
          ]),
          names(['b', 'c']),
        ],
      ]);

      expect(stacked.shape).toEqual([3, 2]);
      expect(stacked.data).toEqual(Float32Array.of(1, 2, 3, 4, 5, 6));
      expect(text).toEqual({ name: 'n', datatype: 'BYTES', shape: [3], data: ['a', 'b', 'c'] });
    });
  });

  describe(splitAnswer.name, () => {
    const answer: RuntimeAnswer = {
      outputs: [
        { name: 'label', datatype: 'INT64', shape: [3], data: BigInt64Array.of(0n, 1n, 2n) },
        { name: 'p', datatype: 'FP32', shape: [3, 2], data: Float32Array.of(1, 2, 3, 4, 5, 6) },
      ],
      extras: { mlflowForm: 'list' },
    };

    it("gives each request its rows of every output, and the answer's form", () => {
      const [first, second] = splitAnswer(answer, [1, 2]);

      expect(first.outputs.map((o) => [o.shape, Array.from(o.data as ArrayLike<unknown>)])).toEqual(
        [
          [[1], [0n]],
          [
            [1, 2],
            [1, 2],
          ],
        ],
      );
      expect(
        second.outputs.map((o) => [o.shape, Array.from(o.data as ArrayLike<unknown>)]),
      ).toEqual([
        [[2], [1n, 2n]],
        [
          [2, 2],
          [3, 4, 5, 6],
        ],
      ]);
      expect(second.extras).toEqual({ mlflowForm: 'list' });
    });

    it('refuses an output whose first dimension is not the rows (the model is not row-wise)', () => {
      expect(() => splitAnswer(answer, [1, 1])).toThrow(UnsplittableAnswerError);
      expect(() => splitAnswer(answer, [1, 1])).toThrow(
        /output 'label' has shape \[3\] for 2 rows/,
      );
    });

    it("refuses a scoring server's own predictions, which rows do not split", () => {
      const delegated = { ...answer, extras: { mlflowPredictions: [0, 1, 2] } };
      expect(() => splitAnswer(delegated, [1, 2])).toThrow(UnsplittableAnswerError);
    });
  });
});
