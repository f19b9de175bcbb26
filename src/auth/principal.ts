import type { FastifyRequest } from 'fastify';
import { SCOPES, Scope } from '../common/scopes';

/** Who is calling, as authentication established it before the body was read. */
export interface Principal {
  /** The API key's name, or the JWT's `sub`; `anonymous` when API_AUTH=off. */
  readonly name: string;
  readonly kind: 'api-key' | 'jwt' | 'anonymous';
  readonly scopes: ReadonlySet<Scope>;
  /** Model-name patterns the caller may use; undefined means every model. */
  readonly models?: readonly RegExp[];
}

/** The caller when API_AUTH=off: everything is allowed, and health says so. */
export const ANONYMOUS: Principal = {
  name: 'anonymous',
  kind: 'anonymous',
  scopes: new Set(SCOPES),
};

const PRINCIPAL = Symbol('modelgate.principal');

type WithPrincipal = FastifyRequest & { [PRINCIPAL]?: Principal };

/** Set once, by the authentication hook in onRequest. */
export function attachPrincipal(request: FastifyRequest, principal: Principal): void {
  (request as WithPrincipal)[PRINCIPAL] = principal;
}

/**
 * The caller of this request. Undefined only on routes authentication does not
 * cover (probes), or in unit tests that build requests by hand.
 */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return (request as WithPrincipal)[PRINCIPAL];
}

/** `admin` holds every scope. */
export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin');
}

/** Whether the caller may use the model named `name` (its key's model patterns). */
export function mayUseModel(principal: Principal, name: string): boolean {
  return principal.models === undefined || principal.models.some((pattern) => pattern.test(name));
}
