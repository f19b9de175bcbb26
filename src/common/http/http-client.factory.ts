import { Logger } from '@nestjs/common';
import axios, { AxiosAdapter, AxiosError, AxiosInstance, InternalAxiosRequestConfig } from 'axios';
import * as http from 'node:http';
import * as https from 'node:https';
import { traceHeaders } from '../tracing/spans';

export interface HttpClientOptions {
  /** Names the client in logs, e.g. "mlflow". */
  name: string;
  baseUrl: string;
  timeoutMs: number;
  /** Accept any TLS certificate (MLflow's MLFLOW_TRACKING_INSECURE_TLS). */
  insecureTls?: boolean;
  /** Replaces the network transport; unit tests use it to see what was sent. */
  adapter?: AxiosAdapter;
}

const START = Symbol('startedAt');
type TimedConfig = InternalAxiosRequestConfig & { [START]?: number };

/**
 * The one place axios instances are made: keep-alive agents, the configured
 * timeout, the caller's trace context, and a request log that names method, path, status and duration —
 * never headers, query strings or bodies, where credentials travel.
 */
/** Closes the keep-alive sockets of an instance made by {@link createHttpClient}. */
export function closeHttpClient(instance: AxiosInstance): void {
  (instance.defaults.httpAgent as http.Agent | undefined)?.destroy();
  (instance.defaults.httpsAgent as https.Agent | undefined)?.destroy();
}

export function createHttpClient(options: HttpClientOptions): AxiosInstance {
  const logger = new Logger(`Http:${options.name}`);
  const instance = axios.create({
    baseURL: options.baseUrl.replace(/\/+$/, ''),
    timeout: options.timeoutMs,
    httpAgent: new http.Agent({ keepAlive: true }),
    httpsAgent: new https.Agent({ keepAlive: true, rejectUnauthorized: !options.insecureTls }),
    maxRedirects: 0,
    adapter: options.adapter,
    // Follow the transitional flag so timeouts surface as ETIMEDOUT, not ECONNABORTED.
    transitional: { clarifyTimeoutError: true },
  });
  instance.interceptors.request.use((config: TimedConfig) => {
    config[START] = Date.now();
    // The active span's W3C traceparent: MLflow's and Airflow's logs (or a
    // proxy in front of them) can be read beside the trace that asked.
    for (const [name, value] of Object.entries(traceHeaders())) config.headers.set(name, value);
    return config;
  });
  instance.interceptors.response.use(
    (response) => {
      logger.debug(`${line(response.config)} ${response.status} ${elapsed(response.config)}ms`);
      return response;
    },
    (error: AxiosError) => {
      const outcome = error.response?.status ?? error.code ?? 'failed';
      if (error.config) {
        logger.debug(`${line(error.config)} ${outcome} ${elapsed(error.config)}ms`);
      }
      return Promise.reject(error);
    },
  );
  return instance;
}

function line(config: TimedConfig): string {
  const path = (config.url ?? '').split('?')[0];
  return `${(config.method ?? 'get').toUpperCase()} ${path}`;
}

function elapsed(config: TimedConfig): number {
  return config[START] ? Date.now() - config[START] : 0;
}
