import Fastify, { FastifyRequest } from 'fastify';
import { routePattern } from './route-pattern';

describe('routePattern', () => {
  it('gives the matched route’s pattern, reading Fastify’s routeOptions once per request', async () => {
    const fastify = Fastify();
    const seen: (string | undefined)[] = [];
    let reads = 0;
    fastify.addHook('onRequest', (request, _reply, done) => {
      const descriptor = Object.getOwnPropertyDescriptor(
        Object.getPrototypeOf(request) as object,
        'routeOptions',
      );
      // Count the reads of this request's routeOptions (Fastify's getter).
      Object.defineProperty(request, 'routeOptions', {
        get: () => {
          reads++;
          return descriptor?.get?.call(request) as FastifyRequest['routeOptions'];
        },
      });
      seen.push(routePattern(request), routePattern(request));
      done();
    });
    fastify.get('/v1/models/:name', (request) => ({ again: routePattern(request) }));
    try {
      const reply = await fastify.inject({ method: 'GET', url: '/v1/models/iris' });
      expect(reply.json()).toEqual({ again: '/v1/models/:name' });
      expect(seen).toEqual(['/v1/models/:name', '/v1/models/:name']);
      expect(reads).toBe(1);

      await fastify.inject({ method: 'GET', url: '/no/such/route' });
      expect(seen.slice(2)).toEqual([undefined, undefined]);
      expect(reads).toBe(2);
    } finally {
      await fastify.close();
    }
  });
});
