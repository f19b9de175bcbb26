import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidationArguments,
} from 'class-validator';
import { Environment, parseEnvironment } from './env.validation';
import { ToBoolean, ToNumber } from './env.transforms';

const HTTP_URL = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/** Where spans go: nowhere (the default), an OTLP/HTTP collector, or stdout for a look by hand. */
export const TRACES_EXPORTERS = ['none', 'otlp', 'console'] as const;
export type TracesExporter = (typeof TRACES_EXPORTERS)[number];

/** The sampler names of the OpenTelemetry specification (OTEL_TRACES_SAMPLER). */
export const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
export type TracesSampler = (typeof TRACES_SAMPLERS)[number];

/**
 * The OTLP exporter shipped sends JSON over HTTP; a collector takes it on the
 * same /v1/traces as protobuf. Other protocols are refused at start rather
 * than silently not honoured.
 */
const OTLP_PROTOCOLS = ['http/json'] as const;

/** The collector's OTLP/HTTP port on this host (OpenTelemetry specification's default). */
const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';

/**
 * `key1=value1,key2=value2` (W3C Baggage's shape, which OTEL_RESOURCE_ATTRIBUTES
 * and OTEL_EXPORTER_OTLP_HEADERS use): values percent-decoded, blanks around
 * entries ignored. Throws naming the entry and the rule, never the value
 * (headers carry a collector's credentials).
 */
export function parseKeyValueList(text: string): Record<string, string> {
  const pairs: Record<string, string> = {};
  text.split(',').forEach((entry, n) => {
    if (entry.trim() === '') return;
    const equals = entry.indexOf('=');
    const key = equals > 0 ? entry.slice(0, equals).trim() : '';
    if (!key || /\s/.test(key)) {
      throw new Error(`entry ${n + 1} is not key=value`);
    }
    try {
      pairs[key] = decodeURIComponent(entry.slice(equals + 1).trim());
    } catch {
      throw new Error(`entry ${n + 1} has a value that is not percent-encoded text`);
    }
  });
  return pairs;
}

/** Fails validation with the parser's own message, which names the rule and never the value. */
function KeyValueList(): PropertyDecorator {
  const problem = (value: unknown): string | undefined => {
    if (typeof value !== 'string') return 'must be text';
    try {
      parseKeyValueList(value);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };
  return ValidateBy({
    name: 'keyValueList',
    validator: {
      validate: (value: unknown) => problem(value) === undefined,
      defaultMessage: (args?: ValidationArguments) =>
        `${args!.property}: ${problem(args!.value)} (key1=value1,key2=value2)`,
    },
  });
}

/**
 * OpenTelemetry tracing, by the specification's own variables so a collector
 * set-up carries over. Off unless OTEL_TRACES_EXPORTER names an exporter
 * (the specification's default is otlp; a server that sends nothing until
 * asked is the safer default here). OTEL_SDK_DISABLED turns it off whatever
 * else is set.
 */
export class TracingEnvironment {
  @IsIn(TRACES_EXPORTERS, { message: 'OTEL_TRACES_EXPORTER must be none, otlp or console' })
  OTEL_TRACES_EXPORTER: TracesExporter = 'none';

  @ToBoolean()
  @IsBoolean()
  OTEL_SDK_DISABLED = false;

  /** The collector's base URL; spans go to `<it>/v1/traces`. */
  @IsOptional()
  @IsUrl(HTTP_URL, {
    message: 'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL such as http://collector:4318',
  })
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;

  /** The full URL spans are posted to, as is; beats OTEL_EXPORTER_OTLP_ENDPOINT. */
  @IsOptional()
  @IsUrl(HTTP_URL, {
    message:
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT must be an http(s) URL such as http://collector:4318/v1/traces',
  })
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;

  @IsOptional()
  @IsIn(OTLP_PROTOCOLS, { message: 'OTEL_EXPORTER_OTLP_PROTOCOL must be http/json' })
  OTEL_EXPORTER_OTLP_PROTOCOL?: string;

  @IsOptional()
  @IsIn(OTLP_PROTOCOLS, { message: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL must be http/json' })
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL?: string;

  /** Headers of every export (a collector's API key): `key=value,…`, values percent-encoded. */
  @IsOptional()
  @KeyValueList()
  OTEL_EXPORTER_OTLP_HEADERS?: string;

  @IsOptional()
  @KeyValueList()
  OTEL_EXPORTER_OTLP_TRACES_HEADERS?: string;

  /** Milliseconds one export may take (specification's default: 10 s). */
  @IsOptional()
  @ToNumber()
  @IsInt({ message: 'OTEL_EXPORTER_OTLP_TIMEOUT must be a whole number of milliseconds' })
  @Min(1)
  @Max(600_000)
  OTEL_EXPORTER_OTLP_TIMEOUT?: number;

  @IsOptional()
  @ToNumber()
  @IsInt({ message: 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT must be a whole number of milliseconds' })
  @Min(1)
  @Max(600_000)
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT?: number;

  /** Milliseconds between two exports of the finished spans (batch span processor). */
  @ToNumber()
  @IsInt({ message: 'OTEL_BSP_SCHEDULE_DELAY must be a whole number of milliseconds' })
  @Min(1)
  @Max(600_000)
  OTEL_BSP_SCHEDULE_DELAY = 5_000;

  /** Finished spans kept waiting for an export; past it new ones are dropped (a collector down costs no memory). */
  @ToNumber()
  @IsInt({ message: 'OTEL_BSP_MAX_QUEUE_SIZE must be a whole number' })
  @Min(1)
  @Max(1_000_000)
  OTEL_BSP_MAX_QUEUE_SIZE = 2_048;

  @IsString()
  @MinLength(1)
  OTEL_SERVICE_NAME = 'modelgate';

  /** More resource attributes (`deployment.environment.name=prod,…`); OTEL_SERVICE_NAME wins for service.name. */
  @IsOptional()
  @KeyValueList()
  OTEL_RESOURCE_ATTRIBUTES?: string;

  /** parentbased_*: a caller's sampling decision (its traceparent's flag) is followed. */
  @IsIn(TRACES_SAMPLERS, {
    message: `OTEL_TRACES_SAMPLER must be one of ${TRACES_SAMPLERS.join(', ')}`,
  })
  OTEL_TRACES_SAMPLER: TracesSampler = 'parentbased_always_on';

  /** The share of traces kept by the *traceidratio samplers, 0…1. */
  @ToNumber()
  @IsNumber({}, { message: 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1' })
  @Min(0, { message: 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1' })
  @Max(1, { message: 'OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1' })
  OTEL_TRACES_SAMPLER_ARG = 1;
}

export interface TracingSettings {
  exporter: TracesExporter;
  /** Where OTLP spans are posted (only read when `exporter` is otlp). */
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  sampler: TracesSampler;
  ratio: number;
  scheduleDelayMs: number;
  maxQueueSize: number;
}

/**
 * The tracing settings from an environment, for main.ts: the tracer provider
 * is set up before Nest creates the app, so that every module's spans go to it.
 * @returns undefined when tracing is off.
 */
export function readTracingSettings(env: Environment): TracingSettings | undefined {
  const e = parseEnvironment(TracingEnvironment, env);
  if (e.OTEL_SDK_DISABLED || e.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const base = (e.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_OTLP_ENDPOINT).replace(/\/+$/, '');
  return {
    exporter: e.OTEL_TRACES_EXPORTER,
    url: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${base}/v1/traces`,
    headers: {
      ...parseKeyValueList(e.OTEL_EXPORTER_OTLP_HEADERS ?? ''),
      ...parseKeyValueList(e.OTEL_EXPORTER_OTLP_TRACES_HEADERS ?? ''),
    },
    timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    serviceName: e.OTEL_SERVICE_NAME,
    resourceAttributes: parseKeyValueList(e.OTEL_RESOURCE_ATTRIBUTES ?? ''),
    sampler: e.OTEL_TRACES_SAMPLER,
    ratio: e.OTEL_TRACES_SAMPLER_ARG,
    scheduleDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
    maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
  };
}
