import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseModelReference } from '../common/model-reference';
import { sendErrorReply } from '../common/http/error-reply';
import { routePattern } from '../common/http/route-pattern';
import { AuthenticationError, AuthenticationErrorCode } from './authentication.error';
import { Authenticator, Credentials } from './authenticator.service';
import { ANONYMOUS, Principal, attachPrincipal, hasScope, mayUseModel } from './principal';
import { ModelParam, RouteAccess, routeAccessOf } from './route-scopes';

const REALM = 'Bearer realm="modelgate"';
/** Seconds a JWT caller should wait when the JWKS is down: about one download timeout. */
const JWKS_RETRY_AFTER_SECONDS = 5;

/**
 * Authentication and scopes, in `onRequest`: after routing (the route's
 * pattern and parameters are known) and before any body is read, so a caller
 * without credentials cannot make the server read, buffer or parse anything.
 * An unknown route is left to the router's 404.
 */
export function registerAuthentication(fastify: FastifyInstance, auth: Authenticator): void {
  // Callback style, not async: most requests are decided synchronously (an
  // open route, API_AUTH=off), and then cost no promise.
  fastify.addHook('onRequest', (request, reply, done) => {
    const pattern = routePattern(request);
    if (pattern === undefined) return done();
    const decide = (refusal: Refusal | undefined): void => {
      // An answer sent from a callback hook ends the request: done is not called.
      if (refusal) sendRefusal(reply, request.url, refusal);
      else done();
    };
    const refusal = check(request, routeAccessOf(request.method, pattern), auth);
    if (refusal instanceof Promise) refusal.then(decide, done);
    else decide(refusal);
  });
}

/** A decision now, or one that waits on a credential check (a JWT's key set). */
type Decision = Refusal | undefined | Promise<Refusal | undefined>;

interface Refusal {
  status: 401 | 403 | 404 | 503;
  message: string;
  /** RFC 6750 `error` of the WWW-Authenticate challenge. */
  challengeError?: 'invalid_token';
}

function check(request: FastifyRequest, access: RouteAccess, auth: Authenticator): Decision {
  switch (access.kind) {
    case 'open':
    case 'own-credentials':
      return undefined;
    case 'metrics':
      // Its own token, whatever API_AUTH says: Prometheus is configured apart from clients.
      return auth.metricsAllowed(credentialsOf(request).bearer)
        ? undefined
        : { status: 401, message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>' };
    case 'docs':
      if (auth.config.docs === 'off') {
        return { status: 404, message: 'the API documentation is off (API_DOCS=off)' };
      }
      if (auth.config.docs === 'open') return undefined;
      return authorize(request, { kind: 'scope', scope: 'read' }, auth);
    case 'scope':
      return authorize(request, access, auth);
  }
}

function authorize(
  request: FastifyRequest,
  access: Extract<RouteAccess, { kind: 'scope' }>,
  auth: Authenticator,
): Decision {
  if (!auth.enabled) {
    attachPrincipal(request, ANONYMOUS);
    return undefined;
  }
  return authorizeCaller(request, access, auth);
}

async function authorizeCaller(
  request: FastifyRequest,
  access: Extract<RouteAccess, { kind: 'scope' }>,
  auth: Authenticator,
): Promise<Refusal | undefined> {
  let principal: Principal;
  try {
    principal = await auth.authenticate(credentialsOf(request));
  } catch (error) {
    if (error instanceof AuthenticationError) return refusalOf(error);
    throw error;
  }
  attachPrincipal(request, principal);
  if (!hasScope(principal, access.scope)) {
    return { status: 403, message: `this route needs the "${access.scope}" scope` };
  }
  // Only a credential limited to some models needs the model named by the URL.
  const model =
    access.model && principal.models !== undefined
      ? modelOf(request, access.model, auth)
      : undefined;
  if (model !== undefined && !mayUseModel(principal, model)) {
    return { status: 403, message: `this credential may not use the model "${model}"` };
  }
  return undefined;
}

function refusalOf(error: AuthenticationError): Refusal {
  switch (error.code) {
    case AuthenticationErrorCode.JwksUnavailable:
      return { status: 503, message: error.message };
    case AuthenticationErrorCode.InvalidToken:
      return { status: 401, message: error.message, challengeError: 'invalid_token' };
    case AuthenticationErrorCode.MissingCredentials:
    case AuthenticationErrorCode.UnknownKey:
      return { status: 401, message: error.message };
  }
}

function sendRefusal(reply: FastifyReply, url: string, refusal: Refusal): void {
  if (refusal.status === 401) {
    const error = refusal.challengeError ? `, error="${refusal.challengeError}"` : '';
    void reply.header('www-authenticate', `${REALM}${error}`);
  }
  if (refusal.status === 503) void reply.header('retry-after', String(JWKS_RETRY_AFTER_SECONDS));
  sendErrorReply(reply, url, {
    status: refusal.status,
    code: CODES[refusal.status],
    message: refusal.message,
  });
}

/** MLflow's codes (mlflow/protos/databricks.proto), used in every format's error code. */
const CODES: Record<Refusal['status'], string> = {
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'ENDPOINT_NOT_FOUND',
  503: 'TEMPORARILY_UNAVAILABLE',
};

/** `X-API-Key`, and the token of `Authorization: Bearer …` (scheme case-insensitive). */
function credentialsOf(request: FastifyRequest): Credentials {
  const apiKey = request.headers['x-api-key'];
  const authorization = request.headers.authorization;
  const bearer =
    typeof authorization === 'string'
      ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1]
      : undefined;
  return { apiKey: typeof apiKey === 'string' ? apiKey.trim() : undefined, bearer };
}

/**
 * The model name the URL names, parsed as the route will parse it; undefined
 * when it does not parse (the route answers 400 then, using no model).
 */
function modelOf(
  request: FastifyRequest,
  param: ModelParam,
  auth: Authenticator,
): string | undefined {
  if (param === 'default') return auth.defaultModelName;
  const value = (request.params as Record<string, string | undefined>)[param];
  if (value === undefined) return undefined;
  try {
    return parseModelReference(value).name;
  } catch {
    return undefined;
  }
}
