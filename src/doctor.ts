/**
 * `npm run doctor`: checks this server's connections to MLflow and Airflow
 * (and Redis, in distributed mode) the way the deployment guide's troubleshooting does, and says for each
 * failure what kind it is (refused, timeout, DNS, TLS, unauthorized, rejected
 * host header, unhealthy component) and what to do. Exit code 0 when all pass.
 *
 *   npm run doctor            human-readable
 *   npm run doctor -- --json  one JSON document
 */
import { Logger } from '@nestjs/common';
import { AirflowClient } from './airflow/airflow.client';
import { airflowClientOptions } from './airflow/airflow.module';
import { airflowConfig } from './config/airflow.config';
import { applyEnvironment, readValidEnvironmentOrExit } from './config/environment';
import { mlflowConfig } from './config/mlflow.config';
import { upstreamConfig } from './config/upstream.config';
import { RedisStateStore } from './cluster/redis-state-store';
import { clusterConfig } from './config/cluster.config';
import { CheckFailure } from './health/health.types';
import {
  InvalidResponseError,
  UnhealthyComponentError,
  classifyFailure,
} from './health/failure-classifier';
import { MlflowClient } from './mlflow/mlflow.client';
import { mlflowClientOptions } from './mlflow/mlflow.module';

interface StepResult {
  check: string;
  ok: boolean;
  ms: number;
  detail?: string;
  failure?: CheckFailure;
}

type Step = [check: string, run: () => Promise<string>];

export interface DoctorReport {
  ok: boolean;
  checks: Record<string, { target: string; steps: StepResult[] }>;
}

/** Runs every check once against the configured servers (the environment must be complete and valid). */
export async function runDoctor(): Promise<DoctorReport> {
  const upstream = upstreamConfig();
  // One attempt each: the doctor reports what happens, it does not ride out blips.
  const noRetries = { ...upstream, retryPolicy: () => upstream.retryPolicy(0) };
  const mlflowSettings = mlflowConfig();
  const airflowSettings = airflowConfig();
  const mlflow = new MlflowClient(mlflowClientOptions(mlflowSettings, noRetries));
  const airflow = new AirflowClient(airflowClientOptions(airflowSettings, noRetries));
  const cluster = clusterConfig();
  const redis = cluster.distributed ? new RedisStateStore(cluster.redis) : undefined;

  const groups: { name: string; dependency: string; target: string; steps: Step[] }[] = [
    {
      name: 'MLflow',
      dependency: 'mlflow',
      target: mlflowSettings.trackingUri,
      steps: [
        ['GET /health', async () => `answered ${await mlflow.health()}`],
        ['GET /version', async () => `MLflow ${await mlflow.version()}`],
        [
          'registry call (registered-models/search)',
          async () =>
            `${(await mlflow.searchRegisteredModels({ maxResults: 1 })).items.length ? 'models found' : 'no models yet'}`,
        ],
      ],
    },
    {
      name: 'Airflow',
      dependency: 'airflow',
      target: airflowSettings.baseUrl,
      steps: [
        ['REST API version', async () => `/api/v${await airflow.apiVersion()}`],
        [
          'component health',
          async () => {
            const health = await airflow.health();
            const bad = Object.entries(health.components).filter(
              ([, c]) => c.status === 'unhealthy',
            );
            if (!health.healthy)
              throw new UnhealthyComponentError(bad.length ? bad.map(([n]) => n) : ['scheduler']);
            return Object.entries(health.components)
              .map(([n, c]) => `${n} ${c.status}`)
              .join(', ');
          },
        ],
        [
          'authenticated call (list DAGs)',
          async () => `${(await airflow.listDags({ limit: 1 })).total} DAGs`,
        ],
      ],
    },
  ];
  if (redis) groups.push(redisChecks(redis));

  let failed = false;
  const report: Record<string, { target: string; steps: StepResult[] }> = {};
  for (const group of groups) {
    const steps: StepResult[] = [];
    for (const [check, run] of group.steps) {
      const started = Date.now();
      try {
        const detail = await run();
        steps.push({ check, ok: true, ms: Date.now() - started, detail });
      } catch (error) {
        failed = true;
        const failure = classifyFailure(error, {
          dependency: group.dependency,
          displayName: group.name,
          target: group.target,
        });
        steps.push({ check, ok: false, ms: Date.now() - started, failure });
        break; // later steps would fail the same way
      }
    }
    report[group.name] = { target: group.target, steps };
  }
  mlflow.onModuleDestroy();
  airflow.onModuleDestroy();
  await redis?.stop();
  return { ok: !failed, checks: report };
}

/** Distributed mode: Redis reachable, answering, writable under our prefix, and who is registered. */
function redisChecks(redis: RedisStateStore) {
  const probe = `doctor:${process.pid}`;
  const steps: Step[] = [
    [
      'connect',
      async () => {
        await redis.start();
        return 'connected';
      },
    ],
    ['PING', async () => `${(await redis.ping()).toFixed(1)} ms`],
    [
      'write, read and delete a key',
      async () => {
        await redis.set(probe, 'ok', 10_000);
        const read = await redis.get(probe);
        await redis.delete(probe);
        if (read !== 'ok') throw new InvalidResponseError(`wrote "ok", read back ${String(read)}`);
        return 'ok';
      },
    ],
    [
      'instances registered',
      async () => {
        const ids = [...(await redis.entries('instances:')).keys()].map((k) => k.slice(10));
        return ids.length ? ids.join(', ') : 'none running';
      },
    ],
  ];
  return { name: 'Redis', dependency: 'redis', target: redis.target, steps };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  Logger.overrideLogger(['error']); // the request log would drown the report
  const env = readValidEnvironmentOrExit(2);
  applyEnvironment(env);
  const { ok, checks } = await runDoctor();
  if (json) {
    process.stdout.write(`${JSON.stringify({ ok, checks }, null, 2)}\n`);
  } else {
    for (const [name, { target, steps }] of Object.entries(checks)) {
      process.stdout.write(`API → ${name} (${target})\n`);
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
