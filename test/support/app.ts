import { INestApplicationContext, LoggerService } from '@nestjs/common';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { configureApp, createFastifyAdapter } from '../../src/app.setup';
import { JsonLogger } from '../../src/common/logging/json.logger';
import { trustProxyOf } from '../../src/config/server.config';
import { startGrpc } from '../../src/grpc/start-grpc';
import { TEST_API_KEYS } from './credentials';
import { withEnvironment } from './env';

/**
 * Boots the real AppModule (real config validation, real module wiring) with
 * `env` laid over the process environment, and restores the environment after.
 * The context is not listening: client-level tests take what they need from it.
 */
export async function bootApp(env: Record<string, string>): Promise<INestApplicationContext> {
  return withEnvironment({ LOG_LEVEL: 'warn', API_KEYS: TEST_API_KEYS, ...env }, async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot()] }).compile();
    return moduleRef.init();
  });
}

/**
 * A complete environment for the app against the given servers, with the
 * harness's admin key (TEST_API_KEY, which request() sends) in API_KEYS.
 */
export function stackEnv(urls: { mlflowUrl: string; airflowUrl: string }): Record<string, string> {
  return {
    MLFLOW_TRACKING_URI: urls.mlflowUrl,
    AIRFLOW_BASE_URL: urls.airflowUrl,
    AIRFLOW_USERNAME: 'airflow',
    AIRFLOW_PASSWORD: 'airflow',
    UPSTREAM_RETRY_BASE_DELAY_MS: '100',
    UPSTREAM_RETRY_MAX_DELAY_MS: '500',
    API_KEYS: TEST_API_KEYS,
  };
}

export interface RunningServer {
  app: NestFastifyApplication;
  url: string;
  /** The gRPC listener's port (API_GRPC_PORT=0 by default: a free one); undefined when API_GRPC_ENABLED=false. */
  grpcPort?: number;
}

export interface StartOptions {
  /** The app's logger, e.g. a JsonLogger writing into an array; errors and warnings to the console by default. */
  logger?: LoggerService;
  /**
   * Where to listen: loopback and a free port by default. The training-loop
   * test listens on all interfaces at a chosen port, so the Airflow container
   * can call back through host.containers.internal.
   */
  listen?: { host: string; port: number };
}

/**
 * The real server (main.ts's setup) listening on a free loopback port, and
 * its gRPC listener on another (never Triton's 8001: tests run side by side).
 */
export async function startServer(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<RunningServer> {
  const defaults = { LOG_LEVEL: 'warn', API_KEYS: TEST_API_KEYS, API_GRPC_PORT: '0' };
  return withEnvironment({ ...defaults, ...env }, async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot()] }).compile();
    const app = configureApp(
      moduleRef.createNestApplication<NestFastifyApplication>(
        createFastifyAdapter(trustProxyOf()),
        {
          logger: options.logger ?? ['error', 'warn'],
          bodyParser: false,
        },
      ),
      // As main.ts: a JsonLogger takes the request log's lines directly.
      { accessLog: options.logger instanceof JsonLogger ? options.logger : undefined },
    );
    await app.listen(options.listen?.port ?? 0, options.listen?.host ?? '127.0.0.1');
    const url = options.listen ? `http://127.0.0.1:${options.listen.port}` : await app.getUrl();
    const grpc = await startGrpc(app);
    return { app, url, grpcPort: grpc?.port };
  });
}
