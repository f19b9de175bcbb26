/**
 * Airflow's REST vocabulary. `Wire*` types cover both Airflow 2 (`/api/v1`) and
 * Airflow 3 (`/api/v2`) answers; the rest are what {@link AirflowClient} returns.
 */

// ---- wire -----------------------------------------------------------------

export interface WireComponentHealth {
  status?: string | null;
  latest_scheduler_heartbeat?: string | null;
  latest_triggerer_heartbeat?: string | null;
  latest_dag_processor_heartbeat?: string | null;
}

export type WireHealth = Partial<
  Record<'metadatabase' | 'scheduler' | 'triggerer' | 'dag_processor', WireComponentHealth | null>
>;

export interface WireDag {
  dag_id: string;
  dag_display_name?: string;
  description?: string | null;
  is_paused?: boolean | null;
  /** Airflow 2. */
  is_active?: boolean | null;
  /** Airflow 3. */
  is_stale?: boolean | null;
  fileloc?: string;
  tags?: { name: string }[];
  timetable_summary?: string | null;
  schedule_interval?: { value?: string } | string | null;
}

export interface WireDagRun {
  dag_id: string;
  dag_run_id: string;
  state?: string | null;
  logical_date?: string | null;
  execution_date?: string | null;
  run_after?: string | null;
  start_date?: string | null;
  end_date?: string | null;
  conf?: Record<string, unknown> | null;
  note?: string | null;
  run_type?: string;
}

export interface WireTaskInstance {
  task_id: string;
  state?: string | null;
  try_number?: number;
  map_index?: number;
  start_date?: string | null;
  end_date?: string | null;
  duration?: number | null;
  operator?: string | null;
}

/** Airflow 2 answers RFC 7807 problems; Airflow 3 (FastAPI) `{detail}` with a string or a list. */
export interface WireErrorBody {
  /** Airflow 3 answers a unique-constraint violation (409) with an object. */
  detail?: string | { loc?: (string | number)[]; msg?: string }[] | { reason?: string; message?: string };
  title?: string;
  type?: string;
}

// ---- domain ---------------------------------------------------------------

/** 1 = Airflow 2 (`/api/v1`, basic auth); 2 = Airflow 3 (`/api/v2`, bearer token). */
export type AirflowApiVersion = 1 | 2;

export type ComponentStatus = 'healthy' | 'unhealthy' | 'not_running';

export interface ComponentHealth {
  status: ComponentStatus;
  latestHeartbeat?: Date;
}

export interface AirflowHealth {
  /** metadatabase and scheduler healthy, and no other reported component unhealthy. */
  healthy: boolean;
  components: Record<string, ComponentHealth>;
}

export interface Dag {
  dagId: string;
  displayName: string;
  description?: string;
  isPaused: boolean;
  /** False when the DAG's file is gone (Airflow 2 `is_active` false, Airflow 3 `is_stale`). */
  isActive: boolean;
  fileloc?: string;
  tags: string[];
  schedule?: string;
}

/** queued, running, success, failed — or a state a newer Airflow adds. */
export type DagRunState = string;

export interface DagRun {
  dagId: string;
  runId: string;
  state: DagRunState;
  logicalDate?: Date;
  startDate?: Date;
  endDate?: Date;
  conf: Record<string, unknown>;
  note?: string;
}

export interface TaskInstance {
  taskId: string;
  state?: string;
  tryNumber?: number;
  mapIndex?: number;
  startDate?: Date;
  endDate?: Date;
  durationSeconds?: number;
  operator?: string;
}

export interface TriggerRunOptions {
  conf?: Record<string, unknown>;
  /** Our own id makes a retried trigger safe: a duplicate answers 409 and we read the run instead. */
  runId?: string;
  logicalDate?: Date;
  note?: string;
}

export interface ListDagsOptions {
  limit?: number;
  offset?: number;
  dagIdPattern?: string;
}
