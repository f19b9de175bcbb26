import { TEST_API_KEY } from './credentials';

/** Small HTTP helpers for e2e tests (Node's fetch; loopback only). */
export interface Reply<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface TestRequest {
  method?: string;
  body?: unknown;
  contentType?: string;
  /** Sent as X-API-Key: the harness's admin key by default; null sends none. */
  apiKey?: string | null;
  headers?: Record<string, string>;
}

/** The credential header for `apiKey` (the harness's admin key when undefined). */
export function authHeader(apiKey: string | null = TEST_API_KEY): Record<string, string> {
  return apiKey === null ? {} : { 'x-api-key': apiKey };
}

export async function request<T = unknown>(url: string, init: TestRequest = {}): Promise<Reply<T>> {
  const hasBody = init.body !== undefined;
  // A stream is sent chunked, without Content-Length.
  const stream = init.body instanceof ReadableStream;
  const raw =
    typeof init.body === 'string' || stream
      ? (init.body as string | ReadableStream)
      : JSON.stringify(init.body);
  const options: RequestInit & { duplex?: 'half' } = {
    method: init.method ?? (hasBody ? 'POST' : 'GET'),
    headers: {
      ...(hasBody ? { 'content-type': init.contentType ?? 'application/json' } : {}),
      ...authHeader(init.apiKey),
      ...init.headers,
    },
    body: hasBody ? raw : undefined,
  };
  if (stream) options.duplex = 'half';
  const response = await fetch(url, options);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: body as T, text };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `done` holds; fails with the last value seen when time runs out. */
export async function waitFor<T>(
  poll: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 120_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await poll();
  while (!done(last)) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(last)}`);
    }
    await sleep(intervalMs);
    last = await poll();
  }
  return last;
}

export interface LoadResult {
  status: number;
  version: string | null;
  /** When the request was sent, ms since the epoch. */
  sentAt: number;
}

/**
 * Sends the same request from `concurrency` clients back to back until `stop`
 * resolves (or `maxRequests` were sent): a steady load on a loopback server.
 */
export async function steadyLoad(
  url: string,
  body: unknown,
  stop: Promise<unknown>,
  {
    concurrency = 4,
    maxRequests = 20_000,
    apiKey = TEST_API_KEY,
  }: { concurrency?: number; maxRequests?: number; apiKey?: string | null } = {},
): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  let stopped = false;
  void stop.finally(() => (stopped = true));
  const payload = JSON.stringify(body);
  const client = async () => {
    while (!stopped && results.length < maxRequests) {
      const sentAt = Date.now();
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeader(apiKey) },
          body: payload,
        });
        await response.arrayBuffer();
        results.push({
          status: response.status,
          version: response.headers.get('x-model-version'),
          sentAt,
        });
      } catch {
        results.push({ status: 0, version: null, sentAt });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return results;
}
