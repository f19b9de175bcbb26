import { Tensor, TensorSpec } from '../tensor.types';

export type RuntimeKind = 'onnx' | 'scoring-server';

/** What a runtime that delegates answers: the upstream's own answer, and tensors read from it. */
export interface RuntimeAnswer {
  outputs: Tensor[];
  raw: unknown;
}

/** A loaded model that can predict. One instance per loaded model version. */
export interface ModelRuntime {
  readonly kind: RuntimeKind;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs the model on feeds that already match `inputs` (names, datatypes, ranks). */
  predict(
    feeds: readonly Tensor[],
    outputNames?: readonly string[],
  ): Promise<Tensor[] | RuntimeAnswer>;
  /** Frees native memory; called once no request uses the model any more. */
  dispose(): Promise<void>;
}
