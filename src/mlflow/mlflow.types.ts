/**
 * MLflow's REST vocabulary. `Wire*` types are what the server sends (snake_case,
 * fields omitted when empty, MLflow 2.x and 3.x shapes alike); the rest are the
 * domain values {@link MlflowClient} returns.
 */

// ---- wire -----------------------------------------------------------------

export interface WireModelVersion {
  name: string;
  version: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  current_stage?: string;
  description?: string;
  /** 2.x: a run or artifact path; 3.x: `models:/m-<id>` (not downloadable as such). */
  source?: string;
  run_id?: string;
  run_link?: string;
  status?: string;
  status_message?: string;
  aliases?: string[];
  tags?: WireTag[];
  /** 3.x only. */
  model_id?: string;
}

export interface WireRegisteredModel {
  name: string;
  description?: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
  latest_versions?: WireModelVersion[];
  aliases?: { alias: string; version: string }[];
  tags?: WireTag[];
}

export interface WireTag {
  key: string;
  value: string;
}

export interface WireMetric {
  key: string;
  value: number | string;
  timestamp?: number;
  step?: number;
}

export interface WireRun {
  info: {
    run_id?: string;
    run_uuid?: string;
    run_name?: string;
    experiment_id: string;
    status?: string;
    start_time?: number;
    end_time?: number;
    artifact_uri?: string;
    lifecycle_stage?: string;
  };
  data?: { metrics?: WireMetric[]; params?: WireTag[]; tags?: WireTag[] };
  /** Datasets the run logged as inputs (MLflow 2.4+). */
  inputs?: { dataset_inputs?: WireDatasetInput[] };
}

/** MLflow 3.3+ registry webhooks (protos/webhooks.proto): enums travel as their names. */
export interface WireWebhookEvent {
  entity: string;
  action: string;
}

export interface WireWebhook {
  webhook_id: string;
  name: string;
  description?: string;
  url: string;
  events?: WireWebhookEvent[];
  status?: string;
  creation_timestamp?: number;
  last_updated_timestamp?: number;
}

export interface WireWebhookTestResult {
  success?: boolean;
  response_status?: number;
  response_body?: string;
  error_message?: string;
}

export interface WireDatasetInput {
  dataset?: {
    name?: string;
    digest?: string;
    source_type?: string;
    source?: string;
    schema?: string;
    profile?: string;
  };
  tags?: WireTag[];
}

export interface WireFileInfo {
  path: string;
  is_dir?: boolean;
  file_size?: number | string;
}

export interface WireErrorBody {
  error_code?: string;
  message?: string;
}

// ---- domain ---------------------------------------------------------------

export interface ModelVersion {
  name: string;
  version: string;
  /** Legacy stage ("None", "Staging", "Production", "Archived"). */
  stage: string;
  status: string;
  source?: string;
  runId?: string;
  /** MLflow 3 logged-model id (`m-…`), from `model_id` or a `models:/m-…` source. */
  modelId?: string;
  aliases: string[];
  tags: Record<string, string>;
  description?: string;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface RegisteredModel {
  name: string;
  description?: string;
  /** alias → version */
  aliases: Record<string, string>;
  latestVersions: ModelVersion[];
  tags: Record<string, string>;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface Metric {
  key: string;
  value: number;
  step: number;
  timestamp?: Date;
}

export interface Run {
  runId: string;
  runName?: string;
  experimentId: string;
  status?: string;
  artifactUri?: string;
  startTime?: Date;
  endTime?: Date;
  params: Record<string, string>;
  /** Latest value of each metric. */
  metrics: Record<string, number>;
  tags: Record<string, string>;
  /** Datasets the run logged as inputs (`mlflow.log_input`), with their context tag. */
  datasets: DatasetInput[];
}

export interface DatasetInput {
  name: string;
  digest?: string;
  sourceType?: string;
  source?: string;
  /** `mlflow.data.context`: training, evaluation, … */
  context?: string;
}

/** A registry event as MLflow names it in payloads and docs: `model_version_alias.created`. */
export type WebhookEventName = `${string}.${string}`;

export interface Webhook {
  id: string;
  name: string;
  description?: string;
  url: string;
  events: WebhookEventName[];
  /** ACTIVE or DISABLED. */
  status: string;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface WebhookInput {
  name: string;
  url: string;
  events: WebhookEventName[];
  description?: string;
  /** The HMAC secret MLflow signs deliveries with (stored encrypted on the server). */
  secret?: string;
  status?: 'ACTIVE' | 'DISABLED';
}

export interface WebhookTestResult {
  success: boolean;
  responseStatus?: number;
  responseBody?: string;
  errorMessage?: string;
}

export interface ArtifactFile {
  /** Path relative to the listed directory's root. */
  path: string;
  isDir: boolean;
  size?: number;
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

export interface SearchOptions {
  filter?: string;
  maxResults?: number;
  orderBy?: string[];
  pageToken?: string;
}

export interface DownloadResult {
  directory: string;
  files: number;
  bytes: number;
}

/** One point of a run metric, as logged (`timestamp` in ms since the epoch, now if absent). */
export interface MetricPoint {
  key: string;
  value: number;
  timestamp?: number;
  step?: number;
}
