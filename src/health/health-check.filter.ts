import { ArgumentsHost, Catch, ExceptionFilter, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/**
 * A failed probe is a 503 whose body is the check's result (terminus's
 * `{status, info, error, details}`, or the service summary), not the generic
 * error body: load balancers read the status, operators read the details.
 */
@Catch(ServiceUnavailableException)
export class HealthCheckExceptionFilter implements ExceptionFilter {
  catch(error: ServiceUnavailableException, host: ArgumentsHost): void {
    void host
      .switchToHttp()
      .getResponse<FastifyReply>()
      .status(503)
      .header('cache-control', 'no-store')
      .send(error.getResponse());
  }
}
