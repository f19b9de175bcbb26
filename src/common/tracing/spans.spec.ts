import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import {
  Phases,
  callerContext,
  inSpan,
  inSpanSync,
  setRecording,
  startServerSpan,
  traceHeaders,
} from './spans';
import { RecordingTracer, parentOf } from './testing/recording-tracer';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('span helpers', () => {
  const sut = new RecordingTracer();

  beforeAll(() => sut.start());
  afterEach(() => sut.reset());
  afterAll(() => sut.stop());

  it('inSpan makes the span active for what the work awaits, so inner spans are its children', async () => {
    await inSpan('outer', { a: 1 }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      inSpanSync('inner', {}, () => undefined);
    });

    const [outer] = sut.named('outer');
    const [inner] = sut.named('inner');
    expect(parentOf(inner)).toBe(outer.spanContext().spanId);
    expect(outer.attributes).toEqual({ a: 1 });
    expect(outer.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('inSpan records a thrown error on the span, ends it, and throws it on unchanged', async () => {
    const error = new RangeError('no such row');

    await expect(inSpan('failing', {}, () => Promise.reject(error))).rejects.toBe(error);

    const [span] = sut.named('failing');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'RangeError' });
    expect(span.events.map((e) => e.name)).toEqual(['exception']);
    expect(span.ended).toBe(true);
  });

  it('inSpanSync records a thrown error too', () => {
    expect(() =>
      inSpanSync('decode', {}, () => {
        throw new TypeError('bad body');
      }),
    ).toThrow('bad body');

    expect(sut.named('decode')[0].status.code).toBe(SpanStatusCode.ERROR);
  });

  it('Phases: queue until the runtime call starts, then run, both under the span active when made', async () => {
    await inSpan('predict', {}, async () => {
      const phases = new Phases();
      // The runner starts the call on its own path, outside the request's context.
      await new Promise<void>((resolve) =>
        context.with(context.active(), () =>
          setImmediate(() => {
            phases.started(3);
            phases.started(1);
            resolve();
          }),
        ),
      );
      phases.end();
    });

    const [predict] = sut.named('predict');
    const [queue] = sut.named('queue');
    const runs = sut.named('run');
    expect(runs).toHaveLength(1);
    expect(parentOf(queue)).toBe(predict.spanContext().spanId);
    expect(parentOf(runs[0])).toBe(predict.spanContext().spanId);
    expect(runs[0].attributes).toEqual({ 'modelgate.batch.requests': 3 });
    expect(queue.ended && runs[0].ended).toBe(true);
  });

  it('Phases: a request refused while it waits has a failed queue span and no run', () => {
    const phases = new Phases();

    phases.end(new Error('busy'));

    expect(sut.named('queue')[0].status.code).toBe(SpanStatusCode.ERROR);
    expect(sut.named('run')).toEqual([]);
  });

  it('continues a caller’s traceparent, and starts a new trace for a malformed one', () => {
    const parent = callerContext({ traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` });
    const continued = startServerSpan('POST /x', parent, {});
    const broken = startServerSpan('POST /y', callerContext({ traceparent: 'nonsense' }), {});
    continued.end();
    broken.end();

    const [x] = sut.named('POST /x');
    const [y] = sut.named('POST /y');
    expect(x.spanContext().traceId).toBe(TRACE_ID);
    expect(parentOf(x)).toBe(CALLER_SPAN);
    expect(x.kind).toBe(SpanKind.SERVER);
    expect(y.spanContext().traceId).not.toBe(TRACE_ID);
    expect(parentOf(y)).toBeUndefined();
  });

  it('runs the work alone while nothing records: no span, no headers', async () => {
    setRecording(false);
    try {
      const inside = await inSpan('quiet', {}, (span) => Promise.resolve(span.isRecording()));
      new Phases().end();

      expect(inside).toBe(false);
      expect(traceHeaders()).toEqual({});
      expect(sut.spans).toEqual([]);
    } finally {
      setRecording(true);
    }
  });

  it('traceHeaders names the active span in a traceparent, and nothing outside any span', async () => {
    expect(traceHeaders()).toEqual({});

    const headers = await inSpan('call', {}, () => {
      const span = trace.getActiveSpan()!;
      return Promise.resolve({ headers: traceHeaders(), span: span.spanContext() });
    });

    expect(headers.headers).toEqual({
      traceparent: `00-${headers.span.traceId}-${headers.span.spanId}-01`,
    });
  });
});
