import Fastify, { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { BodyLimits, MalformedJsonBody, bodyLimitOf, registerBodyParsers } from './body-parsers';
import { BinaryTensorBody } from './binary-tensor-body';
import { rawBodyOf } from './raw-body';
import { RefusedJson } from './safe-json';

const LIMITS: BodyLimits = { maxBodyBytes: 4096, maxControlBodyBytes: 256, maxDepth: 8 };

/** A Fastify server with our parsers, answering what the route received. */
async function server(): Promise<FastifyInstance> {
  const sut = Fastify({ bodyLimit: 1024 * 1024 });
  registerBodyParsers(sut, LIMITS);
  const echo = (request: { body: unknown }) => {
    const { body } = request;
    if (body instanceof RefusedJson) return { refused: body.reason };
    if (body instanceof MalformedJsonBody) return { malformed: body.reason };
    if (body instanceof BinaryTensorBody) {
      return { binary: { headerLength: body.headerLength, bytes: body.bytes.length } };
    }
    return { body };
  };
  sut.post('/invocations', echo);
  sut.post('/v2/models/m/infer', echo);
  sut.post('/v1/hooks/mlflow', (request) => ({
    ...echo(request),
    raw: rawBodyOf(request).toString('utf8'),
  }));
  sut.post('/v1/hooks/airflow', (request) => ({ raw: rawBodyOf(request).length }));
  sut.post('/v2/repository/index', echo);
  await sut.ready();
  return sut;
}

describe('body limits', () => {
  it('gives predictions API_MAX_BODY_BYTES and every other route the control limit', () => {
    expect(bodyLimitOf('/invocations', LIMITS)).toBe(4096);
    expect(bodyLimitOf('/v1/models/a@b/invocations?x=1', LIMITS)).toBe(4096);
    expect(bodyLimitOf('/v1/models/a/versions/2/invocations', LIMITS)).toBe(4096);
    expect(bodyLimitOf('/v2/models/a/versions/1/infer', LIMITS)).toBe(4096);
    expect(bodyLimitOf('/v1/hooks/airflow', LIMITS)).toBe(256);
    expect(bodyLimitOf('/v1/training/runs', LIMITS)).toBe(256);
    expect(bodyLimitOf('/v1/models/a/reload', LIMITS)).toBe(256);
  });

  it('answers 413 in the MLflow format for a declared Content-Length over the limit', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/json' },
      payload: ' '.repeat(4097),
    });

    expect(reply.statusCode).toBe(413);
    expect(reply.json()).toEqual({
      error_code: 'REQUEST_LIMIT_EXCEEDED',
      message:
        "the request body is larger than this route's limit of 4096 bytes (API_MAX_BODY_BYTES)",
    });
    await sut.close();
  });

  it('cuts a chunked body at the limit, answering in the Open Inference format', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      payload: Readable.from(Array.from({ length: 10 }, () => Buffer.alloc(1000, 0x20))),
    });

    expect(reply.statusCode).toBe(413);
    expect(reply.json()).toEqual({
      error:
        "the request body is larger than this route's limit of 4096 bytes (API_MAX_BODY_BYTES)",
    });
    await sut.close();
  });

  it('passes a chunked body within the limit on, whole', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      payload: Readable.from([Buffer.from('{"a": '), Buffer.from('[1, 2]}')]),
    });

    expect(reply.json()).toEqual({ body: { a: [1, 2] } });
    await sut.close();
  });

  it('gives hooks a few hundred bytes here, answered in the API format', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/v1/hooks/mlflow',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ x: 'y'.repeat(300) }),
    });

    expect(reply.statusCode).toBe(413);
    expect(reply.json()).toMatchObject({ statusCode: 413, error: 'REQUEST_LIMIT_EXCEEDED' });
    expect(reply.json<{ message: string }>().message).toMatch(/API_MAX_CONTROL_BODY_BYTES/);
    await sut.close();
  });
});

describe('JSON bodies', () => {
  it.each([
    ['nesting past API_MAX_DEPTH', '[[[[[[[[[1]]]]]]]]]', /nests deeper than 8 levels/],
    ['a __proto__ key', '{"__proto__": {"admin": true}}', /prototype poisoning/],
    ['constructor.prototype', '{"a": {"constructor": {"prototype": {}}}}', /prototype poisoning/],
  ])('hands the route a refusal for %s', async (_what, payload, reason) => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/json' },
      payload,
    });

    expect(reply.json<{ refused: string }>().refused).toMatch(reason);
    await sut.close();
  });

  it('hands the route the text of malformed JSON, for the lenient MLflow parser', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'application/json' },
      payload: '{"inputs": [NaN]}',
    });

    expect(reply.json<{ malformed: string }>().malformed).toEqual(expect.any(String));
    await sut.close();
  });
});

describe('Open Inference bodies', () => {
  it.each([
    ['no Content-Type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['application/octet-stream', { 'content-type': 'application/octet-stream' }],
  ])('reads a /v2 body with %s as JSON, as Triton does', async (_what, headers) => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      headers,
      payload: Buffer.from('{"inputs": []}'),
    });

    expect(reply.json()).toEqual({ body: { inputs: [] } });
    await sut.close();
  });

  it('keeps the depth bound and the poisoning refusal whatever the Content-Type', async () => {
    const sut = await server();

    const deep = await sut.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      payload: Buffer.from('[[[[[[[[[1]]]]]]]]]'),
    });
    const poisoned = await sut.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      headers: { 'content-type': 'text/plain' },
      payload: '{"__proto__": {"admin": true}}',
    });

    expect(deep.json<{ refused: string }>().refused).toMatch(/nests deeper than 8 levels/);
    expect(poisoned.json<{ refused: string }>().refused).toMatch(/prototype poisoning/);
    await sut.close();
  });

  it('hands an infer route declaring Inference-Header-Content-Length the raw body', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/v2/models/m/infer',
      headers: { 'inference-header-content-length': '2', 'content-type': 'application/json' },
      payload: Buffer.from('{}\x00\x01'),
    });

    expect(reply.json()).toEqual({ binary: { headerLength: '2', bytes: 4 } });
    await sut.close();
  });

  it('reads other /v2 routes as JSON even with the binary header', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/v2/repository/index',
      headers: { 'inference-header-content-length': '2' },
      payload: Buffer.from('{}'),
    });

    expect(reply.json()).toEqual({ body: {} });
    await sut.close();
  });

  it('leaves bodies of other routes without a JSON type as text', async () => {
    const sut = await server();

    const reply = await sut.inject({
      method: 'POST',
      url: '/invocations',
      headers: { 'content-type': 'text/csv' },
      payload: 'a,b\n1,2\n',
    });

    expect(reply.json()).toEqual({ body: 'a,b\n1,2\n' });
    await sut.close();
  });
});

describe('signed bodies', () => {
  it('keeps the MLflow webhook body byte for byte beside the parsed value, and no other', async () => {
    const sut = await server();
    // Python's json.dumps spacing: re-serializing the parsed value would change the signed bytes.
    const payload = '{"entity": "model_version", "data": {"name": "iris"}}';

    const mlflow = await sut.inject({
      method: 'POST',
      url: '/v1/hooks/mlflow',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    const airflow = await sut.inject({
      method: 'POST',
      url: '/v1/hooks/airflow',
      headers: { 'content-type': 'application/json' },
      payload,
    });

    expect(mlflow.json()).toEqual({ body: JSON.parse(payload), raw: payload });
    expect(airflow.json()).toEqual({ raw: 0 });
    await sut.close();
  });
});
