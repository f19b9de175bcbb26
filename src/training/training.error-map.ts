import { ErrorDescriber } from '../common/errors/error-describer';
import { AirflowNotConfiguredError } from './training.errors';

/** Training without Airflow configured: 503, the operator's to fix, naming the variables to set. */
export const describeTrainingError: ErrorDescriber = (error) =>
  error instanceof AirflowNotConfiguredError
    ? { status: 503, code: 'TEMPORARILY_UNAVAILABLE', message: error.message }
    : undefined;
