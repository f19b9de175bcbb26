import { Logger } from '@nestjs/common';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  FakeReply,
  FakeRetryEnvironment,
  FakeTransport,
  SentRequest,
} from '../common/testing/fake-transport';
import {
  UpstreamInvalidRequestError,
  UpstreamNotFoundError,
  UpstreamTransientError,
  UpstreamUnauthorizedError,
} from '../common/upstream/upstream.error';
import { MlflowClient, MlflowClientOptions } from './mlflow.client';
import { WireFileInfo, WireModelVersion, WireRun } from './mlflow.types';

const API = '/api/2.0/mlflow';
const ARTIFACTS = '/api/2.0/mlflow-artifacts/artifacts';

const mlflow3Version: WireModelVersion = {
  name: 'iris',
  version: '3',
  creation_timestamp: 1_700_000_000_000,
  last_updated_timestamp: 1_700_000_100_000,
  current_stage: 'None',
  description: 'third',
  source: 'models:/m-abc',
  run_id: 'run-3',
  status: 'READY',
  aliases: ['champion'],
  tags: [{ key: 'team', value: 'ml' }],
};

/** MLflow 2.x: no aliases field, empty description, a run artifact path as source. */
const mlflow2Version: WireModelVersion = {
  name: 'iris',
  version: '1',
  creation_timestamp: 1_600_000_000_000,
  current_stage: 'Production',
  description: '',
  source: 'mlflow-artifacts:/1/run-1/artifacts/model',
  run_id: 'run-1',
  status: 'READY',
};

function body(text: string): Readable {
  return Readable.from([Buffer.from(text)]);
}

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) {
    all.push(item);
  }
  return all;
}

async function eventually(condition: () => boolean, polls = 100): Promise<void> {
  for (let i = 0; i < polls && !condition(); i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('MlflowClient', () => {
  let transport: FakeTransport;
  let env: FakeRetryEnvironment;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    transport = new FakeTransport();
    env = new FakeRetryEnvironment();
  });

  function create(overrides: Partial<MlflowClientOptions> = {}): MlflowClient {
    return new MlflowClient({
      baseUrl: 'http://mlflow:5000',
      timeoutMs: 5000,
      retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 60_000 },
      artifactDownloadTimeoutMs: 300_000,
      authorize: () => Promise.resolve({ Authorization: 'Basic YWxpY2U6cw==' }),
      adapter: transport.adapter,
      retryEnvironment: env,
      ...overrides,
    });
  }

  function only(): SentRequest {
    expect(transport.requests).toHaveLength(1);
    return transport.requests[0];
  }

  describe('registered models', () => {
    it('gets a registered model by name and maps aliases, tags and latest versions', async () => {
      const sut = create();
      transport.reply(200, {
        registered_model: {
          name: 'iris',
          description: 'flowers',
          creation_timestamp: 1_700_000_000_000,
          latest_versions: [mlflow3Version],
          aliases: [{ alias: 'champion', version: '3' }],
          tags: [{ key: 'owner', value: 'me' }],
        },
      });

      const model = await sut.getRegisteredModel('iris');

      const sent = only();
      expect(sent.method).toBe('GET');
      expect(sent.url).toBe(`${API}/registered-models/get`);
      expect(sent.fullUrl).toBe(`http://mlflow:5000${API}/registered-models/get?name=iris`);
      expect(sent.headers.authorization).toBe('Basic YWxpY2U6cw==');
      expect(model).toMatchObject({
        name: 'iris',
        description: 'flowers',
        aliases: { champion: '3' },
        tags: { owner: 'me' },
        createdAt: new Date(1_700_000_000_000),
      });
      expect(model.latestVersions.map((v) => v.version)).toEqual(['3']);
    });

    it('maps an MLflow 2.x registered model without aliases or tags', async () => {
      const sut = create();
      transport.reply(200, { registered_model: { name: 'iris' } });

      const model = await sut.getRegisteredModel('iris');

      expect(model).toEqual({
        name: 'iris',
        description: undefined,
        aliases: {},
        latestVersions: [],
        tags: {},
        createdAt: undefined,
        updatedAt: undefined,
      });
    });

    it('maps RESOURCE_DOES_NOT_EXIST to not found', async () => {
      const sut = create();
      transport.reply(404, {
        error_code: 'RESOURCE_DOES_NOT_EXIST',
        message: 'Registered Model with name=nope not found',
      });

      const error = await sut.getRegisteredModel('nope').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(UpstreamNotFoundError);
      expect((error as Error).message).toContain('Registered Model with name=nope not found');
    });

    it('searches registered models with filter, page size, order and token', async () => {
      const sut = create();
      transport.reply(200, { registered_models: [{ name: 'a' }], next_page_token: 'tok' });

      const page = await sut.searchRegisteredModels({
        filter: "name LIKE 'a%'",
        maxResults: 10,
        orderBy: ['name ASC'],
        pageToken: 'prev',
      });

      expect(only().params).toEqual({
        filter: "name LIKE 'a%'",
        max_results: 10,
        order_by: ['name ASC'],
        page_token: 'prev',
      });
      expect(page.items.map((m) => m.name)).toEqual(['a']);
      expect(page.nextPageToken).toBe('tok');
    });

    it('treats an empty next_page_token as the last page', async () => {
      const sut = create();
      transport.reply(200, { next_page_token: '' });

      const page = await sut.searchRegisteredModels();

      expect(page).toEqual({ items: [], nextPageToken: undefined });
    });
  });

  describe('model versions', () => {
    it('gets a model version, sending the version as a string', async () => {
      const sut = create();
      transport.reply(200, { model_version: mlflow3Version });

      const version = await sut.getModelVersion('iris', 3);

      const sent = only();
      expect(sent.url).toBe(`${API}/model-versions/get`);
      expect(sent.params).toEqual({ name: 'iris', version: '3' });
      expect(version).toEqual({
        name: 'iris',
        version: '3',
        stage: 'None',
        status: 'READY',
        source: 'models:/m-abc',
        runId: 'run-3',
        modelId: 'm-abc',
        aliases: ['champion'],
        tags: { team: 'ml' },
        description: 'third',
        createdAt: new Date(1_700_000_000_000),
        updatedAt: new Date(1_700_000_100_000),
      });
    });

    it('maps an MLflow 2.x model version without aliases', async () => {
      const sut = create();
      transport.reply(200, { model_version: mlflow2Version });

      const version = await sut.getModelVersion('iris', '1');

      expect(version).toMatchObject({
        version: '1',
        stage: 'Production',
        runId: 'run-1',
        aliases: [],
        tags: {},
        description: undefined,
        updatedAt: undefined,
      });
      expect(version.modelId).toBeUndefined();
    });

    it('asks for the download URI of a version', async () => {
      const sut = create();
      transport.reply(200, { artifact_uri: 'mlflow-artifacts:/1/models/m-abc/artifacts' });

      await expect(sut.getDownloadUri('iris', 3)).resolves.toBe(
        'mlflow-artifacts:/1/models/m-abc/artifacts',
      );
      expect(only().url).toBe(`${API}/model-versions/get-download-uri`);
      expect(only().params).toEqual({ name: 'iris', version: '3' });
    });

    it('pages through every version of a model following next_page_token', async () => {
      const sut = create();
      transport
        .reply(200, {
          model_versions: [mlflow2Version, { ...mlflow2Version, version: '2' }],
          next_page_token: 'page-2',
        })
        .reply(200, { model_versions: [mlflow3Version] });

      const versions = await collect(sut.allModelVersions('iris', 2));

      expect(versions.map((v) => v.version)).toEqual(['1', '2', '3']);
      expect(transport.requests.map((r) => r.params)).toEqual([
        { filter: "name='iris'", max_results: 2 },
        { filter: "name='iris'", max_results: 2, page_token: 'page-2' },
      ]);
      expect(transport.requests.every((r) => r.url === `${API}/model-versions/search`)).toBe(true);
    });

    it('escapes a quote in the model name of the version filter', async () => {
      const sut = create();
      transport.reply(200, {});

      await collect(sut.allModelVersions("o'neil"));

      expect(only().params.filter).toBe("name='o\\'neil'");
    });

    it('finds the latest version in a stage', async () => {
      const sut = create();
      transport.reply(200, { model_versions: [mlflow2Version] });

      const version = await sut.getLatestVersion('iris', 'production');

      const sent = only();
      expect(sent.url).toBe(`${API}/registered-models/get-latest-versions`);
      expect(sent.fullUrl).toBe(
        `http://mlflow:5000${API}/registered-models/get-latest-versions?name=iris&stages=production`,
      );
      expect(version.version).toBe('1');
    });

    it('answers not found when no version is in the stage', async () => {
      const sut = create();
      transport.reply(200, { model_versions: [{ ...mlflow2Version, current_stage: 'Staging' }] });

      await expect(sut.getLatestVersion('iris', 'Production')).rejects.toBeInstanceOf(
        UpstreamNotFoundError,
      );
    });

    it('answers not found when the server lists no versions at all', async () => {
      const sut = create();
      transport.reply(200, {});

      await expect(sut.getLatestVersion('iris', 'Production')).rejects.toThrow(
        'model iris has no version in stage Production',
      );
    });
  });

  describe('registry webhooks', () => {
    const wire = {
      webhook_id: 'wh-1',
      name: 'modelgate',
      url: 'https://api.example.com/v1/hooks/mlflow',
      events: [{ entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' }],
      status: 'ACTIVE',
      creation_timestamp: 1_700_000_000_000,
    };

    it('creates a webhook, events as the proto enum names, and maps the answer', async () => {
      const sut = create();
      transport.reply(200, { webhook: wire });

      const created = await sut.createWebhook({
        name: 'modelgate',
        url: wire.url,
        events: ['model_version_alias.created', 'model_version.created'],
        secret: 's3cret-s3cret-s3cret',
      });

      const sent = only();
      expect(sent.method).toBe('POST');
      expect(sent.url).toBe(`${API}/webhooks`);
      expect(sent.body).toEqual({
        name: 'modelgate',
        url: wire.url,
        secret: 's3cret-s3cret-s3cret',
        events: [
          { entity: 'MODEL_VERSION_ALIAS', action: 'CREATED' },
          { entity: 'MODEL_VERSION', action: 'CREATED' },
        ],
      });
      expect(created).toMatchObject({
        id: 'wh-1',
        events: ['model_version_alias.created'],
        status: 'ACTIVE',
      });
    });

    it('lists every page of webhooks', async () => {
      const sut = create();
      transport
        .reply(200, { webhooks: [wire], next_page_token: 'p2' })
        .reply(200, { webhooks: [{ ...wire, webhook_id: 'wh-2' }] });

      const all = await sut.listWebhooks();

      expect(all.map((w) => w.id)).toEqual(['wh-1', 'wh-2']);
      expect(transport.requests[1].params).toMatchObject({ page_token: 'p2' });
    });

    it('updates with PATCH and tests with POST …/test, mapping the result', async () => {
      const sut = create();
      transport
        .reply(200, { webhook: { ...wire, status: 'DISABLED' } })
        .reply(200, { result: { success: false, response_status: 401, response_body: 'no' } });

      const updated = await sut.updateWebhook('wh-1', { status: 'DISABLED' });
      const tested = await sut.testWebhook('wh-1');

      expect(transport.requests[0]).toMatchObject({
        method: 'PATCH',
        url: `${API}/webhooks/wh-1`,
        body: { status: 'DISABLED' },
      });
      expect(updated.status).toBe('DISABLED');
      expect(transport.requests[1]).toMatchObject({
        method: 'POST',
        url: `${API}/webhooks/wh-1/test`,
      });
      expect(tested).toEqual({ success: false, responseStatus: 401, responseBody: 'no' });
    });
  });

  describe('aliases', () => {
    it('gets the version an alias points to', async () => {
      const sut = create();
      transport.reply(200, { model_version: mlflow3Version });

      const version = await sut.getModelVersionByAlias('iris', 'champion');

      const sent = only();
      expect(sent.method).toBe('GET');
      expect(sent.fullUrl).toBe(
        `http://mlflow:5000${API}/registered-models/alias?name=iris&alias=champion`,
      );
      expect(version.version).toBe('3');
    });

    it('maps an unknown alias (400 INVALID_PARAMETER_VALUE) to not found', async () => {
      const sut = create();
      transport.reply(400, {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: 'Registered model alias x not found.',
      });

      const error = await sut.getModelVersionByAlias('iris', 'x').catch((e: unknown) => e);

      expect(error).toBeInstanceOf(UpstreamNotFoundError);
      const notFound = error as UpstreamNotFoundError;
      expect(notFound.message).toMatch(/^mlflow: GET .*Registered model alias x not found\.$/);
      expect(notFound.details.status).toBe(400);
      expect(notFound.details.upstreamCode).toBe('INVALID_PARAMETER_VALUE');
    });

    it('keeps other invalid-parameter answers as invalid requests', async () => {
      const sut = create();
      transport.reply(400, {
        error_code: 'INVALID_PARAMETER_VALUE',
        message: "Missing value for required parameter 'alias'.",
      });

      await expect(sut.getModelVersionByAlias('iris', '')).rejects.toBeInstanceOf(
        UpstreamInvalidRequestError,
      );
    });

    it('sets an alias with a JSON body carrying the version as a string', async () => {
      const sut = create();
      transport.reply(200, {});

      await sut.setAlias('iris', 'champion', 3);

      const sent = only();
      expect(sent.method).toBe('POST');
      expect(sent.url).toBe(`${API}/registered-models/alias`);
      expect(sent.body).toEqual({ name: 'iris', alias: 'champion', version: '3' });
      expect(sent.headers['content-type']).toContain('application/json');
    });

    it('retries setting an alias after a 503, since it is idempotent', async () => {
      const sut = create();
      transport.reply(503, {}).reply(200, {});

      await sut.setAlias('iris', 'champion', '3');

      expect(transport.requests).toHaveLength(2);
    });

    it('tags a model version with a JSON body naming the version as a string', async () => {
      const sut = create();
      transport.reply(200, {});

      await sut.setModelVersionTag('iris', 2, 'modelgate.rolled_back_to', '1');

      const sent = only();
      expect(sent.method).toBe('POST');
      expect(sent.url).toBe(`${API}/model-versions/set-tag`);
      expect(sent.body).toEqual({
        name: 'iris',
        version: '2',
        key: 'modelgate.rolled_back_to',
        value: '1',
      });
    });

    it('answers a registry write refused for want of credentials with an unauthorized error', async () => {
      const sut = create();
      transport.reply(403, { error_code: 'PERMISSION_DENIED', message: 'no write' });

      await expect(sut.setAlias('iris', 'champion', '1')).rejects.toBeInstanceOf(
        UpstreamUnauthorizedError,
      );
    });

  });

  describe('tracking', () => {
    it('logs metrics to a run in one log-batch call, stamped with the time and step 0', async () => {
      const sut = create();
      transport.reply(200, {});

      await sut.logMetrics('run-2', [
        { key: 'modelgate.rollback.error_rate', value: 1 },
        { key: 'modelgate.rollback.requests', value: 20, timestamp: 1_700_000_000_000, step: 3 },
      ]);

      const sent = only();
      expect(sent.method).toBe('POST');
      expect(sent.url).toBe(`${API}/runs/log-batch`);
      expect(sent.body).toEqual({
        run_id: 'run-2',
        metrics: [
          { key: 'modelgate.rollback.error_rate', value: 1, timestamp: expect.any(Number), step: 0 },
          { key: 'modelgate.rollback.requests', value: 20, timestamp: 1_700_000_000_000, step: 3 },
        ],
      });
    });

    it('does not send a log-batch again after a 503 (a repeat would log every point twice)', async () => {
      const sut = create();
      transport.reply(503, {}).reply(200, {});

      await expect(sut.logMetrics('run-2', [{ key: 'k', value: 1 }])).rejects.toBeInstanceOf(
        UpstreamTransientError,
      );
      expect(transport.requests).toHaveLength(1);
    });

    it('sends nothing for no metrics', async () => {
      const sut = create();

      await sut.logMetrics('run-2', []);

      expect(transport.requests).toHaveLength(0);
    });

    const mlflow2Run: WireRun = {
      info: {
        run_uuid: 'run-1',
        experiment_id: '7',
        status: 'FINISHED',
        start_time: 1_600_000_000_000,
        end_time: 1_600_000_060_000,
        artifact_uri: 'mlflow-artifacts:/7/run-1/artifacts',
      },
      data: {
        metrics: [
          { key: 'rmse', value: 'NaN', timestamp: 1_600_000_050_000, step: 0 },
          { key: 'r2', value: 0.93, timestamp: 1_600_000_050_000, step: 0 },
          { key: 'loss', value: '-Infinity', timestamp: 1_600_000_050_000 },
        ],
        params: [{ key: 'alpha', value: '0.5' }],
        tags: [{ key: 'mlflow.runName', value: 'fancy' }],
      },
    };

    it('gets a 2.x run identified by run_uuid with a NaN metric sent as a string', async () => {
      const sut = create();
      transport.reply(200, { run: mlflow2Run });

      const run = await sut.getRun('run-1');

      expect(only().fullUrl).toBe(`http://mlflow:5000${API}/runs/get?run_id=run-1`);
      expect(run.runId).toBe('run-1');
      expect(run.experimentId).toBe('7');
      expect(run.metrics.rmse).toBeNaN();
      expect(run.metrics.r2).toBe(0.93);
      expect(run.metrics.loss).toBe(-Infinity);
      expect(run.params).toEqual({ alpha: '0.5' });
      expect(run.tags).toEqual({ 'mlflow.runName': 'fancy' });
      expect(run.startTime).toEqual(new Date(1_600_000_000_000));
    });

    it('prefers run_id over run_uuid', async () => {
      const sut = create();
      transport.reply(200, { run: { info: { run_id: 'new', run_uuid: 'old', experiment_id: '1' } } });

      const run = await sut.getRun('new');

      expect(run.runId).toBe('new');
      expect(run.metrics).toEqual({});
    });

  });

  describe('server', () => {
    it('reads /health as text', async () => {
      const sut = create();
      transport.reply(200, 'OK\n');

      await expect(sut.health()).resolves.toBe('OK');
      expect(only().url).toBe('/health');
      expect(only().responseType).toBe('text');
    });

    it('reads /version as text', async () => {
      const sut = create();
      transport.reply(200, '3.1.0');

      await expect(sut.version()).resolves.toBe('3.1.0');
      expect(only().url).toBe('/version');
    });

    it('names its tracking URI', () => {
      expect(create().trackingUri).toBe('http://mlflow:5000');
    });
  });

  describe('artifacts', () => {
    describe('downloadArtifacts', () => {
      const uri = 'mlflow-artifacts:/1/run-1/artifacts/model';
      const root = '1/run-1/artifacts/model';
      let dir: string;
      let destination: string;

      beforeEach(async () => {
        dir = await mkdtemp(path.join(tmpdir(), 'mlflow-client-spec-'));
        destination = path.join(dir, 'models', 'iris', '3');
      });

      afterEach(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      /** Serves directory listings and file bodies from a map of relative path → content. */
      function serve(
        listings: Record<string, WireFileInfo[]>,
        files: Record<string, string | (() => FakeReply | Promise<FakeReply>)>,
      ): void {
        transport.on('GET', ARTIFACTS, (request) => ({
          status: 200,
          data: { files: listings[String(request.params.path)] ?? [] },
        }));
        transport.on('GET', new RegExp(`^${ARTIFACTS}/`), (request) => {
          const relative = decodeURIComponent(request.url.slice(ARTIFACTS.length + 1));
          const file = files[relative];
          if (file === undefined) {
            return { status: 404, data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: relative } };
          }
          return typeof file === 'string' ? { status: 200, data: body(file) } : file();
        });
      }

      function partials(): string[] {
        const parent = path.dirname(destination);
        return existsSync(parent) ? readdirSync(parent).filter((n) => n.includes('.partial-')) : [];
      }

      const tree: Record<string, WireFileInfo[]> = {
        [root]: [
          { path: 'MLmodel', is_dir: false, file_size: 7 },
          { path: 'data', is_dir: true },
          { path: 'my model.txt', is_dir: false, file_size: '2' },
        ],
        // Older servers name entries by their full path.
        [`${root}/data`]: [
          { path: 'model/data/weights.bin', is_dir: false, file_size: 5 },
          { path: 'model/data/nested', is_dir: true },
        ],
        [`${root}/data/nested`]: [{ path: 'deep.json', is_dir: false, file_size: 2 }],
      };
      const contents = {
        [`${root}/MLmodel`]: 'flavors',
        [`${root}/my model.txt`]: 'hi',
        [`${root}/data/weights.bin`]: '12345',
        [`${root}/data/nested/deep.json`]: '{}',
      };

      it('walks nested directories and writes every file under the destination', async () => {
        const sut = create();
        serve(tree, contents);

        const result = await sut.downloadArtifacts(uri, destination);

        expect(result).toEqual({ directory: destination, files: 4, bytes: 16 });
        await expect(readFile(path.join(destination, 'MLmodel'), 'utf8')).resolves.toBe('flavors');
        await expect(readFile(path.join(destination, 'my model.txt'), 'utf8')).resolves.toBe('hi');
        await expect(readFile(path.join(destination, 'data/weights.bin'), 'utf8')).resolves.toBe(
          '12345',
        );
        await expect(readFile(path.join(destination, 'data/nested/deep.json'), 'utf8')).resolves.toBe(
          '{}',
        );
        expect(partials()).toEqual([]);
      });

      it('asks the artifact proxy for each file by its encoded path, with the download timeout', async () => {
        const sut = create();
        serve(tree, contents);

        await sut.downloadArtifacts(uri, destination);

        const downloads = transport.requests.filter((r) => r.url.startsWith(`${ARTIFACTS}/`));
        expect(downloads.map((r) => r.url).sort()).toEqual(
          [
            `${ARTIFACTS}/${root}/MLmodel`,
            `${ARTIFACTS}/${root}/data/nested/deep.json`,
            `${ARTIFACTS}/${root}/data/weights.bin`,
            `${ARTIFACTS}/${root}/my%20model.txt`,
          ].sort(),
        );
        expect(downloads.every((r) => r.timeout === 300_000)).toBe(true);
        expect(downloads.every((r) => r.headers.authorization === 'Basic YWxpY2U6cw==')).toBe(true);
      });

      it('downloads several files at once, never more than downloadConcurrency, and counts every byte', async () => {
        const sut = create({ downloadConcurrency: 3 });
        const names = Array.from({ length: 8 }, (_, i) => `part-${i}.bin`);
        // Hold each answer until three requests wait together (or none can follow),
        // and count a file as active from its request until its body is read.
        const waiting: (() => void)[] = [];
        let requested = 0;
        let active = 0;
        let maxActive = 0;
        const held = (text: string) => async (): Promise<FakeReply> => {
          requested++;
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            if (waiting.length === 3 || requested === names.length) {
              waiting.splice(0).forEach((release) => release());
            }
          });
          const data = body(text);
          data.on('end', () => active--);
          return { status: 200, data };
        };
        serve(
          { [root]: names.map((n, i) => ({ path: n, is_dir: false, file_size: i + 1 })) },
          Object.fromEntries(names.map((n, i) => [`${root}/${n}`, held('x'.repeat(i + 1))])),
        );

        const result = await sut.downloadArtifacts(uri, destination);

        expect(result.files).toBe(8);
        expect(result.bytes).toBe(36);
        expect(maxActive).toBe(3);
        expect((await readdir(destination)).sort()).toEqual([...names].sort());
      });

      it('retries a file whose body arrives shorter than its listed size', async () => {
        const sut = create();
        let served = 0;
        serve(
          { [root]: [{ path: 'MLmodel', is_dir: false, file_size: 7 }] },
          { [`${root}/MLmodel`]: () => ({ status: 200, data: body(++served === 1 ? 'fla' : 'flavors') }) },
        );

        const result = await sut.downloadArtifacts(uri, destination);

        expect(served).toBe(2);
        expect(result.bytes).toBe(7);
        await expect(readFile(path.join(destination, 'MLmodel'), 'utf8')).resolves.toBe('flavors');
      });

      it('replaces an existing destination once the download succeeded', async () => {
        const sut = create();
        serve(tree, contents);
        await mkdir(destination, { recursive: true });
        await writeFile(path.join(destination, 'stale.txt'), 'old');

        await sut.downloadArtifacts(uri, destination);

        expect(existsSync(path.join(destination, 'stale.txt'))).toBe(false);
        expect(existsSync(path.join(destination, 'MLmodel'))).toBe(true);
      });

      it('leaves no destination and no staging directory when a file fails', async () => {
        // One file at a time: this is about cleanup, not about parallel workers.
        const sut = create({ downloadConcurrency: 1 });
        const missing = `${root}/data/weights.bin`;
        serve(tree, Object.fromEntries(Object.entries(contents).filter(([k]) => k !== missing)));

        await expect(sut.downloadArtifacts(uri, destination)).rejects.toBeInstanceOf(
          UpstreamNotFoundError,
        );

        expect(existsSync(destination)).toBe(false);
        expect(partials()).toEqual([]);
      });

      it('keeps the previous copy when a new download fails', async () => {
        const sut = create({ downloadConcurrency: 1 });
        serve(tree, {});
        await mkdir(destination, { recursive: true });
        await writeFile(path.join(destination, 'MLmodel'), 'previous');

        await expect(sut.downloadArtifacts(uri, destination)).rejects.toBeInstanceOf(
          UpstreamNotFoundError,
        );

        await expect(readFile(path.join(destination, 'MLmodel'), 'utf8')).resolves.toBe('previous');
        expect(partials()).toEqual([]);
      });

      it('gives up on a file that keeps breaking and cleans up', async () => {
        const sut = create({ downloadConcurrency: 1 });
        serve(
          { [root]: [{ path: 'MLmodel', is_dir: false, file_size: 7 }] },
          { [`${root}/MLmodel`]: () => ({ status: 200, data: body('fla') }) },
        );

        const error = await sut.downloadArtifacts(uri, destination).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(UpstreamTransientError);
        expect(transport.to(`${ARTIFACTS}/${root}/MLmodel`)).toHaveLength(3);
        expect(existsSync(destination)).toBe(false);
        expect(partials()).toEqual([]);
      });

      it('leaves no staging directory behind when one file fails while others are still downloading', async () => {
        const sut = create({ downloadConcurrency: 2 });
        const slowBody = new Readable({ read() {} });
        const slowStarted = deferred();
        let tailRequested = false;
        let releaseSlow = () => {
          releaseSlow = () => undefined;
          slowBody.push(null);
        };
        serve(
          {
            [root]: [
              { path: 'a-fails.bin', is_dir: false, file_size: 1 },
              { path: 'b-slow.bin', is_dir: false, file_size: 1 },
              { path: 'c-after.bin', is_dir: false, file_size: 1 },
            ],
          },
          {
            [`${root}/a-fails.bin`]: async () => {
              // Fail only once b's file is open in the staging directory.
              await slowStarted.promise;
              await eventually(() =>
                partials().some((p) =>
                  existsSync(path.join(path.dirname(destination), p, 'b-slow.bin')),
                ),
              );
              setTimeout(() => releaseSlow(), 200);
              return { status: 404, data: { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'a' } };
            },
            [`${root}/b-slow.bin`]: () => {
              slowBody.push('b');
              slowStarted.resolve();
              return { status: 200, data: slowBody };
            },
            [`${root}/c-after.bin`]: () => {
              tailRequested = true;
              return { status: 200, data: body('c') };
            },
          },
        );

        const outcome = await sut.downloadArtifacts(uri, destination).then(
          () => undefined,
          (error: unknown) => error,
        );
        releaseSlow();
        // Let a worker still running after the failure finish what it started.
        const parent = path.dirname(destination);
        await eventually(
          () =>
            tailRequested &&
            partials().some((p) => existsSync(path.join(parent, p, 'c-after.bin'))),
        );

        expect(outcome).toBeInstanceOf(UpstreamNotFoundError);
        expect(partials()).toEqual([]);
        expect(existsSync(destination)).toBe(false);
      });

      it('refuses a server-supplied path that climbs out of the destination', async () => {
        const sut = create();
        serve({ [root]: [{ path: '..', is_dir: false, file_size: 1 }] }, { [`${root}/..`]: 'x' });

        const error = await sut.downloadArtifacts(uri, destination).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(UpstreamInvalidRequestError);
        expect((error as Error).message).toContain('escapes its directory');
        expect(existsSync(destination)).toBe(false);
        expect(partials()).toEqual([]);
      });

      it('never writes outside the destination whatever path the server lists', async () => {
        const sut = create();
        serve(
          { [root]: [{ path: '../../../escaped.txt', is_dir: false, file_size: 1 }] },
          { [`${root}/escaped.txt`]: 'x', [`${root}/../../../escaped.txt`]: 'x' },
        );

        await sut.downloadArtifacts(uri, destination).catch(() => undefined);

        const inside = (p: string) => p.startsWith(destination + path.sep);
        const written: string[] = [];
        const walk = async (d: string): Promise<void> => {
          for (const entry of await readdir(d, { withFileTypes: true })) {
            const full = path.join(d, entry.name);
            if (entry.isDirectory()) await walk(full);
            else written.push(full);
          }
        };
        await walk(dir);
        expect(written.filter((p) => !inside(p))).toEqual([]);
      });

      it('answers not found for a location with no files', async () => {
        const sut = create();
        serve({ [root]: [{ path: 'empty', is_dir: true }] }, {});

        await expect(sut.downloadArtifacts(uri, destination)).rejects.toThrow(
          `no artifacts at ${uri}`,
        );
        expect(existsSync(destination)).toBe(false);
      });

      it('refuses an s3:// location before listing anything', async () => {
        const sut = create();

        await expect(
          sut.downloadArtifacts('s3://bucket/1/run-1/artifacts/model', destination),
        ).rejects.toThrow('--serve-artifacts');
        expect(transport.requests).toHaveLength(0);
      });
    });
  });
});
