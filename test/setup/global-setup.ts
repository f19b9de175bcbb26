import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  RunningAirflow,
  RunningMlflow,
  SeededModel,
  seedMlflow,
  startAirflow,
  startMlflow,
} from '../support/stack';
import { KEEP_STACK, STACK_FILE, StackInfo, TOKEN_LIFETIME_SECONDS } from '../support/shared-stack';

declare global {
  var __MODELGATE_STACK__:
    { mlflow?: RunningMlflow; airflow?: RunningAirflow; kept?: boolean } | undefined;
}

/**
 * Starts the servers the integration tests share: one MLflow (on PostgreSQL,
 * the production backend store) and one Airflow (the slowest to start), in
 * parallel. Tests that stop or reconfigure a server
 * start their own.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  if (KEEP_STACK && (await keptStackAnswers())) {
    globalThis.__MODELGATE_STACK__ = { kept: true };
    process.stdout.write(`\nreusing the kept stack of ${STACK_FILE} (MODELGATE_STACK_KEEP=1)\n`);
    return;
  }
  globalThis.__MODELGATE_STACK__ = { kept: KEEP_STACK };
  let seeded: SeededModel | undefined;
  const [mlflow, airflow] = await Promise.all([
    startMlflow({ backend: 'postgresql' }).then(async (m) => {
      globalThis.__MODELGATE_STACK__!.mlflow = m;
      seeded = await seedMlflow(m, `mg-int-${Date.now()}`); // while Airflow is still starting
      return m;
    }),
    startAirflow({ tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS }).then(
      (a) => (globalThis.__MODELGATE_STACK__!.airflow = a),
    ),
  ]);
  const info: StackInfo = {
    mlflowUrl: mlflow.url,
    airflowUrl: airflow.url,
    containerIds: [
      mlflow.container.getId(),
      airflow.container.getId(),
      ...(mlflow.database ? [mlflow.database.container.getId()] : []),
    ],
    networkIds: mlflow.database ? [mlflow.database.network.getId()] : [],
    seeded: seeded!,
  };
  mkdirSync(path.dirname(STACK_FILE), { recursive: true });
  writeFileSync(STACK_FILE, JSON.stringify(info, null, 2));
  process.stdout.write(
    `\nstack up in ${Math.round((Date.now() - started) / 1000)} s: ${info.mlflowUrl} ${info.airflowUrl}}\n`,
  );
}

/** Whether the stack file names servers that are up (MLflow and Airflow health both 200). */
async function keptStackAnswers(): Promise<boolean> {
  if (!existsSync(STACK_FILE)) return false;
  try {
    const info = JSON.parse(readFileSync(STACK_FILE, 'utf8')) as StackInfo;
    const answers = await Promise.all(
      [`${info.mlflowUrl}/health`, `${info.airflowUrl}/api/v2/monitor/health`].map((url) =>
        fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok),
      ),
    );
    return answers.every(Boolean);
  } catch {
    return false;
  }
}
