import { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';

/**
 * Boots the real AppModule (real config validation, real module wiring) with
 * `env` laid over the process environment, and restores the environment after.
 * The context is not listening: client-level tests take what they need from it.
 */
export async function bootApp(env: Record<string, string>): Promise<INestApplicationContext> {
  const saved = { ...process.env };
  Object.assign(process.env, { LOG_LEVEL: 'warn', ...env });
  try {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    return await moduleRef.init();
  } finally {
    for (const key of Object.keys(process.env)) {
      if (!(key in saved)) delete process.env[key];
    }
    Object.assign(process.env, saved);
  }
}

/** A complete environment for the app against the given servers. */
export function stackEnv(urls: { mlflowUrl: string; airflowUrl: string }): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: urls.mlflowUrl,
    AIRFLOW_BASE_URL: urls.airflowUrl,
    AIRFLOW_USERNAME: 'airflow',
    AIRFLOW_PASSWORD: 'airflow',
    UPSTREAM_RETRY_BASE_DELAY_MS: '100',
    UPSTREAM_RETRY_MAX_DELAY_MS: '500',
  };
}
