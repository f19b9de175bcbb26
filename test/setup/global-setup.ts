import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  RunningAirflow,
  RunningMlflow,
  SeededModel,
  seedMlflow,
  startAirflow,
  startMlflow,
} from '../support/stack';
import { STACK_FILE, StackInfo, TOKEN_LIFETIME_SECONDS } from '../support/shared-stack';

declare global {
  var __MODELGATE_STACK__: { mlflow?: RunningMlflow; airflow?: RunningAirflow } | undefined;
}

/**
 * Starts the servers the integration tests share: one MLflow and one Airflow
 * (the slowest to start), in parallel. Tests that stop or reconfigure a server
 * start their own.
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  globalThis.__MODELGATE_STACK__ = {};
  let seeded: SeededModel | undefined;
  const [mlflow, airflow] = await Promise.all([
    startMlflow().then(async (m) => {
      globalThis.__MODELGATE_STACK__!.mlflow = m;
      seeded = await seedMlflow(m, `mg-int-${Date.now()}`); // while Airflow is still starting
      return m;
    }),
    startAirflow({ tokenLifetimeSeconds: TOKEN_LIFETIME_SECONDS }).then(
      (a) => (globalThis.__MODELGATE_STACK__!.airflow = a),
    ),
  ]);
  const info: StackInfo = { mlflowUrl: mlflow.url, airflowUrl: airflow.url, seeded: seeded! };
  mkdirSync(path.dirname(STACK_FILE), { recursive: true });
  writeFileSync(STACK_FILE, JSON.stringify(info, null, 2));
  process.stdout.write(
    `\nstack up in ${Math.round((Date.now() - started) / 1000)} s: ${info.mlflowUrl} ${info.airflowUrl}}\n`,
  );
}
