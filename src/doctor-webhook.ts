/**
 * `npm run doctor -- --webhook create|check`: the MLflow registry webhook
 * that tells this service when an alias moves (POST /v1/hooks/mlflow).
 *
 *   create  creates it in MLflow (or updates the one posting to the same URL):
 *           <API_PUBLIC_URL>/v1/hooks/mlflow, the events we follow, signed with
 *           MLFLOW_WEBHOOK_SECRET, active; then has MLflow send a test delivery.
 *   check   checks it is there, active, with every event, and that a test
 *           delivery from MLflow is accepted (which also proves the secret).
 */
import { upstreamConfig } from './config/upstream.config';
import { mlflowConfig } from './config/mlflow.config';
import { trainingConfig } from './config/training.config';
import { messageOf } from './common/values';
import { MlflowClient } from './mlflow/mlflow.client';
import { mlflowClientOptions } from './mlflow/mlflow.module';
import { Webhook, WebhookEventName } from './mlflow/mlflow.types';
import { FOLLOWED_MLFLOW_EVENTS } from './training/mlflow-webhook.events';

export type WebhookMode = 'create' | 'check';

export interface WebhookReport {
  ok: boolean;
  mode: WebhookMode;
  /** Where MLflow should post. */
  url?: string;
  webhook?: Pick<Webhook, 'id' | 'name' | 'status' | 'events'>;
  /** What was done or found, in order. */
  steps: { ok: boolean; step: string; detail: string }[];
}

const NAME = 'modelgate';
const EVENTS: WebhookEventName[] = [...FOLLOWED_MLFLOW_EVENTS];

export async function runWebhookDoctor(mode: WebhookMode): Promise<WebhookReport> {
  const { url, secret } = trainingConfig().mlflowWebhook;
  const report: WebhookReport = { ok: false, mode, url, steps: [] };
  const step = (ok: boolean, name: string, detail: string): boolean => {
    report.steps.push({ ok, step: name, detail });
    return ok;
  };
  if (!url || !secret) {
    step(
      false,
      'configuration',
      [!url && 'set API_PUBLIC_URL', !secret && 'set MLFLOW_WEBHOOK_SECRET']
        .filter(Boolean)
        .join(' and '),
    );
    return report;
  }
  const mlflow = new MlflowClient(mlflowClientOptions(mlflowConfig(), upstreamConfig()));
  try {
    let webhook = (await mlflow.listWebhooks()).find((w) => w.url === url);
    if (mode === 'create') {
      const fields = { name: NAME, url, events: EVENTS, secret, status: 'ACTIVE' as const };
      webhook = webhook
        ? await mlflow.updateWebhook(webhook.id, fields)
        : await mlflow.createWebhook({
            ...fields,
            description: 'Modelgate follows alias moves and new versions (POST /v1/hooks/mlflow)',
          });
      step(true, 'create or update', `webhook ${webhook.id} posts to ${url}`);
    } else if (!webhook) {
      step(false, 'exists', `no webhook posts to ${url}: run npm run doctor -- --webhook create`);
      return report;
    }
    report.webhook = {
      id: webhook.id,
      name: webhook.name,
      status: webhook.status,
      events: webhook.events,
    };
    const missing = EVENTS.filter((e) => !webhook.events.includes(e));
    const shaped =
      step(webhook.status === 'ACTIVE', 'active', `status ${webhook.status}`) &&
      step(
        missing.length === 0,
        'events',
        missing.length ? `missing ${missing.join(', ')}` : EVENTS.join(', '),
      );
    const test = await mlflow.testWebhook(webhook.id, 'model_version_alias.created');
    const delivered = step(
      test.success,
      'test delivery',
      test.success
        ? `MLflow's signed example was accepted (HTTP ${test.responseStatus})`
        : (test.errorMessage ??
            `HTTP ${test.responseStatus}: ${test.responseBody ?? ''}`.trim() +
              (test.responseStatus === 401 ? ' (the secrets differ?)' : '')),
    );
    report.ok = shaped && delivered;
  } catch (error) {
    step(false, 'MLflow', messageOf(error));
  } finally {
    mlflow.onModuleDestroy();
  }
  return report;
}

export function printWebhookReport(report: WebhookReport): string {
  const lines = [`MLflow registry webhook (${report.mode}) → ${report.url ?? 'no URL'}`];
  for (const s of report.steps) lines.push(`  ${s.ok ? 'ok  ' : 'FAIL'} ${s.step}: ${s.detail}`);
  lines.push(report.ok ? '\nThe webhook is in place.' : '\nThe webhook is not in place.');
  return `${lines.join('\n')}\n`;
}
