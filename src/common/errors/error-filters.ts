import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorBodyFor, errorProtocolOf } from '../http/error-reply';
import { describeError } from './error-status';

/** Logs what the caller cannot fix; a 4xx is the caller's and is not logged as an error. */
function report(logger: Logger, error: unknown, status: number, request: FastifyRequest): void {
  if (status >= 500) {
    logger.error(
      `${request.method} ${request.url.split('?')[0]} → ${status}: ${error instanceof Error ? error.stack : String(error)}`,
    );
  }
}

/** MLflow scoring protocol: `{"error_code", "message"}`, as `mlflow models serve` answers. */
@Catch()
export class MlflowScoringExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(MlflowScoringExceptionFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const { status, code, message } = describeError(error);
    report(this.logger, error, status, http.getRequest<FastifyRequest>());
    void http.getResponse<FastifyReply>().status(status).send({ error_code: code, message });
  }
}

/** Open Inference Protocol: `{"error": "<message>"}`. */
@Catch()
export class OpenInferenceExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(OpenInferenceExceptionFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const { status, message } = describeError(error);
    report(this.logger, error, status, http.getRequest<FastifyRequest>());
    void http.getResponse<FastifyReply>().status(status).send({ error: message });
  }
}

/**
 * Everything else (`/v1/…`): `{"statusCode", "error", "message"}`. As the
 * global filter it also answers what fails before a route's own filter runs
 * (a body Fastify cannot read, an unknown path): those answer in the format of
 * the route the URL names, as the Fastify hooks do (error-reply.ts).
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiExceptionFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const described = describeError(error);
    report(this.logger, error, described.status, request);
    void http
      .getResponse<FastifyReply>()
      .status(described.status)
      .send(errorBodyFor(errorProtocolOf(request.url), described));
  }
}
