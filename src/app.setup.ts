import { ValidationPipe } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { APP_ERROR_MAP } from './app.error-map';
import { registerAuthentication } from './auth/authentication.hook';
import { Authenticator } from './auth/authenticator.service';
import { ApiExceptionFilter } from './common/errors/error-filters';
import { MalformedJsonInterceptor, registerBodyParsers } from './common/http/body-parsers';
import { registerErrorContentType } from './common/http/error-content-type.hook';
import { registerMethodNotAllowed } from './common/http/method-not-allowed.hook';
import { registerRequestLogging } from './common/logging/request-logging.hook';
import type { AccessLog } from './common/logging/json.logger';
import { registerTracing } from './common/tracing/tracing.hook';
import { RateLimiter, registerRateLimit } from './cluster/rate-limit';
import { ClusterConfig, clusterConfig } from './config/cluster.config';
import { ServerConfig, serverConfig } from './config/server.config';
import { registerLoadShedding } from './inference/load-shedding.hook';
import { PredictionRoutes, registerPredictionRoutes } from './inference/prediction.routes';
import { LimitsConfig, LimitsSettings, limitsConfig, limitsOf } from './config/limits.config';
import { LoggingConfig, loggingConfig } from './config/logging.config';
import { enableGracefulShutdown, registerLifecycleHooks } from './health/graceful-shutdown';
import { LifecycleState } from './health/lifecycle.state';
import { registerHttpMetrics } from './metrics/http-metrics.hook';
import { MetricsService } from './metrics/metrics.service';
import { registerClusterMessageMetrics } from './metrics/cluster-metrics';
import { ClusterMessageRejections } from './cluster/signing-state-store';
import { buildOpenApiDocument } from './openapi/openapi.document';

/**
 * The HTTP server: Fastify with API_TRUST_PROXY (see trustProxyOf) and the
 * limits of limits.config.ts. Per-route body limits are checked by our own
 * hook (registerBodyParsers), which answers in the route's format; Fastify's
 * global limit is only the largest of them.
 */
export function createFastifyAdapter(
  trustProxy: false | string[],
  limits: LimitsSettings = limitsOf(),
): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: Math.max(limits.maxBodyBytes, limits.maxControlBodyBytes),
    trustProxy,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // No socket idle timeout (Fastify's connectionTimeout): a socket is idle
    // while a model computes too; the headers and request timeouts bound the client.
    http: {
      headersTimeout: limits.headersTimeoutMs,
      // Node checks both timeouts every 30 s by default, which would let a
      // slow-loris client hold a connection 30 s past its deadline.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
  });
}

/** What {@link configureApp} may be given besides the app. */
export interface ConfigureOptions {
  /** The app's JsonLogger, which the request log then writes to directly (one line per request, on the hot path). */
  accessLog?: AccessLog;
}

/** Everything main.ts does to the app besides listening, shared with the e2e tests. */
export function configureApp(
  app: NestFastifyApplication,
  options: ConfigureOptions = {},
): NestFastifyApplication {
  const fastify = app.getHttpAdapter().getInstance();
  registerBodyParsers(fastify, app.get<LimitsConfig>(limitsConfig.KEY));
  registerMethodNotAllowed(fastify);
  registerErrorContentType(fastify);
  // Request id and log line first: every later hook and handler logs with the id.
  const logging = app.get<LoggingConfig>(loggingConfig.KEY);
  registerRequestLogging(fastify, {
    requestBodies: logging.requestBodies,
    accessSample: logging.accessSample,
    log: options.accessLog,
  });
  // The request's server span, continuing the caller's traceparent: active for every later hook.
  registerTracing(fastify);
  registerLifecycleHooks(fastify, app.get(LifecycleState));
  registerInstanceHeader(fastify, app.get<ClusterConfig>(clusterConfig.KEY).instanceId);
  registerAuthentication(fastify, app.get(Authenticator));
  registerHttpMetrics(fastify, app.get(MetricsService));
  registerClusterMessageMetrics(app.get(MetricsService), app.get(ClusterMessageRejections));
  // after authentication: limits are keyed by the caller
  registerRateLimit(fastify, app.get(RateLimiter));
  registerLoadShedding(fastify, app.get<ServerConfig>(serverConfig.KEY).maxEventLoopDelayMs);
  // Predictions skip Nest's per-request pipeline; every hook above still runs for them.
  registerPredictionRoutes(fastify, app.get(PredictionRoutes));
  app.useGlobalInterceptors(new MalformedJsonInterceptor(app.get(Reflector)));
  app.useGlobalFilters(new ApiExceptionFilter(APP_ERROR_MAP));
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
