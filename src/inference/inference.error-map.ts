import { describeClusterError } from '../cluster/cluster.error-map';
import { ErrorDescriber } from '../common/errors/error-describer';
import { describeModelError } from '../models/model.error-map';
import { InvalidInputError, UnsupportedMediaTypeError } from './inference.error';

/** A prediction request the caller must fix: 400, or 415 for a content type the protocol does not take. */
export const describeInferenceError: ErrorDescriber = (error) => {
  if (error instanceof InvalidInputError) {
    return { status: 400, code: 'BAD_REQUEST', message: error.message };
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
