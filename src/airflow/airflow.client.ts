import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { basicAuthorization } from '../common/http/basic-auth';
import { UpstreamHttp, UpstreamHttpOptions, UpstreamRequest } from '../common/http/upstream-http';
import { UpstreamErrorBody } from '../common/upstream/map-axios-error';
import {
  UpstreamError,
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
  UpstreamUnauthorizedError,
} from '../common/upstream/upstream.error';
import { AirflowCredentials, AirflowTokenProvider } from './airflow-token.provider';
import { AirflowMapper } from './airflow.mapper';
import {
  AirflowApiVersion,
  AirflowHealth,
  Dag,
  DagRun,
  ListDagsOptions,
  TaskInstance,
  TriggerRunOptions,
  WireDag,
  WireDagRun,
  WireErrorBody,
  WireHealth,
  WireTaskInstance,
} from './airflow.types';

export const AIRFLOW_CLIENT_OPTIONS = Symbol('AIRFLOW_CLIENT_OPTIONS');

export interface AirflowClientOptions
  extends Omit<UpstreamHttpOptions, 'service' | 'parseErrorBody' | 'authorize'> {
  credentials: AirflowCredentials;
  /** Forces the API version instead of detecting it. */
  apiVersion?: AirflowApiVersion;
  tokenRenewMarginMs: number;
  now?: () => number;
}

/** Page size for task-instance listings (Airflow's own maximum default is 100). */
const PAGE = 100;

/** Airflow 2 problem details or Airflow 3 FastAPI `{detail}` → message and code. */
export function parseAirflowError(body: unknown): UpstreamErrorBody {
  const wire = (body ?? {}) as WireErrorBody;
  const detail = Array.isArray(wire.detail)
    ? wire.detail.map((d) => `${(d.loc ?? []).join('.')}: ${d.msg ?? ''}`).join('; ')
    : typeof wire.detail === 'object' && wire.detail !== null
      ? [wire.detail.reason, wire.detail.message].filter(Boolean).join(': ') || JSON.stringify(wire.detail).slice(0, 500)
      : wire.detail;
  return { message: detail ?? wire.title, code: wire.title };
}

/**
 * The Airflow REST API for Airflow 2 (`/api/v1`, HTTP basic auth) and
 * Airflow 3 (`/api/v2`, the same credentials exchanged for a bearer token).
 * The version is detected on first use unless configured.
 */
@Injectable()
export class AirflowClient implements OnModuleDestroy {
  private readonly logger = new Logger(AirflowClient.name);
  private readonly http: UpstreamHttp;
  private readonly tokens: AirflowTokenProvider;
  private detected?: Promise<AirflowApiVersion>;

  constructor(@Inject(AIRFLOW_CLIENT_OPTIONS) private readonly options: AirflowClientOptions) {
    const base = { ...options, service: 'airflow' as const, parseErrorBody: parseAirflowError };
    this.http = new UpstreamHttp(base);
    this.tokens = new AirflowTokenProvider(this.http, options.credentials, options.tokenRenewMarginMs, options.now);
  }

  onModuleDestroy(): void {
    this.http.close();
  }

  get baseUrl(): string {
    return this.http.baseUrl;
  }

  /** Airflow 3 tokens obtained so far. */
  get tokensIssued(): number {
    return this.tokens.issuedCount;
  }

  /** Which REST API this Airflow speaks; detected once, from its unauthenticated endpoints. */
  apiVersion(): Promise<AirflowApiVersion> {
    if (this.options.apiVersion) {
      return Promise.resolve(this.options.apiVersion);
    }
    this.detected ??= this.detectApiVersion().catch((error: unknown) => {
      this.detected = undefined; // try again next time
      throw error;
    });
    return this.detected;
  }

  /** Each component's health; needs no credentials. */
  async health(): Promise<AirflowHealth> {
    const version = await this.apiVersion();
    const path = version === 2 ? '/api/v2/monitor/health' : '/api/v1/health';
    const wire = await this.http.request<WireHealth>({ method: 'GET', path, authenticate: false });
    return AirflowMapper.health(wire);
  }

  async listDags(options: ListDagsOptions = {}): Promise<{ dags: Dag[]; total: number }> {
    const body = await this.call<{ dags?: WireDag[]; total_entries?: number }>({
      method: 'GET',
      path: '/dags',
      query: { limit: options.limit, offset: options.offset, dag_id_pattern: options.dagIdPattern },
    });
    const dags = (body.dags ?? []).map((d) => AirflowMapper.dag(d));
    return { dags, total: body.total_entries ?? dags.length };
  }

  async getDag(dagId: string): Promise<Dag> {
    return AirflowMapper.dag(await this.call<WireDag>({ method: 'GET', path: `/dags/${enc(dagId)}` }));
  }

  async setPaused(dagId: string, paused: boolean): Promise<Dag> {
    const body = await this.call<WireDag>({
      method: 'PATCH',
      path: `/dags/${enc(dagId)}`,
      query: { update_mask: 'is_paused' },
      body: { is_paused: paused },
      idempotent: true,
    });
    return AirflowMapper.dag(body);
  }

  /**
   * Triggers a DAG run. Without a given run id one is made here, which makes
   * the call safe to retry: if an attempt that seemed lost had in fact landed,
   * Airflow answers 409 for the retry and the run is read back instead.
   */
  async triggerRun(dagId: string, options: TriggerRunOptions = {}): Promise<DagRun> {
    const ownId = options.runId === undefined;
    const runId = options.runId ?? `modelgate__${new Date().toISOString()}__${randomUUID().slice(0, 8)}`;
    const version = await this.apiVersion();
    const body: Record<string, unknown> = { dag_run_id: runId, conf: options.conf ?? {} };
    if (options.note !== undefined) body.note = options.note;
    // Airflow 3 requires the logical_date key (null = "now"); in Airflow 2 it is optional.
    if (version === 2) body.logical_date = options.logicalDate?.toISOString() ?? null;
    else if (options.logicalDate) body.logical_date = options.logicalDate.toISOString();
    try {
      const run = await this.call<WireDagRun>({
        method: 'POST',
        path: `/dags/${enc(dagId)}/dagRuns`,
        body,
        idempotent: ownId,
      });
      this.logger.log(`triggered ${dagId} run ${runId}`);
      return AirflowMapper.dagRun(run);
    } catch (error) {
      if (ownId && error instanceof UpstreamInvalidRequestError && error.reason === 'conflict') {
        return this.getRun(dagId, runId);
      }
      throw error;
    }
  }

  async getRun(dagId: string, runId: string): Promise<DagRun> {
    const run = await this.call<WireDagRun>({ method: 'GET', path: `/dags/${enc(dagId)}/dagRuns/${enc(runId)}` });
    return AirflowMapper.dagRun(run);
  }

  /** Every task instance of a run, following pages. */
  async listTaskInstances(dagId: string, runId: string): Promise<TaskInstance[]> {
    const tasks: TaskInstance[] = [];
    for (let offset = 0; ; offset += PAGE) {
      const body = await this.call<{ task_instances?: WireTaskInstance[]; total_entries?: number }>({
        method: 'GET',
        path: `/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances`,
        query: { limit: PAGE, offset },
      });
      const page = body.task_instances ?? [];
      tasks.push(...page.map((t) => AirflowMapper.taskInstance(t)));
      if (page.length < PAGE || tasks.length >= (body.total_entries ?? Infinity)) {
        return tasks;
      }
    }
  }

  // ---- internals -----------------------------------------------------------

  /**
   * An authenticated call under `/api/v1` or `/api/v2`. On Airflow 3 a 401 means
   * the token went stale (the server restarted with another secret, or a clock
   * jumped): get a new one and try once more.
   */
  private async call<T>(request: UpstreamRequest): Promise<T> {
    const version = await this.apiVersion();
    const path = `/api/v${version}${request.path}`;
    if (version === 1) {
      const { username, password } = this.options.credentials;
      const authorization = basicAuthorization(username, password);
      return this.http.request<T>({ ...request, path, headers: { ...request.headers, Authorization: authorization } });
    }
    // The token is fetched here, outside the API call, so a 401 from the
    // exchange itself (a wrong password) is not mistaken for a stale token.
    const token = await this.tokens.token();
    const send = (bearer: string) =>
      this.http.request<T>({ ...request, path, headers: { ...request.headers, Authorization: `Bearer ${bearer}` } });
    try {
      return await send(token);
    } catch (error) {
      if (error instanceof UpstreamUnauthorizedError && error.reason === 'unauthorized') {
        this.logger.warn('Airflow rejected the token; obtaining a new one');
        this.tokens.invalidate(token);
        return send(await this.tokens.token());
      }
      throw error;
    }
  }

  private async detectApiVersion(): Promise<AirflowApiVersion> {
    try {
      await this.http.request({ method: 'GET', path: '/api/v2/version', authenticate: false });
      return 2;
    } catch (error) {
      if (!(error instanceof UpstreamNotFoundError)) {
        throw error;
      }
    }
    try {
      await this.http.request({ method: 'GET', path: '/api/v1/health', authenticate: false });
      return 1;
    } catch (error) {
      if (error instanceof UpstreamNotFoundError) {
        throw new UpstreamNotFoundError(
          'airflow',
          'not_found',
          `no Airflow REST API at ${this.baseUrl} (neither /api/v2 nor /api/v1 answered); check AIRFLOW_BASE_URL`,
          (error as UpstreamError).details,
        );
      }
      throw error;
    }
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}
