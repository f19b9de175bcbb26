import {
  Metric,
  ModelVersion,
  RegisteredModel,
  Run,
  Webhook,
  WebhookEventName,
  WebhookTestResult,
  WireMetric,
  WireModelVersion,
  WireRegisteredModel,
  WireRun,
  WireTag,
  WireWebhook,
  WireWebhookEvent,
  WireWebhookTestResult,
} from './mlflow.types';

/** Wire → domain for MLflow's REST answers; tolerant of fields omitted when empty. */
export const MlflowMapper = {
  modelVersion(wire: WireModelVersion): ModelVersion {
    return {
      name: wire.name,
      version: String(wire.version),
      stage: wire.current_stage ?? 'None',
      status: wire.status ?? 'READY',
      source: wire.source,
      runId: wire.run_id || undefined,
      modelId: wire.model_id ?? /^models:\/(m-[^/]+)/.exec(wire.source ?? '')?.[1],
      aliases: wire.aliases ?? [],
      tags: tags(wire.tags),
      description: wire.description || undefined,
      createdAt: date(wire.creation_timestamp),
      updatedAt: date(wire.last_updated_timestamp),
    };
  },

  registeredModel(wire: WireRegisteredModel): RegisteredModel {
    return {
      name: wire.name,
      description: wire.description || undefined,
      aliases: Object.fromEntries((wire.aliases ?? []).map((a) => [a.alias, String(a.version)])),
      latestVersions: (wire.latest_versions ?? []).map((v) => MlflowMapper.modelVersion(v)),
      tags: tags(wire.tags),
      createdAt: date(wire.creation_timestamp),
      updatedAt: date(wire.last_updated_timestamp),
    };
  },

  run(wire: WireRun): Run {
    const metrics = (wire.data?.metrics ?? []).map((m) => MlflowMapper.metric(m));
    return {
      runId: wire.info.run_id ?? wire.info.run_uuid ?? '',
      runName: wire.info.run_name,
      experimentId: wire.info.experiment_id,
      status: wire.info.status,
      artifactUri: wire.info.artifact_uri,
      startTime: date(wire.info.start_time),
      endTime: date(wire.info.end_time),
      params: tags(wire.data?.params),
      metrics: Object.fromEntries(metrics.map((m) => [m.key, m.value])),
      tags: tags(wire.data?.tags),
      datasets: (wire.inputs?.dataset_inputs ?? []).map((input) => ({
        name: input.dataset?.name ?? '',
        digest: input.dataset?.digest,
        sourceType: input.dataset?.source_type,
        source: input.dataset?.source,
        context: tags(input.tags)['mlflow.data.context'],
      })),
    };
  },

  webhook(wire: WireWebhook): Webhook {
    return {
      id: wire.webhook_id,
      name: wire.name,
      description: wire.description || undefined,
      url: wire.url,
      events: (wire.events ?? []).map(
        (e): WebhookEventName => `${e.entity.toLowerCase()}.${e.action.toLowerCase()}`,
      ),
      status: wire.status ?? 'ACTIVE',
      createdAt: date(wire.creation_timestamp),
      updatedAt: date(wire.last_updated_timestamp),
    };
  },

  /** `model_version_alias.created` → `{entity: "MODEL_VERSION_ALIAS", action: "CREATED"}`, as the proto's JSON names them. */
  webhookEvent(name: WebhookEventName): WireWebhookEvent {
    const dot = name.lastIndexOf('.');
    return { entity: name.slice(0, dot).toUpperCase(), action: name.slice(dot + 1).toUpperCase() };
  },

  webhookTestResult(wire: WireWebhookTestResult): WebhookTestResult {
    return {
      success: Boolean(wire.success),
      responseStatus: wire.response_status,
      responseBody: wire.response_body,
      errorMessage: wire.error_message || undefined,
    };
  },

  metric(wire: WireMetric): Metric {
    // MLflow writes NaN and infinities as strings in JSON.
    return {
      key: wire.key,
      value: Number(wire.value),
      step: wire.step ?? 0,
      timestamp: date(wire.timestamp),
    };
  },
};

function tags(list: WireTag[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map((t) => [t.key, t.value]));
}

function date(epochMs: number | string | undefined): Date | undefined {
  return epochMs === undefined ? undefined : new Date(Number(epochMs));
}
