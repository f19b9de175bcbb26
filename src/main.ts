import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { BODY_LIMIT_BYTES, configureApp } from './app.setup';
import { ConfigValidationError, assertValidEnvironment } from './config/env.validation';
import { ENVIRONMENT_CLASSES, readEnvironment } from './config/environment';
import { LOG_LEVELS, ServerConfig, serverConfig } from './config/server.config';

async function bootstrap(): Promise<void> {
  // Check the whole environment before Nest starts, so a bad one ends the
  // process with one readable message instead of a stack trace.
  const env = readEnvironment();
  try {
    assertValidEnvironment(ENVIRONMENT_CLASSES, env);
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const level = (env.LOG_LEVEL ?? 'log') as (typeof LOG_LEVELS)[number];
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(),
    new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES }),
    {
      logger: LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1),
      abortOnError: false,
      // Body parsing is ours (app.setup.ts): errors answer in the caller's protocol.
      bodyParser: false,
    },
  );
  configureApp(app);

  const server = app.get<ServerConfig>(serverConfig.KEY);
  await app.listen(server.port, server.host);
  new Logger('Bootstrap').log(`listening on http://${server.host}:${server.port}`);
}

void bootstrap();
