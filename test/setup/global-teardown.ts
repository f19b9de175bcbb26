import { rmSync } from 'node:fs';
import { STACK_FILE } from '../support/shared-stack';

/**
 * Stops what global-setup started (no reaper container runs on podman),
 * unless the stack is kept for the next run (MODELGATE_STACK_KEEP=1).
 */
export default async function globalTeardown(): Promise<void> {
  const stack = globalThis.__MODELGATE_STACK__;
  if (stack?.kept) return;
  await Promise.allSettled([stack?.mlflow?.stop(), stack?.airflow?.container.stop()]);
  rmSync(STACK_FILE, { force: true });
}
