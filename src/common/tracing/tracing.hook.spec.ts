import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import Fastify, { FastifyInstance } from 'fastify';
import { traceHeaders } from './spans';
import { registerTracing } from './tracing.hook';
import { RecordingTracer, parentOf } from './testing/recording-tracer';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

describe('registerTracing', () => {
  const tracer = new RecordingTracer();
  let sut: FastifyInstance;

  beforeAll(async () => {
    tracer.start();
    sut = Fastify();
    registerTracing(sut);
    // The handler's outgoing headers: what a call to MLflow from it would carry.
    sut.post('/v1/models/:name/reload', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return traceHeaders();
    });
    sut.get('/health/ready', () => traceHeaders());
    sut.get('/boom', () => Promise.reject(new Error('down')));
    await sut.ready();
  });

  afterEach(() => tracer.reset());

  afterAll(async () => {
    await sut.close();
    tracer.stop();
  });

  it('gives a request a server span under the caller’s traceparent, named by its route, active in the handler', async () => {
    const reply = await sut.inject({
      method: 'POST',
      url: '/v1/models/iris/reload?x=1',
      headers: {
        traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01`,
        'content-type': 'application/json',
      },
      payload: '{}',
    });

    const [span] = tracer.spans;
    expect(span.name).toBe('POST /v1/models/:name/reload');
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(span)).toBe(CALLER_SPAN);
    expect(span.attributes).toMatchObject({
      'http.route': '/v1/models/:name/reload',
      'url.path': '/v1/models/iris/reload',
      'http.response.status_code': 200,
    });
    expect(reply.json()).toEqual({
      traceparent: `00-${TRACE_ID}-${span.spanContext().spanId}-01`,
    });
  });

  it('makes no span for a probe, whose calls carry no trace', async () => {
    const reply = await sut.inject({ method: 'GET', url: '/health/ready' });

    expect(reply.json()).toEqual({});
    expect(tracer.spans).toEqual([]);
  });

  it('marks a 5xx answer failed (the server’s fault), a 404 of an unknown route not traced', async () => {
    await sut.inject({ method: 'GET', url: '/boom' });
    await sut.inject({ method: 'GET', url: '/no/such/route' });

    expect(tracer.spans.map((s) => [s.name, s.status.code])).toEqual([
      ['GET /boom', SpanStatusCode.ERROR],
    ]);
  });
});
