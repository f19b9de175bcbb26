import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';
import { InvalidInputError } from '../../inference/inference.error';

/** A JSON body that did not parse; turned into a 400 in the caller's protocol. */
export class MalformedJsonBody {
  constructor(readonly reason: string) {}
}

/**
 * Body parsing for every route. Fastify's own JSON parser answers a bad body
 * with its own error shape before our routes run; here a bad body reaches the
 * route's error filter, which answers in the caller's protocol (MLflow scoring
 * or Open Inference). CSV and any other content type arrive as text, so the
 * MLflow codec can parse CSV and answer 415 for the rest, as MLflow does.
 */
export function registerBodyParsers(fastify: FastifyInstance): void {
  fastify.removeContentTypeParser('application/json');
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (_request, body, done) => {
      const text = body as string;
      if (text.length === 0) {
        done(null, undefined);
        return;
      }
      try {
        done(null, JSON.parse(text));
      } catch (error) {
        done(null, new MalformedJsonBody((error as Error).message));
      }
    },
  );
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );
}

/** Rejects a malformed JSON body before validation pipes see it. */
@Injectable()
export class MalformedJsonInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = context.switchToHttp().getRequest<FastifyRequest>().body;
    if (body instanceof MalformedJsonBody) {
      throw new InvalidInputError(`the request body is not valid JSON: ${body.reason}`);
    }
    return next.handle();
  }
}
