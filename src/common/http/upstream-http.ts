import { AxiosAdapter, AxiosInstance, AxiosResponse, ResponseType } from 'axios';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  RetryEnvironment,
  RetryPolicy,
  realRetryEnvironment,
  withRetry,
} from '../retry/retry.policy';
import { ErrorBodyParser, mapAxiosError } from '../upstream/map-axios-error';
import {
  UpstreamError,
  UpstreamFailureReason,
  UpstreamService,
  UpstreamTransientError,
} from '../upstream/upstream.error';
import { closeHttpClient, createHttpClient } from './http-client.factory';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
export type QueryValue = string | number | boolean | undefined | readonly string[];

export interface UpstreamRequest {
  method: HttpMethod;
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Overrides the client's timeout for this call (e.g. a large download). */
  timeoutMs?: number;
  responseType?: Extract<ResponseType, 'json' | 'text' | 'stream'>;
  /**
   * Safe to send twice. Defaults to true for GET, PUT and DELETE. A request that
   * is not idempotent is retried only when it surely never reached the server.
   */
  idempotent?: boolean;
  /** Send the client's credentials (default true). */
  authenticate?: boolean;
}

export interface UpstreamHttpOptions {
  service: UpstreamService;
  baseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  insecureTls?: boolean;
  parseErrorBody: ErrorBodyParser;
  /** Headers that carry the credentials; asked for before every attempt. */
  authorize?: () => Promise<Record<string, string>>;
  adapter?: AxiosAdapter;
  retryEnvironment?: RetryEnvironment;
}

/** Failures after which the request certainly never reached the server. */
const NOT_DELIVERED: ReadonlySet<UpstreamFailureReason> = new Set(['connection_refused', 'dns']);

/** Codes a response body stream fails with when the connection drops. */
const STREAM_BROKEN = new Set([
  'ECONNRESET',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
]);

/**
 * One typed request path for an outside HTTP service: base URL, credentials,
 * timeout, typed errors and retries of transient failures live here, so the
 * clients above it only speak their service's operations.
 */
export class UpstreamHttp {
  private readonly http: AxiosInstance;

  constructor(private readonly options: UpstreamHttpOptions) {
    this.http = createHttpClient({
      name: options.service,
      baseUrl: options.baseUrl,
      timeoutMs: options.timeoutMs,
      insecureTls: options.insecureTls,
      adapter: options.adapter,
    });
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** Closes idle keep-alive connections (at shutdown). */
  close(): void {
    closeHttpClient(this.http);
  }

  async request<T>(request: UpstreamRequest): Promise<T> {
    const response = await this.send<T>(request);
    return response.data;
  }

  /** Like {@link request}, but gives the whole response (status, headers). */
  async send<T>(request: UpstreamRequest): Promise<AxiosResponse<T>> {
    const idempotent = request.idempotent ?? ['GET', 'PUT', 'DELETE'].includes(request.method);
    return this.retrying(idempotent, () => this.attempt<T>(request));
  }

  /**
   * Streams a GET to `filePath`, retrying the whole file on transient failures,
   * including a connection dropped mid-body. When `expectedBytes` is given a
   * short file counts as a dropped connection.
   */
  async download(
    request: Omit<UpstreamRequest, 'method' | 'responseType'>,
    filePath: string,
    expectedBytes?: number,
  ): Promise<number> {
    return this.retrying(true, async () => {
      const response = await this.attempt<Readable>({
        ...request,
        method: 'GET',
        responseType: 'stream',
      });
      let bytes = 0;
      response.data.on('data', (chunk: Buffer) => (bytes += chunk.length));
      try {
        await pipeline(response.data, createWriteStream(filePath));
      } catch (error) {
        throw this.streamFailure(request.path, error);
      }
      if (expectedBytes !== undefined && bytes !== expectedBytes) {
        throw new UpstreamTransientError(
          this.options.service,
          'connection_reset',
          `GET ${request.path}: body ended after ${bytes} of ${expectedBytes} bytes`,
        );
      }
      return bytes;
    });
  }

  private retrying<T>(idempotent: boolean, attempt: () => Promise<T>): Promise<T> {
    return withRetry<T, unknown>(
      async () => {
        try {
          return await attempt();
        } catch (error) {
          throw mapAxiosError(this.options.service, error, this.options.parseErrorBody);
        }
      },
      this.options.retry,
      (error) => {
        if (!(error instanceof UpstreamError) || !error.retryable) {
          return { retryable: false };
        }
        const safe = idempotent || NOT_DELIVERED.has(error.reason);
        return { retryable: safe, retryAfterMs: error.details.retryAfterMs };
      },
      this.options.retryEnvironment ?? realRetryEnvironment,
      (error, attempts) => (error instanceof UpstreamError ? error.withAttempts(attempts) : error),
    );
  }

  /** A body stream that broke is a dropped connection; a disk error is not ours to retry. */
  private streamFailure(path: string, error: unknown): unknown {
    const code = (error as { code?: string }).code;
    if (code && STREAM_BROKEN.has(code)) {
      return new UpstreamTransientError(
        this.options.service,
        'connection_reset',
        `GET ${path}: connection dropped during the body (${code})`,
      );
    }
    return error;
  }

  private async attempt<T>(request: UpstreamRequest): Promise<AxiosResponse<T>> {
    const auth =
      request.authenticate === false || !this.options.authorize
        ? {}
        : await this.options.authorize();
    return this.http.request<T>({
      method: request.method,
      url: request.path,
      params: compactQuery(request.query),
      paramsSerializer: { indexes: null },
      data: request.body,
      headers: { Accept: 'application/json', ...auth, ...request.headers },
      timeout: request.timeoutMs,
      responseType: request.responseType ?? 'json',
    });
  }
}

function compactQuery(query?: Record<string, QueryValue>): Record<string, unknown> | undefined {
  if (!query) {
    return undefined;
  }
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value !== undefined));
}
