/**
 * What can be wrong with a prediction request. Thrown by the protocol codecs
 * and the input binder; the exception filters at the edge choose the HTTP
 * status (400 and 415), never the code that throws.
 */

/** Codes of the errors below, for the filters that map them to a status. */
export type InferenceErrorCode = 'INVALID_INPUT' | 'UNSUPPORTED_MEDIA_TYPE' | 'CANCELLED';

/** The request is malformed or does not fit the model: the caller must fix it. */
export class InvalidInputError extends Error {
  readonly code = 'INVALID_INPUT' satisfies InferenceErrorCode;

  /**
   * @param message names the field and what was expected, e.g.
   *   `column 'age' row 3: expected a double, got the string "x"`.
   * @param field the column, input or envelope field at fault, for callers that
   *   want to point at it (e.g. `age`, `inputs[0].shape`).
   */
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The body's content type (or charset) is one the protocol does not accept. */
export class UnsupportedMediaTypeError extends Error {
  readonly code = 'UNSUPPORTED_MEDIA_TYPE' satisfies InferenceErrorCode;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The caller went away while its request waited for the model (its signal
 * aborted): it was dropped from the queue and never ran. Nobody reads the
 * answer; the edge logs it as the client's (499).
 */
export class PredictionCancelledError extends Error {
  readonly code = 'CANCELLED' satisfies InferenceErrorCode;

  constructor(readonly model: string) {
    super(`the caller went away before model ${model} ran its request`);
    this.name = new.target.name;
  }
}
