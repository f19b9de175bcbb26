import type { FastifyInstance } from 'fastify';
import { routeOf } from '../common/logging/request-logging.hook';
import { MetricsService } from './metrics.service';

/**
 * Counts and times every answered request by route pattern (never the raw
 * path: model names in paths would make a series per typo), status, and the
 * model and version that answered (the `x-model-name` / `x-model-version`
 * headers the inference controllers set).
 */
export function registerHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  if (!metrics.enabled) return;
  fastify.addHook('onResponse', (request, reply, done) => {
    const model = reply.getHeader('x-model-name');
    const version = reply.getHeader('x-model-version');
    metrics.httpRequest(
      {
        method: request.method,
        route: routeOf(request),
        status: reply.statusCode,
        model: model === undefined ? undefined : String(model),
        version: version === undefined ? undefined : String(version),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}
