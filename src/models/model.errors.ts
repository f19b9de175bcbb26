/** The reference names no model this server has or can find in the registry. */
export class ModelNotFoundError extends Error {
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
  constructor(
    readonly model: string,
    readonly version: string,
    readonly reason: string,
  ) {
    super(`cannot load ${model} version ${version}: ${reason}`);
    this.name = ModelLoadError.name;
  }
}
