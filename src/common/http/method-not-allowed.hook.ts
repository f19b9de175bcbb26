import type { FastifyInstance } from 'fastify';
import { sendErrorReply } from './error-reply';
import { routePattern } from './route-pattern';

/**
 * The methods each route path answers, from Fastify's own route table, so that
 * a wrong method on a known path is a 405 with `Allow` (RFC 9110 §15.5.6)
 * rather than the router's 404.
 */
export class RouteMethods {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  /** A Fastify route path: `/v1/models/:name/reload`, `/docs/*`. */
  add(url: string, methods: readonly string[]): void {
    const source = url
      .split('/')
      .map((segment) =>
        segment.startsWith(':')
          ? '[^/]+'
          : segment === '*'
            ? '.*'
            : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
      )
      .join('/');
    const existing = this.routes.find((r) => r.pattern.source === `^${source}$`);
    const target = existing?.methods ?? new Set<string>();
    for (const method of methods) target.add(method.toUpperCase());
    if (!existing) this.routes.push({ pattern: new RegExp(`^${source}$`), methods: target });
  }

  /** Every method some route answers on this request path (no query), sorted. */
  allowed(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.routes) {
      if (route.pattern.test(path)) for (const method of route.methods) methods.add(method);
    }
    return [...methods].sort();
  }
}

/**
 * Registers the route table (every route added after this call) and answers a
 * request that matched no route, on a path that exists with other methods,
 * 405 in the format of the route the URL names. Call before routes are added.
 */
export function registerMethodNotAllowed(fastify: FastifyInstance): void {
  const table = new RouteMethods();
  fastify.addHook('onRoute', (route) => {
    table.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    // A request no route matched has no route URL (Fastify's 404 handler serves it).
    if (routePattern(request) !== undefined) {
      done();
      return;
    }
    const path = request.url.split('?')[0];
    const allowed = table.allowed(path);
    if (allowed.length === 0) {
      done();
      return;
    }
    void sendErrorReply(reply.header('allow', allowed.join(', ')), request.url, {
      status: 405,
      code: 'BAD_REQUEST',
      message: `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
    });
  });
}
