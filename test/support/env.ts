/**
 * Runs `work` with `env` laid over the process environment and restores the
 * environment afterwards, variables `work` added included. Configuration is
 * read from the process environment when an app or client is built.
 */
export async function withEnvironment<T>(
  env: Record<string, string>,
  work: () => Promise<T>,
): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    for (const key of Object.keys(process.env)) {
      if (!(key in saved)) delete process.env[key];
    }
    Object.assign(process.env, saved);
  }
}
