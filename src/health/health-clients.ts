import { Provider } from '@nestjs/common';
import axios, { AxiosAdapter } from 'axios';
import * as http from 'node:http';
import * as https from 'node:https';
import { AirflowClient } from '../airflow/airflow.client';
import { RetryPolicy } from '../common/retry/retry.policy';
import { AirflowConfig, airflowConfig } from '../config/airflow.config';
import { HealthConfig, healthConfig } from '../config/health.config';
import { MlflowConfig, mlflowConfig } from '../config/mlflow.config';
import { MlflowClient } from '../mlflow/mlflow.client';
import { mlflowAuthHeaders } from '../mlflow/mlflow.module';
import { MetricsService } from '../metrics/metrics.service';

/**
 * The health checks' own MLflow and Airflow clients: the same class, URL,
 * credentials and TLS settings as the serving clients, but one attempt per
 * call and HEALTH_CHECK_TIMEOUT as the request timeout. A check must report
 * the first failure, not hide it behind 15 s of retries, and every request it
 * sends is counted (modelgate_upstream_requests_total{caller="health_check"}).
 * No keep-alive: each check opens its connections anew, so it proves that
 * name resolution, TCP and TLS still work, and a server that went away reads
 * as "connection refused", not as a reset of a pooled socket.
 */
export const HEALTH_MLFLOW_CLIENT = Symbol('HEALTH_MLFLOW_CLIENT');
export const HEALTH_AIRFLOW_CLIENT = Symbol('HEALTH_AIRFLOW_CLIENT');

const ONE_ATTEMPT: RetryPolicy = { maxRetries: 0, baseDelayMs: 0, maxDelayMs: 0, maxTotalMs: 0 };

/** Axios' own Node transport on fresh connections, each request counted before it is sent. */
function checkAdapter(count: () => void, insecureTls: boolean): AxiosAdapter {
  const transport = axios.getAdapter('http');
  const httpAgent = new http.Agent({ keepAlive: false });
  const httpsAgent = new https.Agent({ keepAlive: false, rejectUnauthorized: !insecureTls });
  return (config) => {
    count();
    return transport({ ...config, httpAgent, httpsAgent });
  };
}

/** The check's MLflow client; `count` is told of every request it sends. */
export function healthMlflowClient(
  mlflow: MlflowConfig,
  health: Pick<HealthConfig, 'timeoutMs'>,
  count: () => void,
): MlflowClient {
  const headers = mlflowAuthHeaders(mlflow);
  return new MlflowClient({
    baseUrl: mlflow.trackingUri,
    timeoutMs: health.timeoutMs,
    insecureTls: mlflow.insecureTls,
    retry: ONE_ATTEMPT,
    artifactDownloadTimeoutMs: health.timeoutMs,
    authorize: () => Promise.resolve(headers),
    adapter: checkAdapter(count, mlflow.insecureTls),
  });
}

/** The check's Airflow client, or null without Airflow configured (the indicator then says so). */
export function healthAirflowClient(
  airflow: AirflowConfig,
  health: Pick<HealthConfig, 'timeoutMs'>,
  count: () => void,
): AirflowClient | null {
  if (!airflow.configured) return null;
  return new AirflowClient({
    baseUrl: airflow.baseUrl,
    timeoutMs: health.timeoutMs,
    insecureTls: airflow.insecureTls,
    retry: ONE_ATTEMPT,
    credentials: { username: airflow.username, password: airflow.password },
    apiVersion: airflow.apiVersion,
    tokenRenewMarginMs: airflow.tokenRenewMarginMs,
    adapter: checkAdapter(count, airflow.insecureTls),
  });
}

export const healthClientProviders: Provider[] = [
  {
    provide: HEALTH_MLFLOW_CLIENT,
    inject: [mlflowConfig.KEY, healthConfig.KEY, MetricsService],
    useFactory: (mlflow: MlflowConfig, health: HealthConfig, metrics: MetricsService) =>
      healthMlflowClient(mlflow, health, () => metrics.upstreamRequest('mlflow', 'health_check')),
  },
  {
    provide: HEALTH_AIRFLOW_CLIENT,
    inject: [airflowConfig.KEY, healthConfig.KEY, MetricsService],
    useFactory: (airflow: AirflowConfig, health: HealthConfig, metrics: MetricsService) =>
      healthAirflowClient(airflow, health, () =>
        metrics.upstreamRequest('airflow', 'health_check'),
      ),
  },
];
