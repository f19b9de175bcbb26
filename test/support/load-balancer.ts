import { readFileSync } from 'node:fs';
import * as https from 'node:https';
import { TEST_AUTH_HEADER } from './credentials';
import { Balancing, startNginx } from './nginx';

export interface BalancedReply<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

export interface BalancedResult {
  status: number;
  /** X-Modelgate-Instance: which instance answered. */
  instance?: string;
  /** When the request was sent, ms since the epoch. */
  sentAt: number;
}

/** nginx in front of API instances, and a client that speaks to it over TLS as users would. */
export interface LoadBalancer {
  url: string;
  request<T = unknown>(
    path: string,
    init?: { method?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<BalancedReply<T>>;
  /**
   * `concurrency` clients send `body` to `path` back to back for `durationMs`
   * (at most `maxRequests` in all): a bounded load. A request that fails at
   * the connection counts with status 0.
   */
  load(
    path: string,
    body: unknown,
    options: { concurrency: number; durationMs: number; maxRequests: number },
  ): Promise<BalancedResult[]>;
  stop(): Promise<void>;
}

/** Starts nginx (deployment/nginx/, rendered for these upstreams) and a keep-alive HTTPS client trusting its certificate. */
export async function startLoadBalancer(options: {
  upstreams: string[];
  balancing?: Balancing;
}): Promise<LoadBalancer> {
  const nginx = await startNginx(options);
  const agent = new https.Agent({
    ca: readFileSync(nginx.caCertPath),
    keepAlive: true,
    maxSockets: 64,
  });
  const send = <T>(
    path: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    new Promise<BalancedReply<T>>((resolve, reject) => {
      const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
      const request = https.request(
        `${nginx.httpsUrl}${path}`,
        {
          agent,
          method: init.method ?? (payload ? 'POST' : 'GET'),
          headers: {
            ...(payload ? { 'content-type': 'application/json' } : {}),
            ...TEST_AUTH_HEADER,
            ...init.headers,
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            let body: unknown = text;
            try {
              body = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON: keep the text
            }
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: body as T,
            });
          });
          response.on('error', reject);
        },
      );
      request.on('error', reject);
      request.end(payload);
    });

  return {
    url: nginx.httpsUrl,
    request: send,
    load: async (path, body, { concurrency, durationMs, maxRequests }) => {
      const results: BalancedResult[] = [];
      const until = Date.now() + durationMs;
      const client = async () => {
        while (Date.now() < until && results.length < maxRequests) {
          const sentAt = Date.now();
          try {
            const reply = await send(path, { body });
            const instance = reply.headers['x-modelgate-instance'];
            results.push({
              status: reply.status,
              instance: instance as string | undefined,
              sentAt,
            });
          } catch {
            results.push({ status: 0, sentAt });
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, client));
      return results;
    },
    stop: async () => {
      agent.destroy();
      await nginx.stop();
    },
  };
}
