import { Metadata, status as GrpcStatus } from '@grpc/grpc-js';
import { ErrorDescription } from '../common/errors/error-describer';

/**
 * The gRPC code for an HTTP status the shared error describers chose, after
 * google/rpc/code.proto's table (each code's HTTP mapping), read backwards:
 * the caller's faults stay the caller's (never INTERNAL), a dependency or a
 * model that cannot answer now is UNAVAILABLE (retryable), overload is
 * RESOURCE_EXHAUSTED (429) or UNAVAILABLE (503).
 */
export function grpcCodeOf(httpStatus: number): GrpcStatus {
  switch (httpStatus) {
    case 400:
    case 415:
      return GrpcStatus.INVALID_ARGUMENT;
    case 401:
      return GrpcStatus.UNAUTHENTICATED;
    case 403:
      return GrpcStatus.PERMISSION_DENIED;
    case 404:
      return GrpcStatus.NOT_FOUND;
    case 405:
    case 501:
      return GrpcStatus.UNIMPLEMENTED;
    case 409:
      // A refusal by the server's state (unloading a model MODELS pins):
      // retrying will not help, which is FAILED_PRECONDITION, not ABORTED.
      return GrpcStatus.FAILED_PRECONDITION;
    case 413:
    case 429:
      return GrpcStatus.RESOURCE_EXHAUSTED;
    case 499:
      return GrpcStatus.CANCELLED;
    case 502:
    case 503:
      return GrpcStatus.UNAVAILABLE;
    case 504:
      return GrpcStatus.DEADLINE_EXCEEDED;
    default:
      return httpStatus >= 400 && httpStatus < 500
        ? GrpcStatus.FAILED_PRECONDITION
        : GrpcStatus.INTERNAL;
  }
}

/** What a failed call answers: code, details, and retry-after in the trailers when the refusal says. */
export interface GrpcFailure {
  code: GrpcStatus;
  details: string;
  metadata: Metadata;
}

export function grpcFailureOf(description: ErrorDescription, trailers: Metadata): GrpcFailure {
  if (description.retryAfterSeconds !== undefined) {
    trailers.set('retry-after', String(description.retryAfterSeconds));
  }
  return { code: grpcCodeOf(description.status), details: description.message, metadata: trailers };
}

/** A refusal the call pipeline decides itself (credentials, scopes, rate limit, draining). */
export class GrpcRefusal extends Error {
  constructor(
    readonly code: GrpcStatus,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'GrpcRefusal';
  }
}

/** Its name as grpc-js spells it (`INVALID_ARGUMENT`), for logs and metric labels. */
export function grpcCodeName(code: GrpcStatus): string {
  return GrpcStatus[code] ?? String(code);
}
