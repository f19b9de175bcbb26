import { Tensor, TensorSpec } from '../../inference/tensor.types';

export type RuntimeKind = 'onnx';

/** A loaded model that can predict. One instance per loaded model version. */
export interface ModelRuntime {
  readonly kind: RuntimeKind;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs the model on feeds that already match `inputs` (names, datatypes, ranks). */
  predict(feeds: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]>;
  /** Frees native memory; called once no request uses the model any more. */
  dispose(): Promise<void>;
}
