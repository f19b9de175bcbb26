import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What every log line written while serving one request carries. */
export interface RequestContext {
  requestId: string;
}

/** The request being served on this async path, for the logger. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

export const REQUEST_ID_HEADER = 'x-request-id';

/** Ids callers may choose: what common gateways and tracers send, bounded in length. */
const ACCEPTED_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The caller's `X-Request-Id` when it is a sane token, else a new UUID. A value
 * that is too long or holds spaces or control characters is replaced rather
 * than trusted: it ends up in every log line of the request.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && ACCEPTED_ID.test(value) ? value : randomUUID();
}
