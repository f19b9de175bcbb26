import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { SeededModel } from './stack';

/**
 * Where global-setup tells the test files how to reach the shared servers.
 * MODELGATE_STACK_FILE gives a run its own file, so two runs in one work tree
 * do not remove each other's.
 */
export const STACK_FILE =
  process.env.MODELGATE_STACK_FILE ?? path.resolve(__dirname, '../../.cache/stack.json');

/** Short, so the token renewal test sees a real expiry within the run. */
export const TOKEN_LIFETIME_SECONDS = 20;

export interface StackInfo {
  mlflowUrl: string;
  airflowUrl: string;
  /** The containers' ids, for `npm run stack:down` when the stack was kept. */
  containerIds: string[];
  /** Networks of the kept stack (MLflow and its PostgreSQL), removed after the containers. */
  networkIds?: string[];
  /** A registered model with two versions, aliases and runs, made by MLflow's own client. */
  seeded: SeededModel;
}

export function sharedStack(): StackInfo {
  return JSON.parse(readFileSync(STACK_FILE, 'utf8')) as StackInfo;
}

/**
 * MODELGATE_STACK_KEEP=1, for development only: global-setup reuses the
 * servers a kept stack file names when both still answer, and the teardown
 * leaves them running, so a run of one test file skips the minutes MLflow and
 * Airflow take to start. Runs share the seeded model then, so a test that
 * moves its aliases meets the state an earlier run left. `npm test` and CI
 * never set it: each run starts fresh. `npm run stack:down` stops a kept stack.
 */
export const KEEP_STACK = process.env.MODELGATE_STACK_KEEP === '1';
