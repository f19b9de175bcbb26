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
