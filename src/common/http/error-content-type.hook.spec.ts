import Fastify from 'fastify';
import { registerErrorContentType } from './error-content-type.hook';

describe('registerErrorContentType', () => {
  const sut = Fastify();
  registerErrorContentType(sut);
  sut.get('/v2/models/:name', (_request, reply) => reply.status(400).send({ error: 'bad' }));
  sut.get('/v2/health/live', (_request, reply) => reply.send({ live: true }));
  sut.get('/v1/models', (_request, reply) => reply.status(404).send({ message: 'no' }));

  afterAll(() => sut.close());

  it('answers Open Inference errors as exactly application/json, as KServe’s client needs', async () => {
    const answer = await sut.inject({ url: '/v2/models/iris' });
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.json()).toEqual({ error: 'bad' });
  });

  it('leaves success answers and other protocols’ errors as Fastify types them', async () => {
    const live = await sut.inject({ url: '/v2/health/live' });
    const api = await sut.inject({ url: '/v1/models' });
    expect(live.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(api.headers['content-type']).toBe('application/json; charset=utf-8');
  });
});
