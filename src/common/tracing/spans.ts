import {
  Attributes,
  Context,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  Span,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
} from '@opentelemetry/api';
import { SERVICE_NAME, SERVICE_VERSION } from '../version';

/**
 * Modelgate's tracer. The API hands out a proxy until main.ts registers the
 * provider (tracing.setup.ts), and a no-op when tracing is off, so modules
 * start spans without asking whether anyone records them.
 */
export const tracer = trace.getTracer(SERVICE_NAME, SERVICE_VERSION);

/**
 * Whether this process records spans (tracing.setup.ts says so when it
 * registers the provider). Off, the helpers below run the work and nothing
 * else: the hot path of a server that does not trace pays no span, context
 * switch or attribute object per request.
 */
let recording = false;

/** Called by the provider's set-up, and by specs that install a provider of their own. */
export function setRecording(on: boolean): void {
  recording = on;
}

export function isRecording(): boolean {
  return recording;
}

/** The span handed to work while nothing records: every method of it is a no-op. */
const IDLE_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** Header-like carriers: HTTP headers (lower-case names), gRPC metadata as a plain object. */
export type TraceCarrier = Record<string, string | string[] | undefined>;

/**
 * Runs `work` in a span that is the active one for everything it awaits, and
 * ends it when `work` settles; a thrown error is recorded on it (status
 * error) and thrown on unchanged.
 */
export function inSpan<T>(
  name: string,
  attributes: Attributes,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  if (!recording) return work(IDLE_SPAN);
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** {@link inSpan} for synchronous work (decoding, encoding). */
export function inSpanSync<T>(name: string, attributes: Attributes, work: () => T): T {
  if (!recording) return work();
  return tracer.startActiveSpan(name, { attributes }, (span) => {
    try {
      return work();
    } catch (error) {
      failSpan(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Marks a span failed with the error's type and message (never its request data). */
export function failSpan(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.name : 'failed',
  });
}

/**
 * The context a caller's W3C `traceparent` (and `tracestate`) describes, for a
 * server span to continue its trace; the empty context when it sends none,
 * or one that does not parse (the propagator ignores it: a new trace starts).
 */
export function callerContext(carrier: TraceCarrier): Context {
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/** A server span (HTTP request, gRPC call) continuing the caller's trace. */
export function startServerSpan(name: string, parent: Context, attributes: Attributes): Span {
  return tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
}

/**
 * The W3C trace-context headers of the active span, for a request to MLflow
 * or Airflow, or for a DAG run's conf; empty when nothing is traced.
 */
export function traceHeaders(): Record<string, string> {
  if (!recording) return {};
  const headers: Record<string, string> = {};
  propagation.inject(context.active(), headers);
  return headers;
}

/**
 * One request's wait then work in a shared runner (the batcher's queue, the
 * admission queue): `queue` from now until {@link Phases.started}, then
 * `run` until {@link Phases.end}, both children of the span active now. The
 * runner calls `started` on its own async path, which carries no context.
 */
export class Phases {
  private readonly parent = recording ? context.active() : ROOT_CONTEXT;
  private readonly queued = recording ? tracer.startSpan('queue', {}, this.parent) : IDLE_SPAN;
  private running?: Span;

  /**
   * The request's runtime call begins, stacking `requests` requests (told
   * again when a failed batch is run one by one: the first call counts).
   */
  started(requests: number): void {
    if (this.running || !recording) return;
    this.queued.end();
    const attributes = { 'modelgate.batch.requests': requests };
    this.running = tracer.startSpan('run', { attributes }, this.parent);
  }

  end(error?: unknown): void {
    const span = this.running ?? this.queued;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }
}
