/** What was wrong with a training request; the controller chooses the HTTP status. */
export type TrainingErrorCode =
  /** The DAG is not one the operator listed in TRAINING_DAGS (or does not exist). */
  | 'unknown_dag'
  /** The request or its conf breaks a rule: unknown keys, wrong types. */
  | 'invalid_request'
  /** The caller lacks a scope the request needs (named in `scope`). */
  | 'missing_scope';

export class TrainingRequestError extends Error {
  constructor(
    readonly code: TrainingErrorCode,
    message: string,
  ) {
    super(message);
    this.name = TrainingRequestError.name;
  }
}
