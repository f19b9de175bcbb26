import { ErrorDescriber } from '../common/errors/error-describer';
import { ModelLoadError, ModelNotFoundError, ModelNotReadyError } from './model.errors';

/** No such model is 404; one that cannot answer now (loading, failed load) is 503. */
export const describeModelError: ErrorDescriber = (error) => {
  if (error instanceof ModelNotFoundError) {
    return { status: 404, code: 'RESOURCE_DOES_NOT_EXIST', message: error.message };
  }
  if (error instanceof ModelNotReadyError || error instanceof ModelLoadError) {
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: error.message };
  }
  return undefined;
};
