import * as ort from 'onnxruntime-node';
import { DataType, Tensor, TensorSpec } from '../tensor.types';
import { ModelRuntime } from './model-runtime';

/** onnxruntime element types ↔ Open Inference datatypes. */
const FROM_ORT: Partial<Record<ort.Tensor.Type, DataType>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  string: 'BYTES',
};

const TO_ORT = Object.fromEntries(Object.entries(FROM_ORT).map(([k, v]) => [v, k])) as Record<
  DataType,
  ort.Tensor.Type
>;

/**
 * An ONNX model in this process, through onnxruntime-node. Sessions are made
 * from the file path, so models whose weights sit in external-data files beside
 * `model.onnx` load too.
 */
export class OnnxRuntime implements ModelRuntime {
  readonly kind = 'onnx' as const;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
  ) {}

  static async load(
    modelPath: string,
    options: ort.InferenceSession.SessionOptions = {},
  ): Promise<OnnxRuntime> {
    const session = await ort.InferenceSession.create(modelPath, options);
    const inputs = session.inputMetadata.map((m) => spec(m, 'input'));
    const outputs = session.outputMetadata.map((m) => spec(m, 'output'));
    return new OnnxRuntime(session, inputs, outputs);
  }

  async predict(feeds: readonly Tensor[], outputNames?: readonly string[]): Promise<Tensor[]> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const feed of feeds) {
      ortFeeds[feed.name] = new ort.Tensor(TO_ORT[feed.datatype], toOrtData(feed), feed.shape);
    }
    const fetches = outputNames?.length ? [...outputNames] : undefined;
    const results = fetches
      ? await this.session.run(ortFeeds, fetches)
      : await this.session.run(ortFeeds);
    return Object.entries(results).map(([name, tensor]) => ({
      name,
      datatype: FROM_ORT[tensor.type] ?? 'BYTES',
      shape: tensor.dims.map(Number),
      data: tensor.data,
    }));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

function spec(metadata: ort.InferenceSession.ValueMetadata, role: string): TensorSpec {
  if (!metadata.isTensor) {
    // skl2onnx's ZipMap output is a sequence of maps, which onnxruntime-node cannot return.
    throw new Error(
      `ONNX ${role} "${metadata.name}" is not a tensor (a ZipMap?); convert classifiers with options={"zipmap": False}`,
    );
  }
  const datatype = FROM_ORT[metadata.type];
  if (!datatype) {
    throw new Error(
      `ONNX ${role} "${metadata.name}" has element type ${metadata.type}, which is not supported`,
    );
  }
  // Symbolic dimensions ("N", "batch") are variable: -1, as MLflow writes them.
  return {
    name: metadata.name,
    datatype,
    shape: metadata.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)),
  };
}

/** onnxruntime-node wants booleans as bytes. */
function toOrtData(feed: Tensor): ort.Tensor.DataType {
  if (feed.datatype === 'BOOL' && !(feed.data instanceof Uint8Array)) {
    return Uint8Array.from(feed.data as ArrayLike<number | boolean>, (v) => (v ? 1 : 0));
  }
  // Typed arrays, and string[] for BYTES, are what the input binder produces.
  return feed.data as ort.Tensor.DataType;
}
