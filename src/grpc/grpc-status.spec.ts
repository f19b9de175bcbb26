import { Metadata, status } from '@grpc/grpc-js';
import { describeError } from '../common/errors/error-describer';
import { InvalidInputError } from '../inference/inference.error';
import { INFERENCE_ERROR_MAP } from '../inference/inference.error-map';
import { ModelBusyError } from '../inference/admission';
import { ModelNotFoundError, ModelNotReadyError } from '../models/model.errors';
import { grpcCodeOf, grpcFailureOf as sut } from './grpc-status';

const failureOf = (error: unknown) =>
  sut(describeError(error, INFERENCE_ERROR_MAP), new Metadata());

describe('gRPC status of an error', () => {
  it('is INVALID_ARGUMENT with the message for input the caller must fix', () => {
    const failure = failureOf(new InvalidInputError("input 'x': shape [1, 4] needs 4 values", 'x'));

    expect(failure.code).toBe(status.INVALID_ARGUMENT);
    expect(failure.details).toBe("input 'x': shape [1, 4] needs 4 values");
  });

  it('is NOT_FOUND for an unknown model and UNAVAILABLE for one not ready', () => {
    expect(failureOf(new ModelNotFoundError('nope')).code).toBe(status.NOT_FOUND);
    expect(failureOf(new ModelNotReadyError('iris', 'loading')).code).toBe(status.UNAVAILABLE);
  });

  it('is UNAVAILABLE with retry-after in the trailers for a busy model', () => {
    const failure = failureOf(new ModelBusyError('iris', { maxConcurrent: 1, maxQueued: 0 }));

    expect(failure.code).toBe(status.UNAVAILABLE);
    expect(failure.metadata.get('retry-after')).toEqual(['1']);
  });

  it('is INTERNAL only for what is ours', () => {
    expect(failureOf(new TypeError('boom')).code).toBe(status.INTERNAL);
  });

  it.each([
    [401, status.UNAUTHENTICATED],
    [403, status.PERMISSION_DENIED],
    [413, status.RESOURCE_EXHAUSTED],
    [415, status.INVALID_ARGUMENT],
    [429, status.RESOURCE_EXHAUSTED],
    [409, status.FAILED_PRECONDITION],
    [502, status.UNAVAILABLE],
    [504, status.DEADLINE_EXCEEDED],
    [422, status.FAILED_PRECONDITION],
  ])('maps HTTP %d to gRPC code %d', (http, code) => {
    expect(grpcCodeOf(http)).toBe(code);
  });
});
