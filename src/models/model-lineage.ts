import { DatasetInput } from '../mlflow/mlflow.types';

/**
 * Where a served version came from: its training run in MLflow (params,
 * metrics, dataset inputs) and, when the retraining DAG trained it, that DAG
 * run in Airflow. Read once when the version loads, never on a prediction.
 */
export interface ModelLineage {
  runId?: string;
  runName?: string;
  experimentId?: string;
  params: Readonly<Record<string, string>>;
  metrics: Readonly<Record<string, number>>;
  datasets: readonly DatasetInput[];
  /** The DAG run that trained it, from the run's `modelgate.dag_id` / `modelgate.dag_run_id` tags. */
  dagId?: string;
  dagRunId?: string;
  /** The run's page in MLflow's UI. */
  mlflowRunUrl?: string;
  /** The DAG run's page in Airflow's UI (AIRFLOW_PUBLIC_URL), when Airflow is configured. */
  airflowRunUrl?: string;
  /** Why the run could not be read; the version serves all the same. */
  error?: string;
}

/** Tags the retraining DAG sets on its runs (airflow/dags/modelgate_retrain/logic.py). */
export const DAG_ID_TAG = 'modelgate.dag_id';
export const DAG_RUN_ID_TAG = 'modelgate.dag_run_id';
