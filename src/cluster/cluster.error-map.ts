import { ErrorDescriber } from '../common/errors/error-describer';
import { RateLimitExceededError } from './rate-limit';

/** Over the shared rate limit: 429 (the guard has set Retry-After). */
export const describeClusterError: ErrorDescriber = (error) =>
  error instanceof RateLimitExceededError
    ? { status: 429, code: 'REQUEST_LIMIT_EXCEEDED', message: error.message }
    : undefined;
