import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  ErrorProtocol,
  errorBodyFor,
  errorContentType,
  errorProtocolOf,
} from '../http/error-reply';
import { REQUEST_ID_HEADER, requestContext } from '../logging/request-context';
import { ErrorDescriber, ErrorDescription, describeError } from './error-describer';
import { ErrorReportLimiter } from './error-report.limiter';
import { messageOf } from '../values';

/**
 * The exception filters, one per error format. Each is handed the describers
 * of the features whose errors can reach its routes (see ErrorDescriber): the
 * features own their mappings; this file owns only the mechanism.
 *
 * A fault that is ours (status 500) answers "internal error" and the request
 * id, never the stack or the error's own text; the log has the stack, once
 * per kind of error per minute.
 */
abstract class ProtocolExceptionFilter implements ExceptionFilter {
  protected abstract readonly protocol: ErrorProtocol;
  private readonly logger = new Logger(this.constructor.name);

  constructor(
    private readonly describers: readonly ErrorDescriber[],
    private readonly reports: ErrorReportLimiter = new ErrorReportLimiter(),
  ) {}

  /** The format of the answer: the filter's own protocol. */
  protected protocolOf(_request: FastifyRequest): ErrorProtocol {
    return this.protocol;
  }

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    this.answer(error, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>());
  }

  /**
   * Answers `error` in the filter's format: what catch() does for a Nest
   * route, for a route Fastify calls directly (inference/prediction.routes.ts).
   */
  answer(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    const description = describeError(error, this.describers);
    const answer =
      description.status === 500 ? withRequestId(description, requestIdOf(reply)) : description;
    this.report(error, description, request, requestIdOf(reply));
    // A temporary refusal that says how long to wait (a busy model) tells the caller too.
    if (description.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', description.retryAfterSeconds);
    }
    const protocol = this.protocolOf(request);
    void reply
      .status(answer.status)
      .type(errorContentType(protocol))
      .send(errorBodyFor(protocol, answer));
  }

  /**
   * Logs what the caller cannot fix (5xx), at most once per kind per minute; a
   * 4xx is the caller's. A fault of ours (500) is an error with its stack; a
   * dependency that cannot answer, or a feature not configured (502/503), is a
   * warning with its message: the stack would say nothing new.
   */
  private report(
    error: unknown,
    { status }: ErrorDescription,
    request: FastifyRequest,
    requestId: string | undefined,
  ): void {
    if (status < 500) return;
    const kind = `${status} ${error instanceof Error ? error.name : typeof error}`;
    const decision = this.reports.take(kind);
    if (!decision.log) return;
    const more = decision.suppressed
      ? ` (${decision.suppressed} more of this kind in the last minute not logged)`
      : '';
    const head = `${request.method} ${request.url.split('?')[0]} → ${status} [request ${requestId ?? '?'}]${more}`;
    if (status === 500) {
      this.logger.error(`${head}: ${error instanceof Error ? error.stack : String(error)}`);
    } else {
      this.logger.warn(`${head}: ${messageOf(error)}`);
    }
  }
}

function requestIdOf(reply: FastifyReply): string | undefined {
  const header = reply.getHeader(REQUEST_ID_HEADER);
  return typeof header === 'string' ? header : requestContext.getStore()?.requestId;
}

function withRequestId(
  description: ErrorDescription,
  requestId: string | undefined,
): ErrorDescription {
  return requestId
    ? { ...description, message: `${description.message} (request id ${requestId})` }
    : description;
}

/** MLflow scoring protocol: `{"error_code", "message"}`, as `mlflow models serve` answers. */
@Catch()
export class MlflowScoringExceptionFilter extends ProtocolExceptionFilter {
  protected readonly protocol = 'mlflow';
}

/** Open Inference Protocol: `{"error": "<message>"}`. */
@Catch()
export class OpenInferenceExceptionFilter extends ProtocolExceptionFilter {
  protected readonly protocol = 'open-inference';
}

/**
 * Everything else (`/v1/…`): `{"statusCode", "error", "message"}`. As the
 * global filter it also answers what fails before a route's own filter runs
 * (a body Fastify cannot read, an unknown path): those answer in the format of
 * the route the URL names, as the Fastify hooks do (error-reply.ts).
 */
@Catch()
export class ApiExceptionFilter extends ProtocolExceptionFilter {
  protected readonly protocol = 'api';

  /**
   * The global filter also sees errors raised before a route's own filter
   * (an unreadable body, a 413) on MLflow and Open Inference routes: those
   * answer in the URL's format too.
   */
  protected override protocolOf(request: FastifyRequest): ErrorProtocol {
    return errorProtocolOf(request.url);
  }
}
