import { ModelSignature } from '../model-signature.types';
import { answerTypes, tensorsOf } from './scoring-server.runtime';

/** The output signature sklearn's `infer_signature(X, model.predict(X))` writes: one unnamed int64 tensor. */
const INT64_LABELS = answerTypes([
  { kind: 'tensor', dtype: 'int64', datatype: 'INT64', shape: [-1] },
]);

describe('tensorsOf (a scoring server’s predictions as tensors)', () => {
  it('reads a list of integers as one INT64 tensor', () => {
    expect(tensorsOf([0, 2], INT64_LABELS)).toEqual([
      { name: 'predictions', datatype: 'INT64', shape: [2], data: BigInt64Array.from([0n, 2n]) },
    ]);
  });

  it('takes datatypes from the output signature, not from the values of one answer', () => {
    const types = answerTypes([
      { kind: 'tensor', dtype: 'float64', datatype: 'FP64', shape: [-1] },
    ] satisfies ModelSignature['outputs']);

    const whole = tensorsOf([1, 2], types);
    const fractional = tensorsOf([1.5, 2], types);

    expect(whole[0].datatype).toBe('FP64');
    expect(fractional[0].datatype).toBe('FP64');
  });

  it('reads numbers as FP64 when no signature declares the output, whatever their values', () => {
    expect(tensorsOf([0, 2])).toEqual([
      { name: 'predictions', datatype: 'FP64', shape: [2], data: Float64Array.from([0, 2]) },
    ]);
  });

  it('refuses an answer that does not fit the declared datatype, naming the output', () => {
    expect(() => tensorsOf([0.5, 2], INT64_LABELS)).toThrow(
      "output 'predictions': value 0 (0.5) is not an INT64 value",
    );
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

  it('reads records as one tensor per field, typed by the named column outputs', () => {
    const types = answerTypes([
      { kind: 'column', name: 'label', type: 'string', required: true },
      { kind: 'column', name: 'score', type: 'double', required: true },
    ]);

    const tensors = tensorsOf(
      [
        { label: 'setosa', score: 0.9 },
        { label: 'virginica', score: 0.8 },
      ],
      types,
    );

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
