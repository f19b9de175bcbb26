import { ErrorDescriber, ErrorDescription } from '../common/errors/error-describer';
import {
  AirflowNotConfiguredError,
  TrainingErrorCode,
  TrainingRequestError,
} from './training.errors';

/** A refused training request: which status and MLflow-style code each rule's failure reads as. */
const REFUSALS: Record<TrainingErrorCode, Omit<ErrorDescription, 'message'>> = {
  unknown_dag: { status: 404, code: 'RESOURCE_DOES_NOT_EXIST' },
  invalid_request: { status: 400, code: 'BAD_REQUEST' },
  missing_scope: { status: 403, code: 'PERMISSION_DENIED' },
};

/**
 * Training refused by the operator's rules (TRAINING_DAGS, TRAINING_CONF_KEYS,
 * the promote scope) is the caller's 4xx; training without Airflow configured
 * is a 503, the operator's to fix, naming the variables to set.
 */
export const describeTrainingError: ErrorDescriber = (error) => {
  if (error instanceof TrainingRequestError) {
    return { ...REFUSALS[error.code], message: error.message };
  }
  if (error instanceof AirflowNotConfiguredError) {
    return { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: error.message };
  }
  return undefined;
};
