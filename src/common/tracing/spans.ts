import {
  Attributes,
  Context,
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
  private readonly parent = context.active();
  private readonly queued = tracer.startSpan('queue', {}, this.parent);
  private running?: Span;

  /** The request's runtime call begins (more than once when a failed batch is run again: once counts). */
  started(attributes: Attributes = {}): void {
    if (this.running) return;
    this.queued.end();
    this.running = tracer.startSpan('run', { attributes }, this.parent);
  }

  end(error?: unknown): void {
    const span = this.running ?? this.queued;
    if (error !== undefined) failSpan(span, error);
    span.end();
  }
}
