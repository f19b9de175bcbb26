import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** Image names written by scripts/build-images.sh (content-hashed tags). */
export interface StackImages {
  mlflow: string;
  airflow: string;
}

const IMAGES_FILE = path.resolve(__dirname, '../../.images.env');

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
  if (!mlflow || !airflow) {
    throw new Error(`${IMAGES_FILE} must name MODELGATE_MLFLOW_IMAGE and MODELGATE_AIRFLOW_IMAGE`);
  }
  return { mlflow, airflow };
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
