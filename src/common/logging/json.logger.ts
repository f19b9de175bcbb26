import { LogLevel, LoggerService } from '@nestjs/common';
import fastJson from 'fast-json-stringify';
import type { LogFormat } from '../../config/logging.config';
import { asyncStdout } from './log-destination';
import { redactText, redactValue } from './redact';
import { requestContext } from './request-context';

/** Nest's levels, most severe first; LOG_LEVEL keeps that level and every one above it. */
const ORDER: readonly LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** The level names log shippers expect (Nest's `log` is everyone else's `info`). */
const NAMES: Record<LogLevel, string> = {
  fatal: 'fatal',
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

const COLOURS: Record<LogLevel, string> = {
  fatal: '\x1b[35m',
  error: '\x1b[31m',
  warn: '\x1b[33m',
  log: '\x1b[32m',
  debug: '\x1b[36m',
  verbose: '\x1b[90m',
};

export interface JsonLoggerOptions {
  format: LogFormat;
  /** The least severe level written (LOG_LEVEL). */
  level: LogLevel;
  /** Where lines go; stdout by default, written asynchronously (log-destination.ts). */
  write?: (line: string) => void;
  now?: () => Date;
  /** Fields every line carries (with API_WORKERS > 1: the instance id and worker number). */
  fields?: Record<string, unknown>;
}

/** One log line before it is written. */
export interface LogRecord {
  time: string;
  level: string;
  context?: string;
  msg: string;
  requestId?: string;
  [field: string]: unknown;
}

/** Marks a message whose fields were made safe to log by whoever built it. */
const REDACTED = Symbol('redacted');

/**
 * `fields` as a log message that skips the logger's redaction walk: for lines
 * built on the hot path from values already known to be safe (the access
 * line: method, route, status, times, and a path its builder redacted), where
 * copying and pattern-matching every field of every request costs more than
 * writing the line.
 */
export function redactedFields<T extends { msg: string }>(fields: T): T {
  return Object.defineProperty(fields, REDACTED, { value: true });
}

/** The one line of each request (request-logging.hook.ts), in the order it is written. */
export interface AccessLine {
  msg: string;
  requestId?: string;
  method: string;
  route: string;
  path: string;
  status: number;
  ms: number;
  model?: string;
  version?: string;
  variant?: string;
  /** LOG_REQUEST_BODIES: the body, redacted and cut. */
  body?: unknown;
}

/** Where the request log writes its lines, when not through Nest's Logger. */
export interface AccessLog {
  access(level: LogLevel, context: string, line: AccessLine): void;
}

/** The access line's record as written: the logger's own fields, then the line's. */
const ACCESS_RECORD_FIELDS = {
  time: { type: 'string' },
  level: { type: 'string' },
  msg: { type: 'string' },
  context: { type: 'string' },
  requestId: { type: 'string' },
  method: { type: 'string' },
  route: { type: 'string' },
  path: { type: 'string' },
  status: { type: 'integer' },
  ms: { type: 'number' },
  model: { type: 'string' },
  version: { type: 'string' },
  variant: { type: 'string' },
} as const;

/**
 * Nest's LoggerService writing one JSON object per line (`LOG_FORMAT=json`) or
 * a readable line (`pretty`). Each line carries the id of the request being
 * served, when there is one. A message may be an object: its fields become the
 * line's fields (`logger.log({ msg: 'loaded', model, ms })`). Text and fields
 * go through a redaction of anything that looks like a credential.
 */
export class JsonLogger implements LoggerService, AccessLog {
  private enabled: Set<LogLevel>;
  private readonly write: (line: string) => void;
  private readonly now: () => Date;
  private readonly accessJson: (record: Record<string, unknown>) => string;

  constructor(private readonly options: JsonLoggerOptions) {
    this.enabled = levelsFrom(options.level);
    this.write = options.write ?? asyncStdout();
    this.now = options.now ?? (() => new Date());
    this.accessJson = compileAccessRecord(options.fields);
  }

  /**
   * The request log's line, written as {@link log} would write the same
   * fields marked {@link redactedFields}, without the work a call through
   * Nest's Logger costs on every request (its wrapper, the context and
   * request-id look-ups, a generic record): a JSON line is serialized by a
   * compiled serializer. A pretty line, or one with a body, takes the
   * general path.
   */
  access(level: LogLevel, context: string, line: AccessLine): void {
    if (!this.enabled.has(level)) return;
    if (this.options.format !== 'json' || line.body !== undefined) {
      this.emit(level, redactedFields(line), [context]);
      return;
    }
    // The serializer writes its schema's order, whatever the object's. Not
    // object spread: `{...fields, ...line, time}` built a record V8 reads
    // slowly, 12 µs a line with the workers' fields against 1.6 µs this way.
    const record: Record<string, unknown> = Object.assign({}, this.options.fields, line);
    record.time = this.now().toISOString();
    record.level = NAMES[level];
    record.context = context;
    this.write(`${this.accessJson(record)}\n`);
  }

  log(message: unknown, ...params: unknown[]): void {
    this.emit('log', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.emit('error', message, params, true);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.emit('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.emit('debug', message, params);
  }

  verbose(message: unknown, ...params: unknown[]): void {
    this.emit('verbose', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.emit('fatal', message, params, true);
  }

  setLogLevels(levels: LogLevel[]): void {
    this.enabled = new Set(levels);
  }

  isEnabled(level: LogLevel): boolean {
    return this.enabled.has(level);
  }

  /** The record a call would write; exposed for tests. */
  record(level: LogLevel, message: unknown, params: unknown[], withStack = false): LogRecord {
    const rest = [...params];
    // Nest passes the context last, as a string (Logger instances always do).
    const context =
      rest.length > 0 && typeof rest[rest.length - 1] === 'string'
        ? (rest.pop() as string)
        : undefined;
    const record: LogRecord = { time: this.now().toISOString(), level: NAMES[level], msg: '' };
    if (this.options.fields) Object.assign(record, this.options.fields);
    if (context) record.context = context;
    const requestId = requestContext.getStore()?.requestId;
    if (requestId) record.requestId = requestId;

    Object.assign(record, describe(message));
    for (const param of rest) {
      if (typeof param === 'string' && withStack) record.stack = param;
      else if (param instanceof Error) record.err = errorFields(param);
      else if (param && typeof param === 'object') Object.assign(record, redactValue(param));
      else if (typeof param === 'string' || typeof param === 'number' || typeof param === 'boolean')
        record.msg = `${record.msg} ${param}`;
    }
    if (typeof record.stack === 'string') record.stack = redactText(record.stack);
    return record;
  }

  private emit(level: LogLevel, message: unknown, params: unknown[], withStack = false): void {
    if (!this.enabled.has(level)) return;
    const record = this.record(level, message, params, withStack);
    this.write(this.options.format === 'json' ? `${safeJson(record)}\n` : pretty(level, record));
  }
}

/**
 * The access record's serializer: its fields typed, the logger's own fields
 * (`fields`) between `msg` and `context` as {@link JsonLogger.record} places
 * them, fields left undefined left out, as JSON.stringify would.
 */
function compileAccessRecord(
  fields: Record<string, unknown> | undefined,
): (record: Record<string, unknown>) => string {
  const { time, level, msg, ...rest } = ACCESS_RECORD_FIELDS;
  // Untyped: written as JSON.stringify writes them (the worker is a number or 'primary').
  const own = Object.fromEntries(Object.keys(fields ?? {}).map((key) => [key, {}]));
  return fastJson({
    type: 'object',
    properties: { time, level, msg, ...own, ...rest },
  });
}

/** The levels LOG_LEVEL turns on. */
export function levelsFrom(level: LogLevel): Set<LogLevel> {
  const index = ORDER.indexOf(level);
  return new Set(ORDER.slice(0, index < 0 ? ORDER.indexOf('log') + 1 : index + 1));
}

function describe(message: unknown): Partial<LogRecord> {
  if (message && typeof message === 'object' && REDACTED in message) return message;
  if (message instanceof Error) {
    return { msg: redactText(message.message), err: errorFields(message) };
  }
  if (message && typeof message === 'object') {
    const fields = redactValue(message) as Record<string, unknown>;
    const { msg, message: text, ...rest } = fields;
    const line = typeof msg === 'string' ? msg : typeof text === 'string' ? text : '';
    return { ...rest, msg: line };
  }
  return { msg: redactText(String(message)) };
}

function errorFields(error: Error): Record<string, unknown> {
  return {
    name: error.name,
    message: redactText(error.message),
    stack: error.stack ? redactText(error.stack) : undefined,
  };
}

function safeJson(record: LogRecord): string {
  try {
    return JSON.stringify(record);
  } catch {
    // A circular or BigInt field: keep the line, lose the fields.
    return JSON.stringify({
      time: record.time,
      level: record.level,
      context: record.context,
      msg: record.msg,
      requestId: record.requestId,
    });
  }
}

function pretty(level: LogLevel, record: LogRecord): string {
  const { time, level: name, context, msg, requestId, stack, ...fields } = record;
  const colour = process.stdout.isTTY ? COLOURS[level] : '';
  const reset = colour ? '\x1b[0m' : '';
  const extra = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : safeField(value)}`)
    .join(' ');
  const parts = [
    time,
    `${colour}${name.toUpperCase().padEnd(5)}${reset}`,
    context ? `[${context}]` : '',
    msg,
    extra,
    requestId ? `(${requestId})` : '',
  ].filter(Boolean);
  return `${parts.join(' ')}\n${typeof stack === 'string' ? `${stack}\n` : ''}`;
}

function safeField(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
