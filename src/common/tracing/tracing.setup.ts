import { Logger } from '@nestjs/common';
import { context, diag, DiagLogLevel, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  Sampler,
  SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { TracesSampler, TracingSettings } from '../../config/tracing.config';
import { SERVICE_VERSION } from '../version';
import { setRecording } from './spans';

/** Time the last spans get to reach the collector when the process stops. */
const SHUTDOWN_FLUSH_MS = 5_000;

let provider: BasicTracerProvider | undefined;

/**
 * Sets up this process's tracer provider, W3C trace-context propagation and
 * async context, before Nest creates the app: every span any module starts
 * from then on is exported. Without it (tracing off, and in-process tests)
 * the OpenTelemetry API's tracer is a no-op, and nothing is sent or propagated.
 * @param instance names the process (service.instance.id) among the cluster's.
 */
export function startTracing(settings: TracingSettings, instance?: string): void {
  if (provider) return;
  const logger = new Logger('Tracing');
  // The SDK's own complaints (a collector refusing spans) as our warnings, not on stderr.
  diag.setLogger(
    {
      error: (message) => logger.warn(message),
      warn: (message) => logger.warn(message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    DiagLogLevel.WARN,
  );
  provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      ...settings.resourceAttributes,
      'service.name': settings.serviceName,
      'service.version': SERVICE_VERSION,
      ...(instance ? { 'service.instance.id': instance } : {}),
    }),
    sampler: samplerOf(settings.sampler, settings.ratio),
    spanProcessors: [
      new BatchSpanProcessor(exporterOf(settings), {
        scheduledDelayMillis: settings.scheduleDelayMs,
        maxQueueSize: settings.maxQueueSize,
        // The specification's 512, unless the queue is smaller (the SDK refuses a batch above the queue).
        maxExportBatchSize: Math.min(512, settings.maxQueueSize),
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  setRecording(true);
  logger.log({
    msg: 'tracing on',
    exporter: settings.exporter,
    ...(settings.exporter === 'otlp' ? { url: settings.url } : {}),
    sampler: settings.sampler,
  });
}

/** Exports the spans still buffered and stops the provider; a no-op when tracing is off. */
export async function stopTracing(): Promise<void> {
  const stopping = provider;
  provider = undefined;
  if (!stopping) return;
  setRecording(false);
  await Promise.race([
    stopping.shutdown().catch(() => undefined),
    new Promise((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS).unref()),
  ]);
}

function exporterOf(settings: TracingSettings): SpanExporter {
  if (settings.exporter === 'console') return new ConsoleSpanExporter();
  return new OTLPTraceExporter({
    url: settings.url,
    headers: settings.headers,
    timeoutMillis: settings.timeoutMs,
  });
}

/** The specification's samplers by name (OTEL_TRACES_SAMPLER). */
export function samplerOf(name: TracesSampler, ratio: number): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
  }
}
