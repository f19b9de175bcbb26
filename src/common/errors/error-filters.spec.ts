import {
  ArgumentsHost,
  BadRequestException,
  ForbiddenException,
  Logger,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { FeatureDisabledError } from './feature-disabled.error';
import { UpstreamTransientError } from '../upstream/upstream.error';
import { ErrorDescriber } from './error-describer';
import {
  ApiExceptionFilter,
  MlflowScoringExceptionFilter,
  OpenInferenceExceptionFilter,
} from './error-filters';
import { ErrorReportLimiter } from './error-report.limiter';

class TeapotError extends Error {}
const describeTeapot: ErrorDescriber = (error) =>
  error instanceof TeapotError
    ? { status: 418, code: 'TEAPOT', message: error.message }
    : undefined;

/** A Fastify reply as far as the filters use it, recording what was sent. */
class FakeReply {
  statusCode = 200;
  body: unknown;
  contentType?: string;
  constructor(private readonly headers: Record<string, string> = {}) {}
  getHeader(name: string): string | undefined {
    return this.headers[name];
  }
  status(code: number): this {
    this.statusCode = code;
    return this;
  }
  type(contentType: string): this {
    this.contentType = contentType;
    return this;
  }
  send(body: unknown): this {
    this.body = body;
    return this;
  }
}

function hostFor(reply: FakeReply, url = '/v1/models/iris/reload?x=1'): ArgumentsHost {
  const request = { method: 'POST', url };
  return {
    switchToHttp: () => ({ getRequest: () => request, getResponse: () => reply }),
  } as unknown as ArgumentsHost;
}

describe('exception filters', () => {
  let logged: string[];
  let warned: string[];

  beforeEach(() => {
    logged = [];
    warned = [];
    jest.spyOn(Logger.prototype, 'error').mockImplementation((message: unknown) => {
      logged.push(String(message));
    });
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warned.push(String(message));
    });
  });

  afterEach(() => jest.restoreAllMocks());

  it('answers with the status and message the feature describer gives', () => {
    const sut = new ApiExceptionFilter([describeTeapot]);
    const reply = new FakeReply();

    sut.catch(new TeapotError('short and stout'), hostFor(reply));

    expect(reply.statusCode).toBe(418);
    expect(reply.body).toEqual({ statusCode: 418, error: 'TEAPOT', message: 'short and stout' });
  });

  it('answers, as the global filter, in the format of the route the URL names', () => {
    const sut = new ApiExceptionFilter([describeTeapot]);
    const mlflow = new FakeReply();
    const openInference = new FakeReply();

    sut.catch(new TeapotError('short and stout'), hostFor(mlflow, '/invocations'));
    sut.catch(new TeapotError('short and stout'), hostFor(openInference, '/v2/models/x/infer'));

    expect(mlflow.body).toEqual({ error_code: 'TEAPOT', message: 'short and stout' });
    expect(openInference.body).toEqual({ error: 'short and stout' });
    expect(mlflow.contentType).toBe('application/json; charset=utf-8');
    expect(openInference.contentType).toBe('application/json');
  });

  it('describes common errors (upstream, Nest HttpException) without any feature describer', () => {
    const sut = new MlflowScoringExceptionFilter([]);
    const upstream = new FakeReply();
    const badRequest = new FakeReply();

    sut.catch(new UpstreamTransientError('mlflow', 'timeout', 'timed out'), hostFor(upstream));
    sut.catch(new BadRequestException('name is required'), hostFor(badRequest));

    expect(upstream.statusCode).toBe(503);
    expect(upstream.body).toEqual({
      error_code: 'TEMPORARILY_UNAVAILABLE',
      message: 'mlflow: timed out',
    });
    expect(badRequest.body).toEqual({ error_code: 'BAD_REQUEST', message: 'name is required' });
  });

  it.each([
    [new UnauthorizedException('wrong token'), 401, 'UNAUTHENTICATED'],
    [new ForbiddenException('no scope'), 403, 'PERMISSION_DENIED'],
    [new ServiceUnavailableException('later'), 503, 'TEMPORARILY_UNAVAILABLE'],
    [new FeatureDisabledError('hooks are off: set X'), 503, 'FEATURE_DISABLED'],
  ])('gives %p the status %p and MLflow’s code %p', (error, status, code) => {
    const sut = new MlflowScoringExceptionFilter([]);
    const reply = new FakeReply();

    sut.catch(error, hostFor(reply));

    expect(reply.statusCode).toBe(status);
    expect(reply.body).toEqual({ error_code: code, message: error.message });
  });

  it('answers an unknown error 500 with the request id, and neither its message nor its stack', () => {
    const sut = new OpenInferenceExceptionFilter([describeTeapot]);
    const reply = new FakeReply({ 'x-request-id': 'req-42' });

    sut.catch(new TypeError('cannot read properties of undefined (secret path)'), hostFor(reply));

    expect(reply.statusCode).toBe(500);
    expect(reply.body).toEqual({ error: 'internal error (request id req-42)' });
  });

  it('logs a 500 with its stack and request id, without the query string', () => {
    const sut = new ApiExceptionFilter([]);
    const error = new TypeError('boom');

    sut.catch(error, hostFor(new FakeReply({ 'x-request-id': 'req-7' })));

    expect(logged).toHaveLength(1);
    expect(logged[0]).toContain('POST /v1/models/iris/reload → 500 [request req-7]');
    expect(logged[0]).toContain(error.stack!);
    expect(logged[0]).not.toContain('x=1');
  });

  it('logs one line per kind of error per minute, however many requests fail', () => {
    let clock = 0;
    const sut = new ApiExceptionFilter([], new ErrorReportLimiter({ now: () => clock }));

    for (let i = 0; i < 100; i++) sut.catch(new TypeError('boom'), hostFor(new FakeReply()));
    sut.catch(new RangeError('other'), hostFor(new FakeReply()));
    clock += 60_000;
    sut.catch(new TypeError('boom'), hostFor(new FakeReply()));

    expect(logged).toHaveLength(3);
    expect(logged[2]).toContain('99 more of this kind in the last minute not logged');
  });

  it('logs a dependency that cannot answer (503) as a warning with its message, without a stack', () => {
    const sut = new ApiExceptionFilter([]);
    const error = new UpstreamTransientError('mlflow', 'timeout', 'timed out');

    sut.catch(error, hostFor(new FakeReply()));

    expect(logged).toEqual([]);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toContain('→ 503');
    expect(warned[0]).toContain('mlflow: timed out');
    expect(warned[0]).not.toContain(error.stack!);
  });

  it('does not log a 4xx: the caller has it', () => {
    const sut = new ApiExceptionFilter([describeTeapot]);

    sut.catch(new TeapotError('no'), hostFor(new FakeReply()));

    expect(logged).toEqual([]);
    expect(warned).toEqual([]);
  });
});
