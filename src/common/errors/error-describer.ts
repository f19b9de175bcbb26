import { HttpException } from '@nestjs/common';
import { InvalidModelReferenceError } from '../model-reference';
import { FeatureDisabledError } from './feature-disabled.error';
import {
  UpstreamError,
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
  UpstreamTransientError,
} from '../upstream/upstream.error';

/** How an error reads to a caller: HTTP status, an MLflow-style code, a message. */
export interface ErrorDescription {
  status: number;
  /** MLflow's error codes (mlflow/protos/databricks.proto), so MLflow clients understand them. */
  code: string;
  message: string;
  /** Sent as Retry-After: the refusal is temporary and this many seconds should do. */
  retryAfterSeconds?: number;
}

/**
 * One feature's mapping from its own errors to HTTP: a description for an
 * error it knows, `undefined` for any other. Each feature keeps its describer
 * beside its errors (`inference/inference.error-map.ts`, `models/model.error-map.ts`…)
 * and the edge hands the describers to the exception filters, so nothing in
 * common/ needs to know which features exist.
 */
export type ErrorDescriber = (error: unknown) => ErrorDescription | undefined;

/**
 * The error as a caller sees it: the first feature describer that knows it,
 * else common's own errors (model references, upstream failures, Nest's
 * HttpException), else a 500. Bad input is a 4xx naming what was wrong; a
 * dependency that cannot answer is a 502/503; only our own faults are 500.
 */
export function describeError(
  error: unknown,
  describers: readonly ErrorDescriber[],
): ErrorDescription {
  for (const describe of describers) {
    const description = describe(error);
    if (description) return description;
  }
  return describeCommonError(error) ?? INTERNAL_ERROR;
}

/** What callers read of a fault that is ours; the details go to the log, with the request id. */
export const INTERNAL_ERROR: ErrorDescription = {
  status: 500,
  code: 'INTERNAL_ERROR',
  message: 'internal error',
};

function describeCommonError(error: unknown): ErrorDescription | undefined {
  if (error instanceof InvalidModelReferenceError) {
    return { status: 400, code: 'BAD_REQUEST', message: error.message };
  }
  if (error instanceof UpstreamError) {
    return describeUpstream(error);
  }
  if (error instanceof FeatureDisabledError) {
    return { status: 503, code: error.code, message: error.message };
  }
  if (error instanceof HttpException) {
    return describeHttpException(error);
  }
  return undefined;
}

function describeHttpException(error: HttpException): ErrorDescription {
  const status = error.getStatus();
  if (status === 500) {
    // A 500 thrown as an HttpException is still our fault: its text is internal.
    return { ...INTERNAL_ERROR, status };
  }
  const response = error.getResponse();
  const message =
    typeof response === 'string'
      ? response
      : (flatten((response as { message?: string | string[] }).message) ?? error.message);
  return {
    status,
    code: HTTP_STATUS_CODES[status] ?? (status < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR'),
    message,
  };
}

/** MLflow's codes (databricks.proto) for the statuses Nest's own exceptions carry (guards, pipes). */
const HTTP_STATUS_CODES: Readonly<Record<number, string>> = {
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'RESOURCE_DOES_NOT_EXIST',
  429: 'REQUEST_LIMIT_EXCEEDED',
  503: 'TEMPORARILY_UNAVAILABLE',
};

function describeUpstream(error: UpstreamError): ErrorDescription {
  const message = error.message;
  if (error instanceof UpstreamNotFoundError) {
    return { status: 404, code: 'RESOURCE_DOES_NOT_EXIST', message };
  }
  if (error instanceof UpstreamInvalidRequestError) {
    return {
      status: error.reason === 'conflict' ? 409 : 400,
      code: 'INVALID_PARAMETER_VALUE',
      message,
    };
  }
  if (error instanceof UpstreamTransientError) {
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message };
  }
  // Our credentials or configuration for the upstream are wrong: not the caller's fault.
  return { status: 502, code: 'TEMPORARILY_UNAVAILABLE', message };
}

function flatten(message: string | string[] | undefined): string | undefined {
  return Array.isArray(message) ? message.join('; ') : message;
}
