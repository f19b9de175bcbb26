/**
 * An MLmodel file (or a file it points to) that cannot be read as MLflow
 * writes it. The message names the key and what was wrong with it, so a load
 * failure reads like "MLmodel: signature.inputs[1]: unknown column type 'doubel'".
 */
export class MlModelFormatError extends Error {
  constructor(
    message: string,
    /** Dotted path of the offending key, e.g. `flavors.onnx.data`. */
    readonly key?: string,
  ) {
    super(`MLmodel: ${message}`);
    this.name = new.target.name;
  }
}
