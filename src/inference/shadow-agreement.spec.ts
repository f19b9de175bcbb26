import { Tensor } from '../models/tensor.types';
import { toFloat16Bits } from './binding/float16';
import { agreementOf } from './shadow-agreement';

const labels = (...v: number[]): Tensor => ({
  name: 'label',
  datatype: 'INT64',
  shape: [v.length],
  data: BigInt64Array.from(v.map(BigInt)),
});
const scores = (...v: number[]): Tensor => ({
  name: 'probabilities',
  datatype: 'FP64',
  shape: [v.length],
  data: Float64Array.from(v),
});

describe('agreementOf', () => {
  it('finds equal labels and the largest score difference of a classifier’s pair', () => {
    expect(
      agreementOf([labels(0, 2), scores(0.2, 0.9)], [labels(0, 2), scores(0.25, 0.6)]),
    ).toEqual({
      labelsEqual: true,
      scoreDifference: expect.closeTo(0.3, 10) as number,
    });
  });

  it('finds unequal labels when one differs, or when the challenger lacks the output', () => {
    expect(agreementOf([labels(0, 2)], [labels(0, 1)]).labelsEqual).toBe(false);
    expect(agreementOf([labels(0, 2)], [scores(0, 2)]).labelsEqual).toBe(false);
  });

  it('says nothing of labels for a regressor, nor of scores for a model of labels only', () => {
    expect(agreementOf([scores(1.5)], [scores(1)])).toEqual({
      labelsEqual: undefined,
      scoreDifference: 0.5,
    });
    expect(agreementOf([labels(1)], [labels(1)])).toEqual({
      labelsEqual: true,
      scoreDifference: undefined,
    });
  });

  it('leaves scores of another shape out of the difference', () => {
    expect(agreementOf([scores(0.1, 0.9)], [scores(0.1)]).scoreDifference).toBeUndefined();
  });

  it('reads FP16 outputs from their bits', () => {
    const half = (v: number): Tensor => ({
      name: 'p',
      datatype: 'FP16',
      shape: [1],
      data: Uint16Array.from([toFloat16Bits(v)]),
    });

    expect(agreementOf([half(0.5)], [half(0.25)]).scoreDifference).toBe(0.25);
  });

  it('counts NaN on one side only as the farthest apart', () => {
    expect(agreementOf([scores(NaN)], [scores(1)]).scoreDifference).toBe(Infinity);
    expect(agreementOf([scores(NaN)], [scores(NaN)]).scoreDifference).toBe(0);
  });
});
