import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Image names written by scripts/build-images.sh (content-hashed tags). */
export interface StackImages {
  mlflow: string;
  airflow: string;
  /** PostgreSQL: MLflow's backend store, the production Airflow layout's metadata DB. */
  postgres: string;
}

/** MODELGATE_IMAGES_ENV names another file, as for scripts/build-images.sh. */
const IMAGES_FILE =
  process.env.MODELGATE_IMAGES_ENV ?? path.resolve(__dirname, '../../.images.env');

export function readImages(): StackImages {
  if (!existsSync(IMAGES_FILE)) {
    throw new Error(
      `${IMAGES_FILE} is missing: run "npm run stack:images" (scripts/build-images.sh) first`,
    );
  }
  const vars = Object.fromEntries(
    readFileSync(IMAGES_FILE, 'utf8')
      .split('\n')
      .map((line) => /^\s*([A-Z_]+)=(.*)$/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], m[2].trim()]),
  );
  const mlflow = vars.MODELGATE_MLFLOW_IMAGE;
  const airflow = vars.MODELGATE_AIRFLOW_IMAGE;
  const postgres = vars.MODELGATE_POSTGRES_IMAGE;
  if (!mlflow || !airflow || !postgres) {
    throw new Error(
      `${IMAGES_FILE} must name MODELGATE_MLFLOW_IMAGE, MODELGATE_AIRFLOW_IMAGE and ` +
        `MODELGATE_POSTGRES_IMAGE: run "npm run stack:images" (scripts/build-images.sh)`,
    );
  }
  return { mlflow, airflow, postgres };
}

/**
 * Points testcontainers at podman's Docker-compatible socket when no engine is
 * configured (see scripts/container-engine.sh), and turns off its reaper,
 * whose image cannot be pulled without a registry: tests stop what they start.
 */
export function useLocalContainerEngine(): void {
  const podmanSocket = '/run/podman/podman.sock';
  if (!process.env.DOCKER_HOST && existsSync(podmanSocket)) {
    process.env.DOCKER_HOST = `unix://${podmanSocket}`;
  }
  process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  // Reach published ports on loopback, not on the engine's bridge address.
  process.env.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}
