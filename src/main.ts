import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { configureApp, createFastifyAdapter } from './app.setup';
import { startGrpc } from './grpc/start-grpc';
import { JsonLogger } from './common/logging/json.logger';
import { loadEnvironment } from './config/environment';
import { readLoggerSettings } from './config/logging.config';
import { ServerConfig, serverConfig, trustProxyOf } from './config/server.config';

async function bootstrap(): Promise<void> {
  const env = loadEnvironment(1);
  // One JSON object per line (LOG_FORMAT=pretty for a terminal), from the first line on.
  const logger = new JsonLogger(readLoggerSettings(env));
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
  configureApp(app);

  const server = app.get<ServerConfig>(serverConfig.KEY);
  await app.listen(server.port, server.host);
  new Logger('Bootstrap').log(`listening on http://${server.host}:${server.port}`);
  await startGrpc(app);
}

void bootstrap();
