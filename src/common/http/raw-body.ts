import type { FastifyRequest } from 'fastify';

/** Bodies kept as received, for routes whose caller signs the bytes (SIGNED_BODY_ROUTE). */
const RAW_BODIES = new WeakMap<object, Buffer>();

export function keepRawBody(request: FastifyRequest, body: Buffer): void {
  RAW_BODIES.set(request.raw, body);
}

/** The body exactly as it arrived; empty when none was sent (or the route keeps none). */
export function rawBodyOf(request: FastifyRequest): Buffer {
  return RAW_BODIES.get(request.raw) ?? Buffer.alloc(0);
}
