import type { FastifyRequest } from 'fastify';
import { Principal, principalOf } from '../auth/principal';

/** What a protocol adapter knows of who calls, for the rollout's sticky key. */
export interface CallerFacts {
  /** The first value of a request header (REST) or text metadata key (gRPC), by lower-case name. */
  header(name: string): string | undefined;
  /** As authentication established it; undefined on routes it does not cover. */
  readonly principal?: Pick<Principal, 'name' | 'kind'>;
  /** The client's address (REST: as Fastify's trustProxy reads it; gRPC: the peer). */
  readonly address?: string;
}

/**
 * The key that keeps a caller on one side of a canary: the sticky header's
 * value (a tenant or user id the client chooses), else the name of the API
 * key or JWT subject that authenticated it, else its address. Each is
 * prefixed with what it is, so a header's value never stands for a key of
 * the same name.
 */
export function callerKey(caller: CallerFacts | undefined, stickyHeader: string): string {
  const sticky = caller?.header(stickyHeader)?.trim();
  if (sticky) return `header:${sticky}`;
  const principal = caller?.principal;
  if (principal && principal.kind !== 'anonymous') return `${principal.kind}:${principal.name}`;
  return `address:${caller?.address ?? 'unknown'}`;
}

/** The caller of a REST request. */
export function httpCaller(request: FastifyRequest): CallerFacts {
  return {
    header: (name) => {
      const value = request.headers[name];
      return Array.isArray(value) ? value[0] : value;
    },
    principal: principalOf(request),
    address: request.ip,
  };
}
