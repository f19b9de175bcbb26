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

/**
 * This instance has no Airflow to train with (AIRFLOW_BASE_URL, AIRFLOW_USERNAME
 * or AIRFLOW_PASSWORD unset): it serves predictions, and the training routes
 * say what to set.
 */
export class AirflowNotConfiguredError extends Error {
  constructor(readonly missing: readonly string[]) {
    super(
      `training is unavailable: Airflow is not configured on this instance; set ${missing.join(', ')} to enable it`,
    );
    this.name = AirflowNotConfiguredError.name;
  }
}
