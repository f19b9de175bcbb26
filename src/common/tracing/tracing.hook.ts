import { Context, Span, SpanStatusCode, context, trace } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PROBE_ROUTES } from '../http/probe-routes';
import { routePattern } from '../http/route-pattern';
import { callerContext, isRecording, startServerSpan } from './spans';

/** Probes and scrapers (PROBE_ROUTES), and the API's own document, get no span. */
const UNTRACED_ROUTES = new Set([...PROBE_ROUTES, '/docs', '/docs/openapi.json']);

const TRACE = Symbol('trace');
interface RequestTrace {
  span: Span;
  context: Context;
}
type Traced = FastifyRequest & { [TRACE]?: RequestTrace };

/**
 * One server span per request, continuing the caller's W3C `traceparent`
 * (a request without one starts a trace), named by method and route
 * pattern, never by path (a path names models and runs without bound), and
 * active for the hooks and the handler, so that the spans of predict,
 * reload or training are its children and the calls to MLflow and Airflow
 * carry its trace.
 */
export function registerTracing(fastify: FastifyInstance): void {
  // Not tracing: no hooks at all, so a request pays nothing for it.
  if (!isRecording()) return;
  fastify.addHook('onRequest', (request: Traced, _reply, done) => {
    const route = routePattern(request);
    if (route === undefined || UNTRACED_ROUTES.has(route)) return done();
    const span = startServerSpan(`${request.method} ${route}`, callerContext(request.headers), {
      'http.request.method': request.method,
      'http.route': route,
      'url.path': request.url.split('?')[0],
    });
    const active = trace.setSpan(context.active(), span);
    request[TRACE] = { span, context: active };
    context.with(active, done);
  });

  // Body parsing runs on the socket's callbacks, outside the context entered
  // above: enter it again for the handler and everything it awaits.
  fastify.addHook('preHandler', (request: Traced, _reply, done) => {
    const traced = request[TRACE];
    if (!traced) return done();
    context.with(traced.context, done);
  });

  fastify.addHook('onResponse', (request: Traced, reply, done) => {
    const traced = request[TRACE];
    if (traced) {
      traced.span.setAttribute('http.response.status_code', reply.statusCode);
      // A 4xx is the caller's error, not the server's (OpenTelemetry's HTTP conventions).
      if (reply.statusCode >= 500) traced.span.setStatus({ code: SpanStatusCode.ERROR });
      traced.span.end();
      request[TRACE] = undefined;
    }
    done();
  });

  fastify.addHook('onRequestAbort', (request: Traced, done) => {
    const traced = request[TRACE];
    if (traced) {
      traced.span.setStatus({ code: SpanStatusCode.ERROR, message: 'client went away' });
      traced.span.end();
      request[TRACE] = undefined;
    }
    done();
  });
}
