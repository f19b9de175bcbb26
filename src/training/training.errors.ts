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
