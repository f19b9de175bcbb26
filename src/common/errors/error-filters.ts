import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorDescription, describeError } from './error-status';

/** Logs what the caller cannot fix; a 4xx is the caller's and is not logged as an error. */
function report(logger: Logger, error: unknown, status: number, request: FastifyRequest): void {
  if (status >= 500) {
    logger.error(
      `${request.method} ${request.url.split('?')[0]} → ${status}: ${error instanceof Error ? error.stack : String(error)}`,
    );
  }
}

/** The reply, with Retry-After when the refusal says how long to wait. */
function replyFor(host: ArgumentsHost, { retryAfterSeconds }: ErrorDescription): FastifyReply {
  const reply = host.switchToHttp().getResponse<FastifyReply>();
  return retryAfterSeconds === undefined ? reply : reply.header('retry-after', retryAfterSeconds);
}

/** MLflow scoring protocol: `{"error_code", "message"}`, as `mlflow models serve` answers. */
@Catch()
export class MlflowScoringExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(MlflowScoringExceptionFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const description = describeError(error);
    const { status, code, message } = description;
    report(this.logger, error, status, http.getRequest<FastifyRequest>());
    void replyFor(host, description).status(status).send({ error_code: code, message });
  }
}

/** Open Inference Protocol: `{"error": "<message>"}`. */
@Catch()
export class OpenInferenceExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(OpenInferenceExceptionFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const description = describeError(error);
    const { status, message } = description;
    report(this.logger, error, status, http.getRequest<FastifyRequest>());
    void replyFor(host, description).status(status).send({ error: message });
  }
}

/** Everything else (`/v1/…`): `{"statusCode", "error", "message"}`. */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger(ApiExceptionFilter.name);

  catch(error: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const description = describeError(error);
    const { status, code, message } = description;
    report(this.logger, error, status, http.getRequest<FastifyRequest>());
    void replyFor(host, description)
      .status(status)
      .send({ statusCode: status, error: code, message });
  }
}
