import { errorBodyFor, errorContentType, errorProtocolOf } from './error-reply';

describe('errorProtocolOf', () => {
  it.each([
    ['/ping', 'mlflow'],
    ['/version', 'mlflow'],
    ['/invocations', 'mlflow'],
    ['/invocations?x=1', 'mlflow'],
    ['/v1/models/iris@champion/invocations', 'mlflow'],
    ['/v1/models/iris/versions/3/invocations', 'mlflow'],
    ['/v2', 'open-inference'],
    ['/v2/models/iris/infer', 'open-inference'],
    ['/v2/health/ready', 'open-inference'],
    ['/v1/models/iris', 'api'],
    ['/v1/models/iris/reload', 'api'],
    ['/v1/training/runs', 'api'],
    ['/v20', 'api'],
    ['/invocationsx', 'api'],
    ['/health/topology', 'api'],
  ])('reads %s as a %s route', (url, protocol) => {
    expect(errorProtocolOf(url)).toBe(protocol);
  });
});

describe('errorBodyFor', () => {
  const error = { status: 401, code: 'UNAUTHENTICATED', message: 'no credentials' };

  it('writes MLflow scoring errors as mlflow models serve does', () => {
    expect(errorBodyFor('mlflow', error)).toEqual({
      error_code: 'UNAUTHENTICATED',
      message: 'no credentials',
    });
  });

  it('writes Open Inference errors as {"error"}', () => {
    expect(errorBodyFor('open-inference', error)).toEqual({ error: 'no credentials' });
  });

  it('writes API errors as the API exception filter does', () => {
    expect(errorBodyFor('api', error)).toEqual({
      statusCode: 401,
      error: 'UNAUTHENTICATED',
      message: 'no credentials',
    });
  });
});

describe('errorContentType', () => {
  it('says plain application/json for Open Inference, as Triton does, and names the charset elsewhere', () => {
    expect(errorContentType('open-inference')).toBe('application/json');
    expect(errorContentType('mlflow')).toBe('application/json; charset=utf-8');
    expect(errorContentType('api')).toBe('application/json; charset=utf-8');
  });
});
