import * as ort from 'onnxruntime-node';
import { messageOf } from '../../common/values';
import { ModelInputRejectedError, ModelRuntimeError } from '../model.errors';
import { DataType, Tensor, TensorSpec } from '../tensor.types';
import { ModelRuntime, PredictOptions, RuntimeAnswer } from './model-runtime';

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

/** How this server runs every onnxruntime session (ONNX_INTRA_OP_THREADS, ONNX_INTRA_OP_SPINNING). */
export interface OnnxSessionSettings {
  /** Threads per session; 0: onnxruntime's default (one per core). */
  intraOpThreads: number;
  /** Whether idle intra-op threads busy-wait for work. */
  spinning: boolean;
}

/** The session options of `settings`, over what the model's own MLmodel asks for. */
export function sessionOptionsOf(
  settings: OnnxSessionSettings,
  own: ort.InferenceSession.SessionOptions = {},
): ort.InferenceSession.SessionOptions {
  return {
    ...own,
    ...(settings.intraOpThreads > 0 ? { intraOpNumThreads: settings.intraOpThreads } : {}),
    // onnxruntime's session config key session.intra_op.allow_spinning.
    extra: { session: { intra_op: { allow_spinning: settings.spinning ? '1' : '0' } } },
  };
}

/**
 * An ONNX model in this process, through onnxruntime-node. Sessions are made
 * from the file path, so models whose weights sit in external-data files beside
 * `model.onnx` load too.
 *
 * Faults are told apart by where they are found, not by onnxruntime's message
 * text (onnxruntime-node gives no status code): feeds are checked here against
 * the session's inputs first (names, datatypes, ranks, fixed dimensions, value
 * counts), and a refusal is the caller's (ModelInputRejectedError); a failure
 * of `run` on feeds that passed is the model's (ModelRuntimeError).
 */
export class OnnxRuntime implements ModelRuntime {
  readonly kind = 'onnx' as const;
  /** Triton's name for the ONNX Runtime backend (model configuration `platform`). */
  readonly platform = 'onnxruntime_onnx';

  /** Each output's declared datatype, by name: an answer's datatypes are the model's, not the answer's. */
  private readonly declared: ReadonlyMap<string, DataType>;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: readonly TensorSpec[],
    readonly outputs: readonly TensorSpec[],
  ) {
    this.declared = new Map(outputs.map((o) => [o.name, o.datatype]));
  }

  /** @param model the `.onnx` file's path, or its bytes. */
  static async load(
    model: string | Uint8Array,
    options: ort.InferenceSession.SessionOptions = {},
  ): Promise<OnnxRuntime> {
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, options)
        : await ort.InferenceSession.create(model, options);
    const inputs = session.inputMetadata.map((m) => spec(m, 'input'));
    const outputs = session.outputMetadata.map((m) => spec(m, 'output'));
    return new OnnxRuntime(session, inputs, outputs);
  }

  /** ONNX models take no params: `options.params` is never set for them. */
  async predict(feeds: readonly Tensor[], options: PredictOptions = {}): Promise<RuntimeAnswer> {
    this.checkFeeds(feeds);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const feed of feeds) {
      ortFeeds[feed.name] = new ort.Tensor(TO_ORT[feed.datatype], toOrtData(feed), feed.shape);
    }
    const fetches = options.outputs?.length ? [...options.outputs] : undefined;
    let results: ort.InferenceSession.ReturnType;
    try {
      results = fetches
        ? await this.session.run(ortFeeds, fetches)
        : await this.session.run(ortFeeds);
    } catch (error) {
      throw new ModelRuntimeError(`onnxruntime failed: ${messageOf(error)}`, messageOf(error));
    }
    const outputs: Tensor[] = [];
    for (const name in results) {
      const tensor = results[name];
      outputs.push({
        name,
        datatype: this.declared.get(name) ?? FROM_ORT[tensor.type] ?? 'BYTES',
        shape: tensor.dims.map(Number),
        // onnxruntime's own output buffer, not a copy: nothing downstream writes to it.
        data: tensor.data,
      });
    }
    return { outputs };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }

  /** What onnxruntime would refuse, said in the caller's terms before it runs. */
  private checkFeeds(feeds: readonly Tensor[]): void {
    const given = new Map(feeds.map((f) => [f.name, f]));
    for (const feed of feeds) {
      if (!this.inputs.some((i) => i.name === feed.name)) {
        throw new ModelInputRejectedError(
          `the model has no input '${feed.name}'; its inputs are ${this.inputNames()}`,
          feed.name,
        );
      }
    }
    for (const spec of this.inputs) {
      const feed = given.get(spec.name);
      if (!feed) {
        throw new ModelInputRejectedError(`input '${spec.name}' is missing`, spec.name);
      }
      if (feed.datatype !== spec.datatype) {
        throw new ModelInputRejectedError(
          `input '${spec.name}' is ${feed.datatype}, the model takes ${spec.datatype}`,
          spec.name,
        );
      }
      const fits =
        feed.shape.length === spec.shape.length &&
        spec.shape.every((d, i) => d < 0 || d === feed.shape[i]);
      if (!fits) {
        throw new ModelInputRejectedError(
          `input '${spec.name}' has shape [${feed.shape.join(', ')}], the model takes [${spec.shape.join(', ')}] (-1: any size)`,
          spec.name,
        );
      }
      const count = feed.shape.reduce((a, b) => a * b, 1);
      if (feed.data.length !== count) {
        throw new ModelInputRejectedError(
          `input '${spec.name}' has ${feed.data.length} values for shape [${feed.shape.join(', ')}] (${count})`,
          spec.name,
        );
      }
    }
  }

  private inputNames(): string {
    return this.inputs.map((i) => `'${i.name}'`).join(', ');
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
