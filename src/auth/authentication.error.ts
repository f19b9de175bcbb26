/**
 * Why a caller was not let in, as the authenticator knows it; the hook maps
 * each code to a status (401, 403, 503) and the route's error format.
 */
export enum AuthenticationErrorCode {
  /** No API key and no bearer token. */
  MissingCredentials = 'missing_credentials',
  /** An API key that matches no configured key. */
  UnknownKey = 'unknown_key',
  /** A JWT that failed verification: signature, expiry, issuer, audience, algorithm. */
  InvalidToken = 'invalid_token',
  /** The identity provider's JWKS could not be read in time: the token may be fine. */
  JwksUnavailable = 'jwks_unavailable',
}

export class AuthenticationError extends Error {
  constructor(
    readonly code: AuthenticationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = AuthenticationError.name;
  }
}
