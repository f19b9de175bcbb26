/**
 * What can go wrong with a model, as codes a caller can act on. Thrown where
 * the fault is known (registry, loader, runtimes); the exception filters at the
 * edge map each code to an HTTP status, never the code that throws.
 *
 * Input faults and model faults are told apart: `MODEL_INPUT_REJECTED` is the
 * caller's to fix (4xx); `MODEL_RUNTIME_FAILED` (the runtime failed on input it
 * accepted, or answered what its signature forbids) and `MODEL_UNAVAILABLE`
 * (a delegated server answered 5xx or could not be reached: retryable) are not.
 */
export type ModelErrorCode =
  | 'MODEL_NOT_FOUND'
  | 'MODEL_NOT_READY'
  | 'MODEL_LOAD_FAILED'
  | 'MODEL_INPUT_REJECTED'
  | 'MODEL_RUNTIME_FAILED'
  | 'MODEL_UNAVAILABLE'
  | 'MODEL_PINNED'
  | 'VETO_NOT_FOUND';

/** The reference names no model this server has or can find in the registry. */
export class ModelNotFoundError extends Error {
  readonly code = 'MODEL_NOT_FOUND' satisfies ModelErrorCode;

  constructor(
    readonly reference: string,
    detail?: string,
  ) {
    super(`model ${reference} not found${detail ? `: ${detail}` : ''}`);
    this.name = ModelNotFoundError.name;
  }
}

/** The model exists but cannot answer now: still loading, or its load failed with nothing to fall back on. */
export class ModelNotReadyError extends Error {
  readonly code = 'MODEL_NOT_READY' satisfies ModelErrorCode;

  constructor(
    readonly reference: string,
    detail: string,
  ) {
    super(`model ${reference} is not ready: ${detail}`);
    this.name = ModelNotReadyError.name;
  }
}

/** A version could not be loaded (no runtime for its flavor, bad files, failed warm-up). */
export class ModelLoadError extends Error {
  readonly code = 'MODEL_LOAD_FAILED' satisfies ModelErrorCode;

  constructor(
    readonly model: string,
    readonly version: string,
    readonly reason: string,
  ) {
    super(`cannot load ${model} version ${version}: ${reason}`);
    this.name = ModelLoadError.name;
  }
}

/**
 * The runtime refused this input as such (names, datatypes, shapes it does not
 * take, or a delegated server's 4xx): the caller's to fix.
 */
export class ModelInputRejectedError extends Error {
  readonly code = 'MODEL_INPUT_REJECTED' satisfies ModelErrorCode;

  /**
   * @param detail what was wrong, e.g. `input 'x' has 3 dimensions, the model takes 2`.
   * @param field the input at fault, when one is.
   * @param upstreamMessage a delegated server's own message, unchanged.
   */
  constructor(
    readonly detail: string,
    readonly field?: string,
    readonly upstreamMessage?: string,
  ) {
    super(`the model rejected the input: ${detail}`);
    this.name = ModelInputRejectedError.name;
  }
}

/**
 * The model failed on input its runtime accepted (an onnxruntime kernel
 * error), or answered something its signature does not allow: a model fault.
 */
export class ModelRuntimeError extends Error {
  readonly code = 'MODEL_RUNTIME_FAILED' satisfies ModelErrorCode;

  /** @param runtimeMessage the runtime's own message, unchanged. */
  constructor(
    readonly detail: string,
    readonly runtimeMessage?: string,
  ) {
    super(`the model failed: ${detail}`);
    this.name = ModelRuntimeError.name;
  }
}

/** A delegated model's servers answered 5xx or could not be reached: try again later. */
export class ModelUnavailableError extends Error {
  readonly code = 'MODEL_UNAVAILABLE' satisfies ModelErrorCode;
  readonly retryable = true;

  constructor(readonly detail: string) {
    super(detail);
    this.name = ModelUnavailableError.name;
  }
}

/** The model is listed in MODELS: readiness promises it is loaded, so it cannot be unloaded. */
export class ModelPinnedError extends Error {
  readonly code = 'MODEL_PINNED' satisfies ModelErrorCode;

  constructor(readonly model: string) {
    super(`model ${model} is listed in MODELS and cannot be unloaded (readiness depends on it)`);
    this.name = ModelPinnedError.name;
  }
}

/** No veto stands for the reference here: nothing to lift. */
export class VetoNotFoundError extends Error {
  readonly code = 'VETO_NOT_FOUND' satisfies ModelErrorCode;

  constructor(readonly reference: string) {
    super(`no veto stands for ${reference}`);
    this.name = VetoNotFoundError.name;
  }
}
