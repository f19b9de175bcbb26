import {
  BadRequestException,
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  SetMetadata,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Observable } from 'rxjs';

/**
 * A JSON body JSON.parse refused. Most routes answer 400; the MLflow scoring
 * routes hand `text` to their own decoder, which also takes Python's NaN and
 * Infinity tokens, as MLflow's server does (Python clients send them).
 */
export class MalformedJsonBody {
  constructor(
    readonly reason: string,
    readonly text: string,
  ) {}
}

const LENIENT_JSON = 'modelgate:lenient-json';

/** Marks a route whose handler decodes malformed-looking JSON itself. */
export const LenientJson = (): MethodDecorator & ClassDecorator => SetMetadata(LENIENT_JSON, true);

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
        done(null, new MalformedJsonBody((error as Error).message, text));
      }
    },
  );
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) =>
    done(null, body),
  );
}

/** Rejects a malformed JSON body before validation pipes see it, unless the route is lenient. */
@Injectable()
export class MalformedJsonInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const body = context.switchToHttp().getRequest<FastifyRequest>().body;
    const lenient = this.reflector.getAllAndOverride<boolean>(LENIENT_JSON, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (body instanceof MalformedJsonBody && !lenient) {
      // Nest's own 400 (BAD_REQUEST, the message as is): common/ knows no feature's errors.
      throw new BadRequestException(`the request body is not valid JSON: ${body.reason}`);
    }
    return next.handle();
  }
}
