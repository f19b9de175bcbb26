/**
 * What can be wrong with a prediction request. Thrown by the protocol codecs
 * and the input binder; the exception filters at the edge choose the HTTP
 * status (400 and 415), never the code that throws.
 */

/** The request is malformed or does not fit the model: the caller must fix it. */
export class InvalidInputError extends Error {
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
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}
