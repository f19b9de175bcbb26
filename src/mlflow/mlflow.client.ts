// Over the ~300-line guide: the one typed client of MLflow's REST API
// (STYLE.md: every outside system behind one client): registry, runs,
// artifact download and health. Wire types live in mlflow.types.ts and
// mappers in mlflow.mapper.ts; what is left is one method a call.
import { Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { mkdir, rename, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { UpstreamHttp, UpstreamHttpOptions, UpstreamRequest } from '../common/http/upstream-http';
import { UpstreamErrorBody } from '../common/upstream/map-axios-error';
import {
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
} from '../common/upstream/upstream.error';
import { MlflowMapper } from './mlflow.mapper';
import {
  ArtifactFile,
  DownloadResult,
  MetricPoint,
  ModelVersion,
  Page,
  RegisteredModel,
  Run,
  SearchOptions,
  WireErrorBody,
  WireFileInfo,
  WireModelVersion,
  WireRegisteredModel,
  WireRun,
  Webhook,
  WebhookInput,
  WebhookTestResult,
  WireWebhook,
  WireWebhookTestResult,
} from './mlflow.types';

export const MLFLOW_HTTP_OPTIONS = Symbol('MLFLOW_HTTP_OPTIONS');

export interface MlflowClientOptions extends Omit<UpstreamHttpOptions, 'service' | 'parseErrorBody'> {
  artifactDownloadTimeoutMs: number;
  /** Files downloaded at once from the artifact proxy. */
  downloadConcurrency?: number;
}

const API = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

/** MLflow's error body: `{"error_code": "...", "message": "..."}`. */
export function parseMlflowError(body: unknown): UpstreamErrorBody {
  const wire = (body ?? {}) as WireErrorBody;
  return { code: wire.error_code, message: wire.message };
}

/**
 * The MLflow tracking server and model registry over REST: every call the API
 * server makes to MLflow goes through here, and returns domain values or throws
 * an {@link UpstreamError}. Works with MLflow 2.x and 3.x servers.
 */
@Injectable()
export class MlflowClient implements OnModuleDestroy {
  private readonly logger = new Logger(MlflowClient.name);
  private readonly http: UpstreamHttp;

  constructor(@Inject(MLFLOW_HTTP_OPTIONS) private readonly options: MlflowClientOptions) {
    this.http = new UpstreamHttp({ ...options, service: 'mlflow', parseErrorBody: parseMlflowError });
  }

  onModuleDestroy(): void {
    this.http.close();
  }

  get trackingUri(): string {
    return this.http.baseUrl;
  }

  // ---- registry: registered models -------------------------------------

  async getRegisteredModel(name: string): Promise<RegisteredModel> {
    const body = await this.get<{ registered_model: WireRegisteredModel }>('/registered-models/get', { name });
    return MlflowMapper.registeredModel(body.registered_model);
  }

  async searchRegisteredModels(options: SearchOptions = {}): Promise<Page<RegisteredModel>> {
    const body = await this.get<{ registered_models?: WireRegisteredModel[]; next_page_token?: string }>(
      '/registered-models/search',
      searchQuery(options),
    );
    return {
      items: (body.registered_models ?? []).map((m) => MlflowMapper.registeredModel(m)),
      nextPageToken: body.next_page_token || undefined,
    };
  }

  // ---- registry: model versions ----------------------------------------

  async getModelVersion(name: string, version: string | number): Promise<ModelVersion> {
    const body = await this.get<{ model_version: WireModelVersion }>('/model-versions/get', {
      name,
      version: String(version),
    });
    return MlflowMapper.modelVersion(body.model_version);
  }

  async searchModelVersions(options: SearchOptions = {}): Promise<Page<ModelVersion>> {
    const body = await this.get<{ model_versions?: WireModelVersion[]; next_page_token?: string }>(
      '/model-versions/search',
      searchQuery(options),
    );
    return {
      items: (body.model_versions ?? []).map((v) => MlflowMapper.modelVersion(v)),
      nextPageToken: body.next_page_token || undefined,
    };
  }

  /** Every version of a registered model, following page tokens. */
  async *allModelVersions(name: string, pageSize = 100): AsyncGenerator<ModelVersion> {
    const filter = `name='${name.replace(/'/g, "\\'")}'`;
    yield* paginate((pageToken) => this.searchModelVersions({ filter, maxResults: pageSize, pageToken }));
  }

  /**
   * The storage location of a version's files. Always ask for it: MLflow 3
   * sources (`models:/m-…`) are not locations, and 2.x sources may be run paths.
   */
  async getDownloadUri(name: string, version: string | number): Promise<string> {
    const body = await this.get<{ artifact_uri: string }>('/model-versions/get-download-uri', {
      name,
      version: String(version),
    });
    return body.artifact_uri;
  }

  /** Legacy stages (deprecated since MLflow 2.9): the newest version in `stage`. */
  async getLatestVersion(name: string, stage: string): Promise<ModelVersion> {
    const body = await this.get<{ model_versions?: WireModelVersion[] }>(
      '/registered-models/get-latest-versions',
      { name, stages: [stage] },
    );
    const match = (body.model_versions ?? []).find((v) => v.current_stage?.toLowerCase() === stage.toLowerCase());
    if (!match) {
      throw new UpstreamNotFoundError('mlflow', 'not_found', `model ${name} has no version in stage ${stage}`);
    }
    return MlflowMapper.modelVersion(match);
  }

  // ---- registry: aliases -----------------------------------------------

  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion> {
    try {
      const body = await this.get<{ model_version: WireModelVersion }>('/registered-models/alias', { name, alias });
      return MlflowMapper.modelVersion(body.model_version);
    } catch (error) {
      // MLflow answers an unknown alias with 400 INVALID_PARAMETER_VALUE "… alias x not found".
      if (error instanceof UpstreamInvalidRequestError && /alias .* not found/i.test(error.upstreamMessage ?? '')) {
        throw new UpstreamNotFoundError('mlflow', 'not_found', error.description, error.details);
      }
      throw error;
    }
  }

  async setAlias(name: string, alias: string, version: string | number): Promise<void> {
    await this.call({
      method: 'POST',
      path: `${API}/registered-models/alias`,
      body: { name, alias, version: String(version) },
      idempotent: true,
    });
  }

  /** Sets one tag of a model version (`model-versions/set-tag`); a tag set twice keeps the last value. */
  async setModelVersionTag(name: string, version: string | number, key: string, value: string): Promise<void> {
    await this.call({
      method: 'POST',
      path: `${API}/model-versions/set-tag`,
      body: { name, version: String(version), key, value },
      idempotent: true,
    });
  }

  // ---- tracking --------------------------------------------------------

  async getRun(runId: string): Promise<Run> {
    const body = await this.get<{ run: WireRun }>('/runs/get', { run_id: runId });
    return MlflowMapper.run(body.run);
  }

  /**
   * Logs metrics to a run in one call (`runs/log-batch`, at most 1000 a call
   * by MLflow's limits). Not idempotent: a repeat adds a second point of each.
   */
  async logMetrics(runId: string, metrics: readonly MetricPoint[]): Promise<void> {
    if (metrics.length === 0) return;
    await this.call({
      method: 'POST',
      path: `${API}/runs/log-batch`,
      body: {
        run_id: runId,
        metrics: metrics.map((m) => ({
          key: m.key,
          value: m.value,
          timestamp: m.timestamp ?? Date.now(),
          step: m.step ?? 0,
        })),
      },
      idempotent: false,
    });
  }

  // ---- registry webhooks (MLflow 3.3+, SQL backend stores) ---------------

  async createWebhook(input: WebhookInput): Promise<Webhook> {
    const body = await this.call<{ webhook: WireWebhook }>({
      method: 'POST',
      path: `${API}/webhooks`,
      body: webhookBody(input),
      idempotent: false,
    });
    return MlflowMapper.webhook(body.webhook);
  }

  /** Every webhook the server has, following page tokens. */
  async listWebhooks(): Promise<Webhook[]> {
    const all: Webhook[] = [];
    let pageToken: string | undefined;
    do {
      const body = await this.get<{ webhooks?: WireWebhook[]; next_page_token?: string }>(
        '/webhooks',
        { max_results: 100, page_token: pageToken },
      );
      all.push(...(body.webhooks ?? []).map((w) => MlflowMapper.webhook(w)));
      pageToken = body.next_page_token || undefined;
    } while (pageToken);
    return all;
  }

  /** Changes the fields given; the others stay as they are. */
  async updateWebhook(id: string, changes: Partial<WebhookInput>): Promise<Webhook> {
    const body = await this.call<{ webhook: WireWebhook }>({
      method: 'PATCH',
      path: `${API}/webhooks/${encodeURIComponent(id)}`,
      body: webhookBody(changes),
      idempotent: true,
    });
    return MlflowMapper.webhook(body.webhook);
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.call({ method: 'DELETE', path: `${API}/webhooks/${encodeURIComponent(id)}` });
  }

  /**
   * Has MLflow send an example delivery of `event` (default: the webhook's
   * first event) and answers what the receiver said: a signed, real request.
   */
  async testWebhook(
    id: string,
    event?: WebhookInput['events'][number],
  ): Promise<WebhookTestResult> {
    const body = await this.call<{ result?: WireWebhookTestResult }>({
      method: 'POST',
      path: `${API}/webhooks/${encodeURIComponent(id)}/test`,
      body: event ? { event: MlflowMapper.webhookEvent(event) } : {},
      idempotent: false,
    });
    return MlflowMapper.webhookTestResult(body.result ?? {});
  }

  // ---- artifacts (through the server's artifact proxy) ------------------

  /**
   * Downloads the whole directory at `artifactUri` into `destination`. Files are
   * streamed into a staging directory that replaces `destination` only once every
   * file has arrived whole, so a partial download is never mistaken for a copy.
   */
  async downloadArtifacts(artifactUri: string, destination: string): Promise<DownloadResult> {
    const root = this.proxyPath(artifactUri);
    const files = (await this.walk(root, '')).filter((f) => !f.isDir);
    if (files.length === 0) {
      throw new UpstreamNotFoundError('mlflow', 'not_found', `no artifacts at ${artifactUri}`);
    }
    const staging = `${destination}.partial-${process.pid}-${Date.now()}`;
    await rm(staging, { recursive: true, force: true });
    let bytes = 0;
    try {
      await forEachLimit(files, this.options.downloadConcurrency ?? 4, async (file) => {
        const target = insideDirectory(staging, file.path);
        await mkdir(path.dirname(target), { recursive: true });
        // Read the total only after the await: `+=` across an await loses updates.
        const written = await this.http.download(
          { path: `${ARTIFACTS}/${encodePath(`${root}/${file.path}`)}`, timeoutMs: this.options.artifactDownloadTimeoutMs },
          target,
          file.size,
        );
        bytes += written;
      });
      await rm(destination, { recursive: true, force: true });
      await mkdir(path.dirname(destination), { recursive: true });
      await rename(staging, destination);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    this.logger.log(`downloaded ${files.length} files (${bytes} bytes) from ${artifactUri}`);
    return { directory: destination, files: files.length, bytes };
  }

  // ---- server ------------------------------------------------------------

  /** `GET /health`: "OK" when the server process is up. It skips the host check. */
  async health(): Promise<string> {
    const text = await this.call<string>({ method: 'GET', path: '/health', responseType: 'text' });
    return String(text).trim();
  }

  async version(): Promise<string> {
    const text = await this.call<string>({ method: 'GET', path: '/version', responseType: 'text' });
    return String(text).trim();
  }

  // ---- internals -----------------------------------------------------------

  private get<T>(endpoint: string, query: UpstreamRequest['query']): Promise<T> {
    return this.call<T>({ method: 'GET', path: `${API}${endpoint}`, query });
  }

  private call<T>(request: UpstreamRequest): Promise<T> {
    return this.http.request<T>(request);
  }

  private async listProxyPath(proxyPath: string): Promise<ArtifactFile[]> {
    const body = await this.call<{ files?: WireFileInfo[] }>({ method: 'GET', path: ARTIFACTS, query: { path: proxyPath } });
    return (body.files ?? []).map((f) => ({
      path: f.path,
      isDir: Boolean(f.is_dir),
      size: f.file_size === undefined ? undefined : Number(f.file_size),
    }));
  }

  /** Lists a directory tree; paths in the result are relative to `root`. */
  private async walk(root: string, relative: string): Promise<ArtifactFile[]> {
    const entries = await this.listProxyPath(relative ? `${root}/${relative}` : root);
    const result: ArtifactFile[] = [];
    for (const entry of entries) {
      // The proxy names entries by their base name; older servers give the full path.
      const name = path.posix.basename(entry.path);
      const rel = relative ? `${relative}/${name}` : name;
      result.push({ ...entry, path: rel });
      if (entry.isDir) {
        result.push(...(await this.walk(root, rel)));
      }
    }
    return result;
  }

  /**
   * Maps an artifact location to a path under the artifact proxy:
   * `mlflow-artifacts:/1/…` and `mlflow-artifacts://host:port/1/…` → `1/…`.
   */
  private proxyPath(artifactUri: string): string {
    const match = /^mlflow-artifacts:(?:\/\/[^/]*)?\/+(.*)$/.exec(artifactUri);
    if (!match) {
      throw new UpstreamInvalidRequestError(
        'mlflow',
        'invalid_request',
        `artifact location ${artifactUri} is not served through the tracking server's artifact proxy; ` +
          'start MLflow with --serve-artifacts (the default) and an mlflow-artifacts: artifact root',
      );
    }
    return match[1].replace(/\/+$/, '');
  }
}

function webhookBody(input: Partial<WebhookInput>): Record<string, unknown> {
  return {
    name: input.name,
    url: input.url,
    description: input.description,
    secret: input.secret,
    status: input.status,
    events: input.events?.map((e) => MlflowMapper.webhookEvent(e)),
  };
}

function searchQuery(options: SearchOptions): UpstreamRequest['query'] {
  return {
    filter: options.filter,
    max_results: options.maxResults,
    order_by: options.orderBy,
    page_token: options.pageToken,
  };
}

async function* paginate<T>(fetchPage: (pageToken?: string) => Promise<Page<T>>): AsyncGenerator<T> {
  let pageToken: string | undefined;
  do {
    const page = await fetchPage(pageToken);
    yield* page.items;
    pageToken = page.nextPageToken;
  } while (pageToken);
}

/**
 * Runs `work` over `items`, `limit` at a time. After the first failure no new
 * item starts, and it rejects only once every running item has settled, so the
 * caller's cleanup never races a worker still writing.
 */
async function forEachLimit<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      try {
        await work(items[next++]);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  });
  const results = await Promise.allSettled(workers);
  const rejection = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejection) throw rejection.reason;
}

/** A server-supplied relative path, refused if it would land outside `directory`. */
function insideDirectory(directory: string, relative: string): string {
  const target = path.resolve(directory, relative);
  if (!target.startsWith(path.resolve(directory) + path.sep)) {
    throw new UpstreamInvalidRequestError('mlflow', 'invalid_request', `artifact path ${relative} escapes its directory`);
  }
  return target;
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}
