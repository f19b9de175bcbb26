import { ErrorDescriber } from '../common/errors/error-describer';
import {
  ModelInputRejectedError,
  ModelLoadError,
  ModelNotFoundError,
  ModelNotReadyError,
  ModelPinnedError,
  ModelRuntimeError,
  ModelUnavailableError,
  VetoNotFoundError,
} from './model.errors';

/**
 * No such model (or no veto to lift) is 404; input the runtime refused is the caller's 400; a model
 * that cannot answer now (loading, failed load, its scoring server down) is
 * 503, retryable; a model that failed on input it accepted is our 500;
 * unloading a model of MODELS is a 409 (the server's state forbids it).
 */
export const describeModelError: ErrorDescriber = (error) => {
  if (error instanceof ModelNotFoundError || error instanceof VetoNotFoundError) {
    return { status: 404, code: 'RESOURCE_DOES_NOT_EXIST', message: error.message };
  }
  if (error instanceof ModelInputRejectedError) {
    return { status: 400, code: 'BAD_REQUEST', message: error.message };
  }
  if (
    error instanceof ModelNotReadyError ||
    error instanceof ModelLoadError ||
    error instanceof ModelUnavailableError
  ) {
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: error.message };
  }
  if (error instanceof ModelPinnedError) {
    return { status: 409, code: 'INVALID_STATE', message: error.message };
  }
  if (error instanceof ModelRuntimeError) {
    return { status: 500, code: 'INTERNAL_ERROR', message: error.message };
  }
  return undefined;
};
