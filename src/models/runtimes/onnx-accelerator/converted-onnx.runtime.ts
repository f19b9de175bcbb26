import { Tensor, TensorSpec } from '../../tensor.types';
import { ModelRuntime, PredictOptions, RuntimeAnswer, RuntimeExtras } from '../model-runtime';
import { OnnxRuntime } from '../onnx.runtime';

/** The model's own `predict` returns an array: MLflow's server writes it as a plain list. */
const AS_LIST: RuntimeExtras = Object.freeze({ mlflowForm: 'list' as const });

/**
 * An sklearn, xgboost or lightgbm model served through its ONNX form
 * (convert.py): onnxruntime in process, answering what MLflow's pyfunc
 * `predict` answers. The graph already gives that output under the
 * signature's name, dtype and shape; what this adds is the answer's form for
 * MLflow-protocol callers: `predict` returns an ndarray, which MLflow writes
 * as a list, not as the records or dict of an ONNX-flavor model.
 */
export class ConvertedOnnxRuntime implements ModelRuntime {
  readonly kind = 'onnx' as const;

  constructor(private readonly onnx: OnnxRuntime) {}

  get platform(): string {
    return this.onnx.platform;
  }

  get inputs(): readonly TensorSpec[] {
    return this.onnx.inputs;
  }

  get outputs(): readonly TensorSpec[] {
    return this.onnx.outputs;
  }

  async predict(feeds: readonly Tensor[], options?: PredictOptions): Promise<RuntimeAnswer> {
    const answer = await this.onnx.predict(feeds, options);
    return { outputs: answer.outputs, extras: AS_LIST };
  }

  dispose(): Promise<void> {
    return this.onnx.dispose();
  }
}
