import type { FastifyReply } from 'fastify';
import type { LoadedModel } from '../models/loaded-model';
import { InferenceResult } from './inference.types';

/** The lineage headers of every prediction answer (REST); gRPC sends the same keys as trailers. */
export const MODEL_NAME_HEADER = 'x-model-name';
export const MODEL_VERSION_HEADER = 'x-model-version';
export const MODEL_RUN_ID_HEADER = 'x-model-run-id';
/** Under a rollout: `champion` or `challenger`, the side that answered. */
export const VARIANT_HEADER = 'x-modelgate-variant';

/** Which registered version answered, and the run that trained it: neither protocol's body says so for every answer. */
export function setModelHeaders(reply: FastifyReply, result: InferenceResult): void {
  void reply
    .header(MODEL_NAME_HEADER, result.modelName)
    .header(MODEL_VERSION_HEADER, result.modelVersion);
  if (result.modelRunId) void reply.header(MODEL_RUN_ID_HEADER, result.modelRunId);
  if (result.variant) void reply.header(VARIANT_HEADER, result.variant);
}

/** The same as header pairs, for the gRPC trailing metadata. */
export function modelHeaderPairs(result: InferenceResult): [string, string][] {
  const pairs: [string, string][] = [
    [MODEL_NAME_HEADER, result.modelName],
    [MODEL_VERSION_HEADER, result.modelVersion],
  ];
  if (result.modelRunId) pairs.push([MODEL_RUN_ID_HEADER, result.modelRunId]);
  if (result.variant) pairs.push([VARIANT_HEADER, result.variant]);
  return pairs;
}

/**
 * A version's lineage as Open Inference metadata `parameters` (a flat map of
 * strings and numbers, as the protocol's parameters are): `mlflow.run_id`,
 * `mlflow.experiment_id`, `mlflow.run_url`, `param.<key>`, `metric.<key>`,
 * `dataset.<n>.name|digest|source|context`, `airflow.dag_id`,
 * `airflow.dag_run_id`, `airflow.run_url`; `lineage.error` when the run
 * could not be read at load.
 */
export function lineageParameters(model: LoadedModel): Record<string, string | number> {
  const lineage = model.info.lineage;
  const out: Record<string, string | number> = {};
  const put = (key: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') out[key] = value;
  };
  put('mlflow.run_id', lineage?.runId ?? model.info.runId);
  if (!lineage) return out;
  put('mlflow.run_name', lineage.runName);
  put('mlflow.experiment_id', lineage.experimentId);
  put('mlflow.run_url', lineage.mlflowRunUrl);
  for (const [key, value] of Object.entries(lineage.params)) put(`param.${key}`, value);
  for (const [key, value] of Object.entries(lineage.metrics)) {
    // JSON has no NaN or infinity: those stay text.
    put(`metric.${key}`, Number.isFinite(value) ? value : String(value));
  }
  lineage.datasets.forEach((d, n) => {
    put(`dataset.${n}.name`, d.name);
    put(`dataset.${n}.digest`, d.digest);
    put(`dataset.${n}.source`, d.source);
    put(`dataset.${n}.context`, d.context);
  });
  put('airflow.dag_id', lineage.dagId);
  put('airflow.dag_run_id', lineage.dagRunId);
  put('airflow.run_url', lineage.airflowRunUrl);
  put('lineage.error', lineage.error);
  return out;
}
