import { describeClusterError } from '../cluster/cluster.error-map';
import { ErrorDescriber } from '../common/errors/error-describer';
import { describeModelError } from '../models/model.error-map';
import { ModelBusyError } from './admission';
import {
  InvalidInputError,
  PredictionCancelledError,
  UnsupportedMediaTypeError,
} from './inference.error';

/**
 * A prediction request the caller must fix: 400, or 415 for a content type the
 * protocol does not take; a model with every slot and its queue taken: 503
 * with Retry-After (MODEL_MAX_CONCURRENCY, MODEL_MAX_QUEUE; MODEL_BATCH_QUEUE
 * for a batched model); a caller gone before its turn: 499 (nginx's "client
 * closed request"; nobody reads it, the log and metrics do).
 */
export const describeInferenceError: ErrorDescriber = (error) => {
  if (error instanceof ModelBusyError) {
    const { message, retryAfterSeconds } = error;
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message, retryAfterSeconds };
  }
  if (error instanceof InvalidInputError) {
    return { status: 400, code: 'BAD_REQUEST', message: error.message };
  }
  if (error instanceof PredictionCancelledError) {
    return { status: 499, code: 'CANCELLED', message: error.message };
  }
  if (error instanceof UnsupportedMediaTypeError) {
    return { status: 415, code: 'BAD_REQUEST', message: error.message };
  }
  return undefined;
};

/**
 * What can reach the prediction routes: their own input errors, the models'
 * (not found, not ready) and the cluster's rate limit, which guards every route.
 */
export const INFERENCE_ERROR_MAP: readonly ErrorDescriber[] = [
  describeInferenceError,
  describeModelError,
  describeClusterError,
];
