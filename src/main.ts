import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import cluster from 'node:cluster';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { startGrpc } from './grpc/start-grpc';
import { JsonLogger } from './common/logging/json.logger';
import { loadEnvironment } from './config/environment';
import { readLoggerSettings } from './config/logging.config';
import { ServerConfig, serverConfig, trustProxyOf } from './config/server.config';
import { ClusterEnvironment, instanceIdOf } from './config/cluster.config';
import { parseEnvironment } from './config/env.validation';
import { applyHeapSettings, readWorkerSettings } from './config/workers.config';
import { readTracingSettings } from './config/tracing.config';
import { runPrimary } from './workers/primary';
import type * as TracingSetup from './common/tracing/tracing.setup';

async function bootstrap(): Promise<void> {
  const env = loadEnvironment(1);
  const workers = readWorkerSettings(env);
  applyHeapSettings(workers);
  const group = workers.count > 1;
  // With workers, every line says which process of the host wrote it.
  const instance = group
    ? instanceIdOf(parseEnvironment(ClusterEnvironment, env), workers)
    : undefined;
  // One JSON object per line (LOG_FORMAT=pretty for a terminal), from the first line on.
  const logger = new JsonLogger({
    ...readLoggerSettings(env),
    fields: instance ? { instance, worker: workers.number ?? 'primary' } : undefined,
  });
  if (group && cluster.isPrimary) {
    // API_WORKERS > 1: this process supervises the workers and serves nothing itself.
    Logger.overrideLogger(logger);
    await runPrimary(workers);
    return;
  }
  // Before the app exists: every module's spans, from the first model load on, are exported.
  const tracing = readTracingSettings(env);
  if (tracing) {
    // Its first line (and the SDK's warnings) in the app's format, before Nest sets the logger.
    Logger.overrideLogger(logger);
    // Loaded only when tracing is on: the SDK and its exporter are ~190 modules
    // (start-up time and resident memory in every process) that nothing else needs.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startTracing } = require('./common/tracing/tracing.setup') as typeof TracingSetup;
    startTracing(tracing, instanceIdOf(parseEnvironment(ClusterEnvironment, env), workers));
  }
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(),
    createFastifyAdapter(trustProxyOf(env)),
    {
      logger,
      abortOnError: false,
      // Body parsing is ours (app.setup.ts): errors answer in the caller's protocol.
      bodyParser: false,
    },
  );
  configureApp(app, { accessLog: logger });

  const server = app.get<ServerConfig>(serverConfig.KEY);
  await app.listen(server.port, server.host);
  new Logger('Bootstrap').log(`listening on http://${server.host}:${server.port}`);
  await startGrpc(app);
}

void bootstrap();
