import { ModelsConfig } from '../../config/models.config';
import { RuntimeKind } from '../../models/runtimes/model-runtime';
import { TensorSpec } from '../../models/tensor.types';

/** How one model version is batched. */
export interface BatchSettings {
  /** Rows one call takes at most (MODEL_BATCH_MAX_SIZE or the model's MODEL_BATCH entry). */
  maxRows: number;
  /** How long a request waits for a running call before it gets one of its own. */
  maxDelayMs: number;
  /** Calls running at once at most (MODEL_MAX_CONCURRENCY). */
  maxConcurrent: number;
  /** Requests waiting at most (MODEL_BATCH_QUEUE). */
  maxQueued: number;
}

/** Whether a version is batched, and why not when it is not (for the models view and logs). */
export type BatchPolicy = ({ enabled: true } & BatchSettings) | { enabled: false; reason: string };

/** What the policy reads of a loaded version. */
export interface BatchCandidate {
  name: string;
  runtime: { kind: RuntimeKind; inputs: readonly TensorSpec[] };
}

/**
 * On for in-process ONNX models whose every input has a variable first
 * dimension (-1 in the session's inputs: "N", "batch", None), with the
 * model's MODEL_BATCH entry over the defaults; off when its size is 0.
 *
 * Not for pyfunc and scoring-server models (yet): their answers can be a
 * frame, a dict or MLflow's own `predictions` per request (RuntimeExtras),
 * which rows do not split without the Python side's help; they keep the
 * admission queue (MODEL_MAX_QUEUE).
 */
export function batchPolicyOf(
  model: BatchCandidate,
  config: Pick<ModelsConfig, 'batching' | 'admission'>,
): BatchPolicy {
  const { batching, admission } = config;
  const own = batching.models[model.name];
  const maxRows = own?.maxRows ?? batching.maxRows;
  if (maxRows === 0) {
    return {
      enabled: false,
      reason: own ? `MODEL_BATCH sets ${model.name}:0` : 'MODEL_BATCH_MAX_SIZE=0',
    };
  }
  if (model.runtime.kind !== 'onnx') {
    return { enabled: false, reason: `the ${model.runtime.kind} runtime is not batched` };
  }
  const fixed = model.runtime.inputs.find((input) => input.shape[0] !== -1);
  if (model.runtime.inputs.length === 0 || fixed) {
    return {
      enabled: false,
      reason: fixed
        ? `input '${fixed.name}' has no variable first dimension (shape [${fixed.shape.join(', ')}])`
        : 'the model declares no inputs',
    };
  }
  return {
    enabled: true,
    maxRows,
    maxDelayMs: own?.maxDelayMs ?? batching.maxDelayMs,
    maxConcurrent: admission.maxConcurrent,
    maxQueued: batching.maxQueued,
  };
}
