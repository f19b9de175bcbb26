import Fastify, { FastifyInstance } from 'fastify';
import { RouteMethods, registerMethodNotAllowed } from './method-not-allowed.hook';

describe('RouteMethods', () => {
  it('lists the methods of every route whose path matches, parameters included', () => {
    const sut = new RouteMethods();
    sut.add('/v1/models/:name', ['GET', 'HEAD']);
    sut.add('/v1/models/:name/reload', ['POST']);
    sut.add('/v1/models/:ref/invocations', ['POST']);

    expect(sut.allowed('/v1/models/iris')).toEqual(['GET', 'HEAD']);
    expect(sut.allowed('/v1/models/iris@champion/invocations')).toEqual(['POST']);
    expect(sut.allowed('/v1/models/iris/reload/x')).toEqual([]);
  });

  it('reads static segments literally and * as any rest of the path', () => {
    const sut = new RouteMethods();
    sut.add('/docs/openapi.json', ['GET']);
    sut.add('/static/*', ['GET']);

    expect(sut.allowed('/docs/openapiXjson')).toEqual([]);
    expect(sut.allowed('/static/a/b.css')).toEqual(['GET']);
  });
});

describe('registerMethodNotAllowed', () => {
  let app: FastifyInstance;

  beforeEach(async () => {
    app = Fastify();
    registerMethodNotAllowed(app);
    app.get('/v1/cluster', () => ({ ok: true }));
    app.post('/v2/models/:name/infer', () => ({ ok: true }));
    await app.ready();
  });

  afterEach(() => app.close());

  it('answers a wrong method on a known path 405 with Allow, in the route protocol', async () => {
    const reply = await app.inject({ method: 'GET', url: '/v2/models/iris/infer?x=1' });

    expect(reply.statusCode).toBe(405);
    expect(reply.headers.allow).toBe('POST');
    expect(reply.json()).toEqual({
      error: 'GET is not allowed on /v2/models/iris/infer; allowed: POST',
    });
  });

  it('names GET and HEAD for a GET route, in the API format', async () => {
    const reply = await app.inject({ method: 'DELETE', url: '/v1/cluster' });

    expect(reply.statusCode).toBe(405);
    expect(reply.headers.allow).toBe('GET, HEAD');
    expect(reply.json()).toMatchObject({ statusCode: 405 });
  });

  it('leaves unknown paths to the 404 handler and known ones to their routes', async () => {
    expect((await app.inject({ method: 'GET', url: '/nowhere' })).statusCode).toBe(404);
    expect((await app.inject({ method: 'GET', url: '/v1/cluster' })).statusCode).toBe(200);
  });
});
