import { HttpException } from '@nestjs/common';
import { RateLimitExceededError } from '../../cluster/rate-limit';
import { ModelBusyError } from '../../inference/admission';
import { InvalidInputError, UnsupportedMediaTypeError } from '../../inference/inference.error';
import { ModelLoadError, ModelNotFoundError, ModelNotReadyError } from '../../models/model.errors';
import { InvalidModelReferenceError } from '../model-reference';
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
 * The one place errors become HTTP statuses. Bad input is a 4xx naming what
 * was wrong; a dependency that cannot answer is a 503; only our own bugs are 500.
 */
export function describeError(error: unknown): ErrorDescription {
  if (error instanceof InvalidInputError || error instanceof InvalidModelReferenceError) {
    return { status: 400, code: 'BAD_REQUEST', message: error.message };
  }
  if (error instanceof UnsupportedMediaTypeError) {
    return { status: 415, code: 'BAD_REQUEST', message: error.message };
  }
  if (error instanceof ModelNotFoundError) {
    return { status: 404, code: 'RESOURCE_DOES_NOT_EXIST', message: error.message };
  }
  if (error instanceof ModelNotReadyError || error instanceof ModelLoadError) {
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: error.message };
  }
  if (error instanceof ModelBusyError) {
    const { message, retryAfterSeconds } = error;
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message, retryAfterSeconds };
  }
  if (error instanceof RateLimitExceededError) {
    return { status: 429, code: 'REQUEST_LIMIT_EXCEEDED', message: error.message };
  }
  if (error instanceof UpstreamError) {
    return describeUpstream(error);
  }
  if (error instanceof HttpException) {
    const response = error.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : (flatten((response as { message?: string | string[] }).message) ?? error.message);
    return {
      status: error.getStatus(),
      code: error.getStatus() < 500 ? 'BAD_REQUEST' : 'INTERNAL_ERROR',
      message,
    };
  }
  return { status: 500, code: 'INTERNAL_ERROR', message: 'internal error' };
}

function describeUpstream(error: UpstreamError): ErrorDescription {
  if (error instanceof UpstreamNotFoundError) {
    return { status: 404, code: 'RESOURCE_DOES_NOT_EXIST', message: error.message };
  }
  if (error instanceof UpstreamInvalidRequestError) {
    return {
      status: error.reason === 'conflict' ? 409 : 400,
      code: 'INVALID_PARAMETER_VALUE',
      message: error.message,
    };
  }
  if (error instanceof UpstreamTransientError) {
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: error.message };
  }
  // Our credentials or configuration for the upstream are wrong: not the caller's fault.
  return { status: 502, code: 'TEMPORARILY_UNAVAILABLE', message: error.message };
}

function flatten(message: string | string[] | undefined): string | undefined {
  return Array.isArray(message) ? message.join('; ') : message;
}
