/**
 * `npm run doctor`: checks this server's connections to MLflow and Airflow
 * (and Redis, in distributed mode) the way the deployment guide's troubleshooting does, and says for each
 * failure what kind it is (refused, timeout, DNS, TLS, unauthorized, rejected
 * host header, unhealthy component) and what to do. Exit code 0 when all pass.
 *
 *   npm run doctor            human-readable
 *   npm run doctor -- --json  one JSON document
 *   npm run doctor -- --webhook create|check   the MLflow registry webhook (doctor-webhook.ts)
 */
import { Logger } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { INSTANCES } from './cluster/cluster.service';
import { RedisStateStore } from './cluster/redis-state-store';
import { StateStore } from './cluster/state-store';
import { airflowConfig } from './config/airflow.config';
import { clusterConfig } from './config/cluster.config';
import { loadEnvironment } from './config/environment';
import { healthConfig } from './config/health.config';
import { mlflowConfig } from './config/mlflow.config';
import { AirflowHealthIndicator } from './health/airflow.health';
import { CheckStep, SteppedIndicator, runSteps } from './health/check-steps';
import { InvalidResponseError, indicatorFailure } from './health/failure-classifier';
import { healthAirflowClient, healthMlflowClient } from './health/health-clients';
import { CheckFailure } from './health/health.types';
import { MlflowHealthIndicator } from './health/mlflow.health';
import { RedisHealthIndicator } from './health/redis.health';
import { printWebhookReport, runWebhookDoctor } from './doctor-webhook';

interface StepResult {
  check: string;
  ok: boolean;
  ms: number;
  detail?: string;
  failure?: CheckFailure;
}

export interface DoctorReport {
  ok: boolean;
  checks: Record<string, { target: string; steps: StepResult[]; notConfigured?: string[] }>;
}

/**
 * Runs every check once against the configured servers (the environment must
 * be complete and valid): the very indicators `/health/topology` runs, with
 * the same clients (one attempt, HEALTH_CHECK_TIMEOUT), step by step, so the
 * doctor and the topology always agree on what is unhealthy.
 */
export async function runDoctor(): Promise<DoctorReport> {
  const health = healthConfig();
  const airflowSettings = airflowConfig();
  const mlflowClient = healthMlflowClient(mlflowConfig(), health, () => undefined);
  const airflowClient = healthAirflowClient(airflowSettings, health, () => undefined);
  const terminus = new HealthIndicatorService();
  const airflow = new AirflowHealthIndicator(airflowClient, terminus, health, airflowSettings);
  const cluster = clusterConfig();
  const redis = cluster.distributed ? new RedisStateStore(cluster.redis) : undefined;

  const groups: { indicator: SteppedIndicator; steps: CheckStep[] }[] = [
    new MlflowHealthIndicator(mlflowClient, terminus, health),
    airflow,
  ].map((indicator) => ({ indicator, steps: indicator.steps() }));
  if (redis) {
    const indicator = new RedisHealthIndicator(redis, terminus, health);
    groups.push({ indicator, steps: redisSteps(redis, indicator) });
  }

  let failed = false;
  const report: DoctorReport['checks'] = {};
  for (const { indicator, steps } of groups) {
    const { outcomes } = await runSteps(steps);
    report[indicator.displayName] = {
      target: indicator.target,
      steps: outcomes.map((outcome) =>
        outcome.ok
          ? { check: outcome.step.name, ok: true, ms: outcome.ms, detail: outcome.detail }
          : {
              check: outcome.step.name,
              ok: false,
              ms: outcome.ms,
              failure: indicatorFailure(indicator, outcome.error),
            },
      ),
    };
    failed ||= outcomes.some((o) => !o.ok);
  }
  if (airflow.missing.length > 0) report[airflow.displayName].notConfigured = airflow.missing;
  mlflowClient.onModuleDestroy();
  airflowClient?.onModuleDestroy();
  await redis?.stop();
  return { ok: !failed, checks: report };
}

/**
 * Distributed mode: Redis reachable (the doctor connects a store of its own),
 * the indicator's own PING, writable under our prefix, and who is registered.
 */
function redisSteps(redis: StateStore, indicator: RedisHealthIndicator): CheckStep[] {
  const probe = `doctor:${process.pid}`;
  return [
    {
      name: 'connect',
      run: async () => {
        await redis.start();
        return 'connected';
      },
    },
    ...indicator.steps(),
    {
      name: 'write, read and delete a key',
      run: async () => {
        await redis.set(probe, 'ok', 10_000);
        const read = await redis.get(probe);
        await redis.delete(probe);
        if (read !== 'ok') throw new InvalidResponseError(`wrote "ok", read back ${String(read)}`);
        return 'ok';
      },
    },
    {
      name: 'instances registered',
      run: async () => {
        const ids = [...(await redis.entries(INSTANCES)).keys()].map((key) =>
          key.slice(INSTANCES.length),
        );
        return ids.length ? ids.join(', ') : 'none running';
      },
    },
  ];
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  Logger.overrideLogger(['error']); // the request log would drown the report
  loadEnvironment(2);
  const webhookAt = process.argv.indexOf('--webhook');
  if (webhookAt >= 0) {
    const mode = process.argv[webhookAt + 1];
    if (mode !== 'create' && mode !== 'check') {
      process.stderr.write('usage: npm run doctor -- --webhook create|check [--json]\n');
      process.exit(2);
    }
    const report = await runWebhookDoctor(mode);
    process.stdout.write(
      json ? `${JSON.stringify(report, null, 2)}\n` : printWebhookReport(report),
    );
    process.exit(report.ok ? 0 : 1);
  }
  const { ok, checks } = await runDoctor();
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok, checks }, null, 2)}\n`);
  } else {
    for (const [name, { target, steps, notConfigured }] of Object.entries(checks)) {
      process.stdout.write(`API → ${name} (${target})\n`);
      if (notConfigured) {
        process.stdout.write(`  --   optional, not configured: set ${notConfigured.join(', ')}\n`);
      }
      for (const step of steps) {
        const head = `  ${step.ok ? 'ok  ' : 'FAIL'} ${step.check} (${step.ms} ms)`;
        process.stdout.write(
          step.ok
            ? `${head}: ${step.detail}\n`
            : `${head}: ${step.failure!.kind}\n        ${step.failure!.message}\n        → ${step.failure!.hint}\n`,
        );
      }
    }
    process.stdout.write(ok ? '\nAll checks passed.\n' : '\nSome checks failed.\n');
  }
  process.exit(ok ? 0 : 1);
}

if (require.main === module) {
  void main();
}
