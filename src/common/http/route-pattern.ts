import type { FastifyRequest } from 'fastify';

const PATTERN = Symbol('routePattern');

type WithPattern = FastifyRequest & { [PATTERN]?: string | null };

/**
 * The pattern of the route the request matched (`/v1/models/:ref/invocations`),
 * or undefined when it matched none (Fastify's 404 handler serves it).
 *
 * Fastify's `request.routeOptions` builds an eleven-field object on every
 * read, and the hooks of every request ask for the pattern several times
 * (request log, authentication, 405s, metrics, tracing): the first answer is
 * kept on the request. A request's route does not change once it is routed
 * (only `reply.callNotFound()` would move it to the 404 handler, and nothing
 * here calls it).
 */
export function routePattern(request: FastifyRequest): string | undefined {
  const kept = (request as WithPattern)[PATTERN];
  if (kept !== undefined) return kept ?? undefined;
  const pattern = request.routeOptions.url;
  (request as WithPattern)[PATTERN] = pattern ?? null;
  return pattern;
}
