import { status } from '@grpc/grpc-js';
import { describeError } from '../common/errors/error-describer';
import { grpcCodeOf } from '../grpc/grpc-status';
import { ModelBusyError } from './admission';
import { INFERENCE_ERROR_MAP } from './inference.error-map';
import {
  InvalidInputError,
  PredictionCancelledError,
  UnsupportedMediaTypeError,
} from './inference.error';

describe('inference errors', () => {
  it('carries the message and the field at fault', () => {
    const sut = new InvalidInputError(`column 'age' row 3: expected a double`, 'age');

    expect(sut).toBeInstanceOf(Error);
    expect(sut.name).toBe('InvalidInputError');
    expect(sut.message).toBe(`column 'age' row 3: expected a double`);
    expect(sut.field).toBe('age');
  });

  it('has no field when none is named', () => {
    expect(new InvalidInputError('bad').field).toBeUndefined();
  });

  it('names the unsupported media type error', () => {
    const sut = new UnsupportedMediaTypeError('unsupported content type');

    expect(sut).toBeInstanceOf(Error);
    expect(sut.name).toBe('UnsupportedMediaTypeError');
  });

  it("describes a caller gone before its turn as the client's 499 (CANCELLED over gRPC)", () => {
    const described = describeError(new PredictionCancelledError('iris/1'), INFERENCE_ERROR_MAP);

    expect(described).toEqual({
      status: 499,
      code: 'CANCELLED',
      message: 'the caller went away before model iris/1 ran its request',
    });
    expect(grpcCodeOf(described.status)).toBe(status.CANCELLED);
  });

  it("describes a full batch queue as admission's: 503 with Retry-After", () => {
    const busy = new ModelBusyError('iris/1', { maxConcurrent: 1, maxQueued: 256 });

    expect(describeError(busy, INFERENCE_ERROR_MAP)).toMatchObject({
      status: 503,
      code: 'TEMPORARILY_UNAVAILABLE',
      retryAfterSeconds: 1,
    });
  });
});
