import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';

/**
 * A route whose body must be a JSON object. Nest's ValidationPipe validates a
 * missing body as `{}` and hands it on, and lets a bare number or string pass:
 * so an empty POST used to start a real DAG run. An interceptor, not a pipe:
 * it sees the body as parsed, before the global ValidationPipe reshapes it.
 */
@Injectable()
export class JsonObjectBody implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body: unknown = context.switchToHttp().getRequest<FastifyRequest>().body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException(
        'a JSON object is required as the body (`{}` runs the default DAG with its defaults)',
      );
    }
    return next.handle();
  }
}
