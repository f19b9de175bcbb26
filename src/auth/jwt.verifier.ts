import { Logger } from '@nestjs/common';
import { JWTPayload, JWTVerifyGetKey, KeyLike, createRemoteJWKSet, errors, jwtVerify } from 'jose';
import { AuthConfig } from '../config/auth.config';
import { AuthenticationError, AuthenticationErrorCode } from './authentication.error';
import { Principal } from './principal';
import { SCOPES, Scope } from '../common/scopes';

export type JwtSettings = NonNullable<AuthConfig['jwt']>;

/** jose's default: a JWKS is kept 10 minutes before it is downloaded again. */
const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;

/**
 * Verifies access tokens from the identity provider: signature against its
 * JWKS (cached; downloaded again when a token names an unknown `kid`, at most
 * once per cooldown), issuer, audience, expiry with a small clock tolerance,
 * and only the configured asymmetric algorithms.
 */
export class JwtVerifier {
  private readonly logger = new Logger(JwtVerifier.name);
  private readonly jwks: JWTVerifyGetKey;

  constructor(private readonly settings: JwtSettings) {
    const remote = createRemoteJWKSet(new URL(settings.jwksUrl), {
      timeoutDuration: settings.jwksTimeoutMs,
      cooldownDuration: settings.jwksCooldownMs,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
    });
    // jose's timeout covers the wait for the answer's headers, not a body that
    // trickles: bound the whole look-up, so no request waits longer than that.
    this.jwks = (header, token) => withTimeout(remote(header, token), settings.jwksTimeoutMs);
  }

  async verify(token: string): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: this.settings.algorithms,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw this.mapped(error);
    }
    const name = [payload.sub, payload.client_id, payload.azp].find(
      (v): v is string => typeof v === 'string' && v !== '',
    );
    if (name === undefined) {
      throw new AuthenticationError(
        AuthenticationErrorCode.InvalidToken,
        'the token names no subject (sub)',
      );
    }
    return { name, kind: 'jwt', scopes: scopesOf(payload, this.settings.scopesClaim) };
  }

  /** Codes at the source: a bad token is the caller's; a JWKS we cannot read is ours. */
  private mapped(error: unknown): AuthenticationError {
    if (isJwksUnavailable(error)) {
      // The reason (refused, timeout, 500) is for the operator, not the caller.
      this.logger.warn({
        message: 'the JWKS could not be read: JWT callers get 503',
        reason: error instanceof Error ? error.message : String(error),
      });
      return new AuthenticationError(
        AuthenticationErrorCode.JwksUnavailable,
        'the identity provider’s keys cannot be read right now; try again shortly',
      );
    }
    if (error instanceof errors.JWTExpired) {
      return new AuthenticationError(AuthenticationErrorCode.InvalidToken, 'the token has expired');
    }
    if (error instanceof errors.JWTClaimValidationFailed) {
      return new AuthenticationError(
        AuthenticationErrorCode.InvalidToken,
        `the token's "${error.claim}" claim is not accepted`,
      );
    }
    if (error instanceof errors.JWKSNoMatchingKey) {
      return new AuthenticationError(
        AuthenticationErrorCode.InvalidToken,
        'no key of the identity provider matches the token',
      );
    }
    if (error instanceof errors.JOSEAlgNotAllowed) {
      return new AuthenticationError(
        AuthenticationErrorCode.InvalidToken,
        `the token's algorithm is not one of ${this.settings.algorithms.join(', ')}`,
      );
    }
    return new AuthenticationError(
      AuthenticationErrorCode.InvalidToken,
      error instanceof errors.JWSSignatureVerificationFailed
        ? 'the token signature does not verify'
        : 'the token is not a valid JWT',
    );
  }
}

/**
 * The JWKS download failed: a timeout, a network error (not a JOSEError), a
 * non-200 answer or a body that is no JWKS. Not: a token jose refused.
 */
function isJwksUnavailable(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  if (!(error instanceof errors.JOSEError)) return true;
  // fetch_jwks throws the base class for "Expected 200 OK" and unparseable JSON.
  return error.code === 'ERR_JOSE_GENERIC';
}

/**
 * Our scopes from the token: `scope` (space-separated, RFC 8693) or `scp`
 * (an array, as Azure AD and Okta write it), or API_JWT_SCOPES_CLAIM.
 * Scopes we do not know (`openid`, `email`) are ignored.
 */
export function scopesOf(payload: JWTPayload, claim?: string): ReadonlySet<Scope> {
  const raw = claim !== undefined ? payload[claim] : (payload.scope ?? payload.scp);
  const words =
    typeof raw === 'string'
      ? raw.split(/\s+/)
      : Array.isArray(raw)
        ? raw.filter((v): v is string => typeof v === 'string')
        : [];
  return new Set(words.filter((w): w is Scope => (SCOPES as readonly string[]).includes(w)));
}

function withTimeout(keys: Promise<KeyLike>, ms: number): Promise<KeyLike> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new errors.JWKSTimeout()), ms);
  });
  return Promise.race([keys, timeout]).finally(() => clearTimeout(timer));
}
