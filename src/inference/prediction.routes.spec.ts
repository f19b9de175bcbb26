import Fastify, { FastifyInstance } from 'fastify';
import { MalformedJsonBody } from '../common/http/body-parsers';
import { ModelReference, parseModelReference, versionReference } from '../common/model-reference';
import { limitsOf } from '../config/limits.config';
import { ModelNotFoundError } from '../models/model.errors';
import { InferenceService } from './inference.service';
import { PredictionRoutes, registerPredictionRoutes } from './prediction.routes';

/** The inference service as far as these routes reach it before a model runs. */
class FakeInference {
  readonly asked: ModelReference[] = [];

  defaultReference(): ModelReference {
    throw new ModelNotFoundError('(default)', 'no default model');
  }

  infer(ref: ModelReference): Promise<never> {
    this.asked.push(ref);
    return Promise.reject(new ModelNotFoundError(ref.name));
  }
}

describe('registerPredictionRoutes', () => {
  let inference: FakeInference;
  let sut: FastifyInstance;

  beforeEach(async () => {
    inference = new FakeInference();
    const routes = new PredictionRoutes(inference as unknown as InferenceService, limitsOf({}));
    sut = Fastify();
    registerPredictionRoutes(sut, routes);
    // As Nest registers the controllers' routes: each answers "nest" unless replaced.
    for (const url of [
      '/invocations',
      '/v1/models/:ref/invocations',
      '/v2/models/:name/infer',
      '/v2/models/:name/versions/:version/infer',
    ]) {
      sut.post(url, () => 'nest');
    }
    sut.get('/v2/models/:name', () => 'nest');
    sut.post('/v1/models/:name/reload', () => 'nest');
    // Stands for body-parsers.ts: a body JSON.parse refused reaches the route as a MalformedJsonBody.
    sut.removeContentTypeParser('application/json');
    sut.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(null, new MalformedJsonBody('Unexpected token', body as string));
      }
    });
    await sut.ready();
  });

  afterEach(() => sut.close());

  it('leaves every route but the prediction routes to their own handler', async () => {
    const metadata = await sut.inject({ method: 'GET', url: '/v2/models/iris' });
    const reload = await sut.inject({ method: 'POST', url: '/v1/models/iris/reload' });

    expect(metadata.body).toBe('nest');
    expect(reload.body).toBe('nest');
  });

  it('answers an MLflow prediction error in the MLflow format', async () => {
    const reply = await sut.inject({
      method: 'POST',
      url: '/invocations',
      payload: { inputs: [[1, 2]] },
    });

    expect(reply.statusCode).toBe(404);
    expect(reply.json()).toEqual({
      error_code: 'RESOURCE_DOES_NOT_EXIST',
      message: 'model (default) not found: no default model',
    });
  });

  it('resolves the reference the URL names and answers Open Inference errors as {"error"}', async () => {
    const reply = await sut.inject({
      method: 'POST',
      url: '/v2/models/iris/versions/3/infer',
      payload: { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] },
    });

    expect(inference.asked).toEqual([versionReference('iris', '3')]);
    expect(reply.statusCode).toBe(404);
    expect(reply.json()).toEqual({ error: 'model iris not found' });
  });

  it('refuses a malformed JSON body on Open Inference routes, as MalformedJsonInterceptor does', async () => {
    const reply = await sut.inject({
      method: 'POST',
      url: '/v2/models/iris/infer',
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs": [NaN]}',
    });

    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({
      error: 'the request body is not valid JSON: Unexpected token',
    });
    expect(inference.asked).toEqual([]);
  });

  it('hands a malformed-looking body to the MLflow decoder, which reads NaN', async () => {
    const reply = await sut.inject({
      method: 'POST',
      url: '/v1/models/iris@champion/invocations',
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs": [[NaN, 1]]}',
    });

    expect(inference.asked).toEqual([parseModelReference('iris@champion')]);
    expect(reply.statusCode).toBe(404);
  });
});
