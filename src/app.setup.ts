import { ValidationPipe } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { ApiExceptionFilter } from './common/errors/error-filters';
import { MalformedJsonInterceptor, registerBodyParsers } from './common/http/body-parsers';
import { registerMethodNotAllowed } from './common/http/method-not-allowed.hook';
import { registerRequestLogging } from './common/logging/request-logging.hook';
import { ClusterConfig, clusterConfig } from './config/cluster.config';
import { LoggingConfig, loggingConfig } from './config/logging.config';
import { enableGracefulShutdown, registerLifecycleHooks } from './health/graceful-shutdown';
import { LifecycleState } from './health/lifecycle.state';
import { registerHttpMetrics } from './metrics/http-metrics.hook';
import { MetricsService } from './metrics/metrics.service';
import { buildOpenApiDocument } from './openapi/openapi.document';

/** Request size limit: 100-row requests are a few KB; batch scoring may send MBs. */
export const BODY_LIMIT_BYTES = 32 * 1024 * 1024;

/** The HTTP server: Fastify with our body limit and API_TRUST_PROXY (see trustProxyOf). */
export function createFastifyAdapter(trustProxy: boolean | string[]): FastifyAdapter {
  return new FastifyAdapter({ bodyLimit: BODY_LIMIT_BYTES, trustProxy });
}

/** Everything main.ts does to the app besides listening, shared with the e2e tests. */
export function configureApp(app: NestFastifyApplication): NestFastifyApplication {
  const fastify = app.getHttpAdapter().getInstance();
  registerBodyParsers(fastify);
  registerMethodNotAllowed(fastify);
  // Request id and log line first: every later hook and handler logs with the id.
  registerRequestLogging(fastify, {
    requestBodies: app.get<LoggingConfig>(loggingConfig.KEY).requestBodies,
  });
  registerLifecycleHooks(fastify, app.get(LifecycleState));
  registerInstanceHeader(fastify, app.get<ClusterConfig>(clusterConfig.KEY).instanceId);
  registerHttpMetrics(fastify, app.get(MetricsService));
  app.useGlobalInterceptors(new MalformedJsonInterceptor(app.get(Reflector)));
  app.useGlobalFilters(new ApiExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true }),
  );
  // Not app.enableShutdownHooks(): Nest's order unloads models before the HTTP
  // server stops, under requests in flight. See graceful-shutdown.ts.
  enableGracefulShutdown(app);
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

/** Every answer names the instance that gave it: behind a balancer, that is where to look. */
function registerInstanceHeader(fastify: FastifyInstance, instanceId: string): void {
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.header('x-modelgate-instance', instanceId);
    done();
  });
}
