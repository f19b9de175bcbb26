import { AxiosError, isAxiosError } from 'axios';
import {
  UpstreamError,
  UpstreamErrorDetails,
  UpstreamFailureReason,
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
  UpstreamService,
  UpstreamTlsError,
  UpstreamTransientError,
  UpstreamUnauthorizedError,
  tlsProblemOf,
} from './upstream.error';

/** What a service-specific parser could read out of an error body. */
export interface UpstreamErrorBody {
  message?: string;
  code?: string;
}

export type ErrorBodyParser = (body: unknown) => UpstreamErrorBody;

/** MLflow answers codes like this with odd statuses in some versions; the code wins. */
const NOT_FOUND_CODES = new Set(['RESOURCE_DOES_NOT_EXIST', 'NOT_FOUND']);

/**
 * Maps anything a call through axios can throw to a typed {@link UpstreamError}.
 * The raw AxiosError is never kept: its config holds the request headers, and so
 * the credentials.
 */
export function mapAxiosError(
  service: UpstreamService,
  error: unknown,
  parseBody: ErrorBodyParser,
): unknown {
  if (error instanceof UpstreamError || !isAxiosError(error)) {
    return error;
  }
  const where = describeRequest(error);
  if (error.response) {
    return fromResponse(service, where, error, parseBody);
  }
  return fromNetworkFailure(service, where, error);
}

function fromResponse(
  service: UpstreamService,
  where: string,
  error: AxiosError,
  parseBody: ErrorBodyParser,
): UpstreamError {
  const response = error.response!;
  const status = response.status;
  const body = safeParse(parseBody, response.data);
  // A parser must never crash the mapping: anything but a string is ignored.
  const parsed = typeof body.message === 'string' ? body.message.trim() : '';
  const upstreamMessage = parsed || response.statusText || 'no message';
  const details: UpstreamErrorDetails = {
    status,
    upstreamCode: typeof body.code === 'string' ? body.code : undefined,
    upstreamMessage,
  };
  const code = details.upstreamCode;
  const message = `${where} → ${status}${code ? ` ${code}` : ''}: ${upstreamMessage}`;

  if (status === 404 || (code && NOT_FOUND_CODES.has(code))) {
    return new UpstreamNotFoundError(service, 'not_found', message, details);
  }
  if (status === 401) {
    return new UpstreamUnauthorizedError(service, 'unauthorized', message, details);
  }
  if (status === 403) {
    // MLflow 3's host-header check answers 403 "Invalid Host header" while its
    // /health still says OK; name it so operators know to set allowed hosts.
    const reason: UpstreamFailureReason = /invalid host header/i.test(upstreamMessage)
      ? 'rejected_host'
      : 'forbidden';
    return new UpstreamUnauthorizedError(service, reason, message, details);
  }
  if (status === 408) {
    return new UpstreamTransientError(service, 'timeout', message, details);
  }
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers?.['retry-after']);
    const reason: UpstreamFailureReason = status === 429 ? 'rate_limited' : 'server_error';
    return new UpstreamTransientError(service, reason, message, { ...details, retryAfterMs });
  }
  const reason: UpstreamFailureReason = status === 409 ? 'conflict' : 'invalid_request';
  return new UpstreamInvalidRequestError(service, reason, message, details);
}

function fromNetworkFailure(
  service: UpstreamService,
  where: string,
  error: AxiosError,
): UpstreamError {
  const code = networkCode(error);
  const cause = error.message;
  if (code && tlsProblemOf(code)) {
    return new UpstreamTlsError(service, `${where}: TLS failure (${code}): ${cause}`, code);
  }
  const reason = networkReason(code, error);
  const text: Record<string, string> = {
    connection_refused: 'connection refused',
    connection_reset: 'connection reset',
    timeout: 'timed out',
    dns: 'host name not resolved',
    network: 'network failure',
  };
  return new UpstreamTransientError(
    service,
    reason,
    `${where}: ${text[reason]} (${code ?? 'no code'})`,
  );
}

function networkReason(code: string | undefined, error: AxiosError): UpstreamFailureReason {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'ERR_STREAM_PREMATURE_CLOSE':
      return 'connection_reset';
    case 'ECONNABORTED':
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
    case 'ERR_CANCELED':
      return 'timeout';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    default:
      return /timeout/i.test(error.message) ? 'timeout' : 'network';
  }
}

/**
 * The most specific code: Node 20's happy-eyeballs connect raises an
 * AggregateError whose own code may be missing while its members carry one.
 */
function networkCode(error: AxiosError): string | undefined {
  if (error.code && error.code !== 'ERR_NETWORK' && error.code !== 'ERR_BAD_RESPONSE') {
    return error.code;
  }
  const cause = error.cause as { code?: string; errors?: { code?: string }[] } | undefined;
  return cause?.code ?? cause?.errors?.find((e) => e.code)?.code ?? error.code;
}

function describeRequest(error: AxiosError): string {
  const method = (error.config?.method ?? 'get').toUpperCase();
  const url = error.config?.url ?? '';
  // The path only: never a query string or userinfo, which may carry secrets.
  const path = url.split('?')[0].replace(/\/\/[^/@]*@/, '//');
  return `${method} ${path}`;
}

function safeParse(parseBody: ErrorBodyParser, data: unknown): UpstreamErrorBody {
  try {
    return parseBody(typeof data === 'string' ? tryJson(data) : data);
  } catch {
    return {};
  }
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return { message: text.slice(0, 500) };
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    return undefined;
  }
  const seconds = Number(value);
  if (Number.isFinite(seconds)) {
    return Math.max(0, seconds * 1000);
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
