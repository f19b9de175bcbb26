import { TensorSpec } from '../../models/tensor.types';
import { batchPolicyOf, BatchCandidate } from './batch-policy';

const config = (models: Record<string, { maxRows: number; maxDelayMs?: number }> = {}) => ({
  admission: { maxConcurrent: 4, maxQueued: 64 },
  batching: { maxRows: 256, maxDelayMs: 2, maxQueued: 128, models },
});

const model = (
  inputs: TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }],
  kind: BatchCandidate['runtime']['kind'] = 'onnx',
): BatchCandidate => ({ name: 'iris', runtime: { kind, inputs } });

describe(batchPolicyOf.name, () => {
  it('batches an ONNX model whose inputs all have a variable first dimension, with the defaults', () => {
    expect(batchPolicyOf(model(), config())).toEqual({
      enabled: true,
      maxRows: 256,
      maxDelayMs: 2,
      maxConcurrent: 4,
      maxQueued: 128,
    });
  });

  it("takes the model's MODEL_BATCH entry over the defaults", () => {
    expect(batchPolicyOf(model(), config({ iris: { maxRows: 32, maxDelayMs: 9 } }))).toMatchObject({
      enabled: true,
      maxRows: 32,
      maxDelayMs: 9,
    });
    expect(batchPolicyOf(model(), config({ iris: { maxRows: 32 } }))).toMatchObject({
      maxDelayMs: 2,
    });
  });

  it('is off, saying why, for size 0, a fixed first dimension, or another runtime', () => {
    expect(batchPolicyOf(model(), config({ iris: { maxRows: 0 } }))).toEqual({
      enabled: false,
      reason: 'MODEL_BATCH sets iris:0',
    });
    const fixed = model([
      { name: 'x', datatype: 'FP32', shape: [-1, 4] },
      { name: 'mask', datatype: 'BOOL', shape: [1, 4] },
    ]);
    expect(batchPolicyOf(fixed, config())).toEqual({
      enabled: false,
      reason: "input 'mask' has no variable first dimension (shape [1, 4])",
    });
    expect(batchPolicyOf(model(undefined, 'pyfunc'), config())).toEqual({
      enabled: false,
      reason: 'the pyfunc runtime is not batched',
    });
  });
});
