/**
 * Errors raised by the clients of outside systems (MLflow, Airflow).
 *
 * Each class is a decision a caller can make: retry later, fix the request,
 * fix the credentials, or treat the thing as absent. HTTP status codes for our
 * own callers are chosen by exception filters at the edge, never here.
 */
export type UpstreamService = 'mlflow' | 'airflow' | 'scoring-server';

/** Why a call could not complete; drives retries and the health check's hints. */
export type UpstreamFailureReason =
  | 'connection_refused'
  | 'connection_reset'
  | 'timeout'
  | 'dns'
  | 'tls'
  | 'rate_limited'
  | 'server_error'
  | 'network'
  | 'unauthorized'
  | 'forbidden'
  | 'rejected_host'
  | 'not_found'
  | 'invalid_request'
  | 'conflict';

export interface UpstreamErrorDetails {
  /** HTTP status of the upstream answer, when there was one. */
  status?: number;
  /** The upstream's own error code, e.g. MLflow's `RESOURCE_DOES_NOT_EXIST`. */
  upstreamCode?: string;
  /** The upstream's own message, without our description of the request. */
  upstreamMessage?: string;
  /** Delay the upstream asked for (429 / 503 Retry-After), in milliseconds. */
  retryAfterMs?: number;
  /** How many attempts were made before giving up. */
  attempts?: number;
}

export abstract class UpstreamError extends Error {
  abstract readonly retryable: boolean;

  /**
   * @param description what failed, in our words without the service's name
   *   (`GET /api/2.0/… → 404 RESOURCE_DOES_NOT_EXIST: …`); `message` is it
   *   with the service's name in front. The upstream's own words are kept
   *   apart in `details.upstreamMessage`: whoever shows the error composes
   *   what it needs from the parts, and nothing strips a message again.
   */
  constructor(
    readonly service: UpstreamService,
    readonly reason: UpstreamFailureReason,
    readonly description: string,
    readonly details: UpstreamErrorDetails = {},
  ) {
    super(`${service}: ${description}`);
    this.name = new.target.name;
  }

  /** The upstream's own message, when it answered with one. */
  get upstreamMessage(): string | undefined {
    return this.details.upstreamMessage;
  }

  get status(): number | undefined {
    return this.details.status;
  }

  /** A copy that records how many attempts were made. */
  withAttempts(attempts: number): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this, { details: { ...this.details, attempts } });
    copy.message = this.message;
    copy.stack = this.stack;
    return copy;
  }
}

/** The thing asked for does not exist upstream (404, MLflow RESOURCE_DOES_NOT_EXIST). */
export class UpstreamNotFoundError extends UpstreamError {
  readonly retryable = false;
}

/** Credentials missing or wrong (401), not allowed (403), or host header rejected. */
export class UpstreamUnauthorizedError extends UpstreamError {
  readonly retryable = false;
}

/** The upstream refused the request as malformed or conflicting (400, 409, 422). */
export class UpstreamInvalidRequestError extends UpstreamError {
  readonly retryable = false;
}

/** Could not reach the upstream, or it is overloaded or failing: worth retrying. */
export class UpstreamTransientError extends UpstreamError {
  readonly retryable = true;
}

/**
 * What about a TLS handshake failed, each fixed in its own place: the
 * certificate's dates, this server's trust store, the name in the URL or the
 * certificate, or the scheme/port (no TLS there at all).
 */
export type TlsProblem = 'expired' | 'self_signed' | 'untrusted_issuer' | 'wrong_name' | 'protocol';

/** Node/OpenSSL error codes of a failed TLS handshake, by what they mean. */
export const TLS_PROBLEMS: Readonly<Record<string, TlsProblem>> = {
  CERT_HAS_EXPIRED: 'expired',
  CERT_NOT_YET_VALID: 'expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self_signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'self_signed',
  UNABLE_TO_GET_ISSUER_CERT: 'untrusted_issuer',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'untrusted_issuer',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'untrusted_issuer',
  ERR_TLS_CERT_ALTNAME_INVALID: 'wrong_name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'protocol',
  EPROTO: 'protocol',
};

/** What a Node/OpenSSL error code says about a TLS handshake; undefined: not a TLS code. */
export function tlsProblemOf(code: string): TlsProblem | undefined {
  return Object.prototype.hasOwnProperty.call(TLS_PROBLEMS, code) ? TLS_PROBLEMS[code] : undefined;
}

/** TLS handshake or certificate failure: a configuration problem, not retried. */
export class UpstreamTlsError extends UpstreamError {
  readonly retryable = false;

  /**
   * @param code the Node/OpenSSL code (`CERT_HAS_EXPIRED`…); {@link problem}
   *   is read from it, `protocol` for a code not in {@link TLS_PROBLEMS}.
   */
  constructor(
    service: UpstreamService,
    description: string,
    readonly code: string,
  ) {
    super(service, 'tls', description);
  }

  get problem(): TlsProblem {
    return tlsProblemOf(this.code) ?? 'protocol';
  }
}
