import type { FastifyInstance } from 'fastify';
import { errorContentType, errorProtocolOf } from './error-reply';

/**
 * Error answers carry exactly the content type their protocol's clients look
 * for (errorContentType: bare `application/json` on Open Inference routes,
 * where KServe's REST client reads the message only under that exact type).
 * Fastify appends `; charset=utf-8` to every JSON answer it serializes, so
 * the type is set again here, after serialization; success answers keep
 * Fastify's.
 */
export function registerErrorContentType(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (reply.statusCode >= 400) {
      const sent = reply.getHeader('content-type');
      if (typeof sent === 'string' && sent.startsWith('application/json')) {
        void reply.header('content-type', errorContentType(errorProtocolOf(request.url)));
      }
    }
    done(null, payload);
  });
}
