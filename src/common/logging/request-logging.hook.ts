import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PROBE_ROUTES } from '../http/probe-routes';
import { routePattern } from '../http/route-pattern';
import { AccessLine, AccessLog, redactedFields } from './json.logger';
import { redactText, redactValue } from './redact';
import {
  REQUEST_ID_HEADER,
  RequestContext,
  requestContext,
  requestIdFrom,
} from './request-context';

export interface RequestLoggingOptions {
  /** Add the request body (redacted, cut to BODY_LOG_LIMIT characters) to the line. */
  requestBodies: boolean;
  /** Share (0…1) of the answers below 400 that are logged (LOG_ACCESS_SAMPLE); 4xx and 5xx always are. */
  accessSample?: number;
  /** [0, 1) at random; Math.random unless a test decides. */
  random?: () => number;
  /**
   * Where the lines go: the app's JsonLogger, straight (main.ts), so that a
   * request's line skips Nest's Logger; through `new Logger('Http')` (to
   * whatever logger Nest has) when not given.
   */
  log?: AccessLog;
}

/** Characters of a body kept in a log line. */
const BODY_LOG_LIMIT = 4096;

const CONTEXT = Symbol('requestContext');
type WithContext = FastifyRequest & { [CONTEXT]?: RequestContext };

/**
 * Gives every request an id (the caller's `X-Request-Id`, or a new one), sends
 * it back in the response, makes it part of every log line written while the
 * request is served, and logs one line per request: method, route, path,
 * status, duration — never headers (Authorization travels there), never the
 * query string, and no body unless LOG_REQUEST_BODIES is on. With
 * LOG_ACCESS_SAMPLE below 1, only that share of the answers below 400 is
 * logged (the line is not even built for the others); 4xx and 5xx always are.
 */
export function registerRequestLogging(
  fastify: FastifyInstance,
  options: RequestLoggingOptions,
): void {
  const logger = new Logger('Http');
  const log = options.log;
  // Redacted as it is built: the logger need not walk it again.
  const write: (level: 'debug' | 'warn' | 'log', line: AccessLine) => void = log
    ? (level, line) => log.access(level, 'Http', line)
    : (level, line) => logger[level](redactedFields(line));
  const sample = options.accessSample ?? 1;
  const random = options.random ?? Math.random;

  fastify.addHook('onRequest', (request: WithContext, reply, done) => {
    const context: RequestContext = {
      requestId: requestIdFrom(request.headers[REQUEST_ID_HEADER]),
    };
    request[CONTEXT] = context;
    void reply.header(REQUEST_ID_HEADER, context.requestId);
    requestContext.run(context, done);
  });

  // Body parsing runs on the socket's callbacks, outside the context entered
  // above: enter it again for the handler and everything it awaits.
  fastify.addHook('preHandler', (request: WithContext, _reply, done) => {
    if (request[CONTEXT]) requestContext.enterWith(request[CONTEXT]);
    done();
  });

  fastify.addHook('onResponse', (request: WithContext, reply, done) => {
    if (sample < 1 && reply.statusCode < 400 && !(random() < sample)) return done();
    const line = requestLine(request, reply, options);
    const level = PROBE_ROUTES.has(line.route) ? 'debug' : reply.statusCode >= 500 ? 'warn' : 'log';
    write(level, line);
    done();
  });
}

/** The request's log line: what happened, never what was sent. */
export function requestLine(
  request: FastifyRequest & { [CONTEXT]?: RequestContext },
  reply: FastifyReply,
  options: RequestLoggingOptions,
): AccessLine {
  const line: AccessLine = {
    msg: 'request',
    requestId: request[CONTEXT]?.requestId,
    method: request.method,
    route: routeOf(request),
    // The one value the caller wrote (names in it are free text); never the query string.
    path: redactText(request.url.split('?')[0]),
    status: reply.statusCode,
    ms: Math.round(reply.elapsedTime * 100) / 100,
  };
  const model = reply.getHeader('x-model-name');
  const version = reply.getHeader('x-model-version');
  if (model !== undefined) line.model = String(model);
  if (version !== undefined) line.version = String(version);
  // Under a rollout, the side that answered (x-modelgate-variant): a canary's lines tell its versions apart.
  const variant = reply.getHeader('x-modelgate-variant');
  if (variant !== undefined) line.variant = String(variant);
  if (options.requestBodies && request.body !== undefined) line.body = bodyForLog(request.body);
  return line;
}

/** The route pattern (`/v1/models/:ref/invocations`), or `unmatched` for a 404 on no route. */
export function routeOf(request: FastifyRequest): string {
  return routePattern(request) ?? 'unmatched';
}

function bodyForLog(body: unknown): unknown {
  if (Buffer.isBuffer(body)) return `[${body.length} bytes]`;
  const safe = redactValue(body);
  const text = typeof safe === 'string' ? safe : JSON.stringify(safe);
  return text.length > BODY_LOG_LIMIT
    ? `${text.slice(0, BODY_LOG_LIMIT)}… [${text.length} characters]`
    : safe;
}
