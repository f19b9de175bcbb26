import { toFloat16Bits } from '../binding/float16';
import { InvalidInputError } from '../inference.error';
import { Tensor } from '../../models/tensor.types';
import { classify } from './classification';

const scores = (shape: number[], data: number[]): Tensor => ({
  name: 'probabilities',
  datatype: 'FP32',
  shape,
  data: Float32Array.from(data),
});

describe('classify', () => {
  it('answers the top k classes of each row, best first, as Triton writes them', () => {
    const sut = classify(scores([2, 3], [0.1, 0.7, 0.2, 0.5, 0.25, 0.25]), 2);

    expect(sut).toEqual({
      name: 'probabilities',
      datatype: 'BYTES',
      shape: [2, 2],
      data: ['0.700000:1', '0.200000:2', '0.500000:0', '0.250000:1'],
    });
  });

  it('answers one row of classes for a rank-1 output, with labels when the model has them', () => {
    const sut = classify(scores([3], [0.5, 0.25, 0.25]), 1, ['setosa', 'versicolor', 'virginica']);

    expect(sut).toMatchObject({ shape: [1], data: ['0.500000:0:setosa'] });
  });

  it('answers every class when k is larger than the class count', () => {
    const sut = classify(scores([1, 2], [0.25, 0.75]), 5);

    expect(sut).toMatchObject({ shape: [1, 2], data: ['0.750000:1', '0.250000:0'] });
  });

  it('ranks half-precision scores', () => {
    const half: Tensor = {
      name: 'p',
      datatype: 'FP16',
      shape: [2],
      data: Uint16Array.from([toFloat16Bits(0.25), toFloat16Bits(0.75)]),
    };

    expect(classify(half, 1).data).toEqual(['0.750000:1']);
  });

  it('refuses an output that does not hold scores, naming it', () => {
    const labels: Tensor = { name: 'label', datatype: 'INT64', shape: [2], data: [0, 2] };

    expect(() => classify(labels, 1)).toThrow(
      new InvalidInputError(
        "output 'label' is INT64: classification ranks scores (FP16, FP32 or FP64)",
      ),
    );
  });

  it('refuses an output of another rank than [classes] or [rows, classes]', () => {
    expect(() => classify(scores([1, 1, 2], [0.5, 0.5]), 1)).toThrow(
      "output 'probabilities' has shape [1, 1, 2]: classification ranks [classes] or [rows, classes]",
    );
  });
});
