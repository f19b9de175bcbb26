import { StoreFailureReason } from './state-store';

/**
 * How a failed ioredis command reads: whether Redis was out of reach (and
 * why, in words and as a failure kind) or the command itself was wrong.
 */

/** Error replies that mean our credentials are missing or wrong (Redis 6 ACL: WRONGPASS). */
const AUTH_REPLIES = new Set(['NOAUTH', 'WRONGPASS']);
/** Error replies of a Redis that cannot serve now: loading, busy, a replica without master. */
const UNAVAILABLE_REPLIES = new Set(['LOADING', 'BUSY', 'MASTERDOWN', 'TRYAGAIN']);

export const NO_ANSWER = 'Redis did not answer in time';
export const NOT_CONNECTED = 'not connected';

/**
 * Why a command failed, in words, when it failed because Redis was not
 * reached or did not answer (the errors ioredis 5 raises then), or answered
 * that it cannot serve now; undefined for any other error (a wrong type, bad
 * arguments), which is the caller's.
 */
export function connectionFailure(error: unknown): string | undefined {
  // By name and message, not instanceof: errors may come from another realm (jest's VM, say).
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, message } = error as Partial<Error>;
  if (typeof message !== 'string') return undefined;
  // Sent, then the connection closed (maxRetriesPerRequest: 0 fails it at once).
  if (name === 'MaxRetriesPerRequestError' || name === 'AbortError') {
    return 'the connection closed before Redis answered';
  }
  if (message === 'Command timed out') return NO_ANSWER;
  if (message.startsWith("Stream isn't writeable")) return NOT_CONNECTED; // no offline queue
  if (message.startsWith('Connection is closed')) return 'connection closed';
  // Loading its dataset, stuck in a script, or a replica that lost its master.
  if (name === 'ReplyError' && UNAVAILABLE_REPLIES.has(message.split(' ', 1)[0])) return message;
  return undefined;
}

/**
 * Why ioredis failed, from the error's structure: a socket error's `code`
 * (ECONNREFUSED…, also inside Node 20's AggregateError from happy-eyeballs
 * connects), or a Redis error reply's code, its first word (RESP "simple
 * errors" start with one: `WRONGPASS invalid username-password pair`).
 */
export function storeFailureReason(error: unknown): StoreFailureReason {
  if (typeof error !== 'object' || error === null) return 'network';
  const { name, message, code, errors } = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    errors?: { code?: unknown }[];
  };
  if (name === 'ReplyError' && typeof message === 'string') {
    const reply = message.split(' ', 1)[0];
    if (AUTH_REPLIES.has(reply)) return 'unauthorized';
    if (UNAVAILABLE_REPLIES.has(reply)) return 'server_error';
    return 'network';
  }
  if (name === 'MaxRetriesPerRequestError' || name === 'AbortError') return 'connection_reset';
  if (message === 'Command timed out') return 'timeout';
  const socketCode =
    typeof code === 'string' ? code : errors?.find((e) => typeof e.code === 'string')?.code;
  switch (socketCode) {
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection_reset';
    default:
      return 'network';
  }
}
