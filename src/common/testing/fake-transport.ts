/**
 * Test doubles for the HTTP clients' unit specs: a transport that stands in for
 * the network (axios `adapter`) and records what was sent, and a retry
 * environment whose clock only moves when it sleeps. Not used by the service.
 */
import axios, {
  AxiosAdapter,
  AxiosError,
  AxiosHeaders,
  AxiosResponse,
  InternalAxiosRequestConfig,
} from 'axios';
import { RetryEnvironment } from '../retry/retry.policy';

/** One request as it left the client. */
export interface SentRequest {
  /** Upper case, e.g. "GET". */
  method: string;
  /** The path given to axios, relative to the base URL. */
  url: string;
  /** Base URL + path + serialized query, as it would go on the wire. */
  fullUrl: string;
  params: Record<string, unknown>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  /** The body, parsed back from JSON when it was JSON. */
  body: unknown;
  timeout?: number;
  responseType?: string;
}

export type FakeReply =
  | { status: number; data?: unknown; headers?: Record<string, string>; statusText?: string }
  | { networkError: string; message?: string; cause?: unknown };

export type Responder = (request: SentRequest) => FakeReply | Promise<FakeReply>;

interface Route {
  method: string;
  path: string | RegExp;
  respond: Responder;
}

/**
 * Replies first from routes (method + path, kept), then from a queue of one-shot
 * replies, in order. A request nothing answers fails the test loudly.
 */
export class FakeTransport {
  readonly requests: SentRequest[] = [];
  private readonly queue: Responder[] = [];
  private readonly routes: Route[] = [];

  readonly adapter: AxiosAdapter = async (config) => {
    const sent = record(config);
    this.requests.push(sent);
    const respond = this.routes.find((r) => matches(r, sent))?.respond ?? this.queue.shift();
    if (!respond) {
      throw new Error(`FakeTransport: no reply for ${sent.method} ${sent.url}`);
    }
    return answer(config, await respond(sent));
  };

  /** Queues one answer with this status and body. */
  reply(status: number, data?: unknown, headers?: Record<string, string>): this {
    return this.replyWith(() => ({ status, data, headers }));
  }

  /** Queues one network failure (no response), e.g. "ECONNREFUSED". */
  fail(code: string, message = `connect ${code}`, cause?: unknown): this {
    return this.replyWith(() => ({ networkError: code, message, cause }));
  }

  replyWith(respond: Responder): this {
    this.queue.push(respond);
    return this;
  }

  /** Answers every `method` request to `path` (exact, or a pattern) with `respond`. */
  on(method: string, path: string | RegExp, respond: Responder | FakeReply): this {
    const responder = typeof respond === 'function' ? respond : () => respond;
    this.routes.push({ method: method.toUpperCase(), path, respond: responder });
    return this;
  }

  /** Requests sent to `path` (exact), in order. */
  to(path: string): SentRequest[] {
    return this.requests.filter((r) => r.url === path);
  }

  get pending(): number {
    return this.queue.length;
  }
}

function matches(route: Route, sent: SentRequest): boolean {
  if (route.method !== sent.method) {
    return false;
  }
  return typeof route.path === 'string' ? route.path === sent.url : route.path.test(sent.url);
}

function record(config: InternalAxiosRequestConfig): SentRequest {
  const headers = Object.fromEntries(
    Object.entries(AxiosHeaders.from(config.headers).toJSON(true)).map(([k, v]) => [
      k.toLowerCase(),
      v,
    ]),
  );
  return {
    method: (config.method ?? 'get').toUpperCase(),
    url: config.url ?? '',
    fullUrl: axios.getUri(config),
    params: { ...(config.params as Record<string, unknown> | undefined) },
    headers,
    body: parseBody(config.data),
    timeout: config.timeout,
    responseType: config.responseType,
  };
}

function parseBody(data: unknown): unknown {
  if (typeof data !== 'string') {
    return data;
  }
  try {
    return JSON.parse(data) as unknown;
  } catch {
    return data;
  }
}

function answer(config: InternalAxiosRequestConfig, reply: FakeReply): AxiosResponse {
  const request = {};
  if ('networkError' in reply) {
    const error = new AxiosError(reply.message, reply.networkError, config, request);
    if (reply.cause !== undefined) {
      error.cause = reply.cause as Error;
    }
    throw error;
  }
  const response: AxiosResponse = {
    data: reply.data,
    status: reply.status,
    statusText: reply.statusText ?? '',
    headers: AxiosHeaders.from(reply.headers ?? {}),
    config,
    request,
  };
  const valid = config.validateStatus ? config.validateStatus(reply.status) : true;
  if (!valid) {
    throw new AxiosError(
      `Request failed with status code ${reply.status}`,
      reply.status < 500 ? AxiosError.ERR_BAD_REQUEST : AxiosError.ERR_BAD_RESPONSE,
      config,
      request,
      response,
    );
  }
  return response;
}

/** A clock that moves only when slept on (or told to), and fixed randomness. */
export class FakeRetryEnvironment implements RetryEnvironment {
  time = 0;
  readonly sleeps: number[] = [];

  constructor(private readonly fixedRandom = 0.5) {}

  now = (): number => this.time;

  sleep = (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.time += ms;
    return Promise.resolve();
  };

  random = (): number => this.fixedRandom;

  advance(ms: number): void {
    this.time += ms;
  }
}
