import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { setRecording } from '../spans';

/**
 * A real tracer provider for specs, set up as main.ts does (async context,
 * W3C propagation) but keeping finished spans in memory: the OTLP exporter's
 * dynamic import() does not run in jest's VM, and a spec reads spans, not wire.
 */
export class RecordingTracer {
  private readonly exporter = new InMemorySpanExporter();

  start(): this {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.exporter)] }),
    );
    setRecording(true);
    return this;
  }

  /** The spans finished so far, oldest first. */
  get spans(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  named(name: string): ReadableSpan[] {
    return this.spans.filter((span) => span.name === name);
  }

  reset(): void {
    this.exporter.reset();
  }

  stop(): void {
    setRecording(false);
    trace.disable();
    context.disable();
    propagation.disable();
  }
}

/** The span id of a span's parent, or undefined for a root. */
export function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
