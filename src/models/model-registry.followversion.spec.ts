import { Logger } from '@nestjs/common';
import { ModelsConfig } from '../config/models.config';
import { Tensor, TensorSpec } from './tensor.types';
import { ModelVersion } from '../mlflow/mlflow.types';
import { LoadedModel } from './loaded-model';
import { ModelLoadError, ModelNotFoundError } from './model.errors';
import { ModelLoader } from './model-loader.service';
import { ModelReference, formatModelReference } from '../common/model-reference';
import {
  ModelBinding,
  ModelRegistry,
  ModelResolvedEvent,
  ModelSwapEvent,
} from './model-registry.service';
import { ModelResolver } from './model-resolver.service';
import { ModelRuntime } from './runtimes/model-runtime';

const PEER = 'peer api-2: refresh job';

class FakeRuntime implements ModelRuntime {
  readonly kind = 'onnx';
  readonly inputs: readonly TensorSpec[] = [];
  readonly outputs: readonly TensorSpec[] = [];
  disposed = false;

  predict(): Promise<Tensor[]> {
    return Promise.resolve([]);
  }

  dispose(): Promise<void> {
    this.disposed = true;
    return Promise.resolve();
  }
}

/** Something that holds a call until the test lets it go. */
class Gate {
  private opened?: () => void;
  readonly closed = new Promise<void>((resolve) => (this.opened = resolve));

  open(): void {
    this.opened?.();
  }
}

/** MLflow as the registry sees it: what each alias names now, and every reference asked about. */
class FakeResolver implements Pick<ModelResolver, 'resolve'> {
  readonly names = new Map<string, string>();
  readonly asked: ModelReference[] = [];
  private gate?: Gate;

  /** The next resolve call waits until the returned gate is opened. */
  holdNext(): Gate {
    return (this.gate = new Gate());
  }

  async resolve(ref: ModelReference): Promise<ModelVersion> {
    this.asked.push(ref);
    const gate = this.gate;
    this.gate = undefined;
    await gate?.closed;
    const version =
      ref.selector.kind === 'version'
        ? ref.selector.version
        : this.names.get(formatModelReference(ref));
    if (!version) throw new ModelNotFoundError(formatModelReference(ref));
    return {
      name: ref.name,
      version,
      stage: 'None',
      status: 'READY',
      aliases: [],
      tags: {},
    };
  }
}

/** Loads instantly into a fake runtime, except the versions told to fail. */
class FakeLoader implements Pick<ModelLoader, 'load'> {
  readonly loaded: string[] = [];
  readonly runtimes = new Map<string, FakeRuntime>();
  readonly failing = new Set<string>();

  load(version: ModelVersion): Promise<LoadedModel> {
    const key = `${version.name}/${version.version}`;
    if (this.failing.has(key)) {
      return Promise.reject(new ModelLoadError(version.name, version.version, 'bad files'));
    }
    this.loaded.push(key);
    const runtime = new FakeRuntime();
    this.runtimes.set(key, runtime);
    return Promise.resolve(
      new LoadedModel({
        name: version.name,
        version: version.version,
        flavor: 'onnx',
        runtime,
        directory: `/tmp/${key}`,
        sizeBytes: 1_000,
        fromCache: true,
        loadDurationMs: 1,
      }),
    );
  }
}

function configServing(references: string[]): ModelsConfig {
  return {
    models: references.map((reference) => `models:/${reference}`),
    cacheDir: '.cache/models',
    maxModels: 16,
    maxBytes: 2 * 1024 ** 3,
    diskCacheMaxBytes: 10 * 1024 ** 3,
    defaultAlias: 'champion',
    loadOnDemand: false,
    refreshIntervalMs: 0,
    drainTimeoutMs: 1_000,
    onnxIntraOpThreads: 0,
    admission: { maxConcurrent: 4, maxQueued: 64 },
    scoringServers: {},
    scoringServerTimeoutMs: 30_000,
    scoringServerCoolDownMs: 10_000,
  };
}

async function flush(turns = 5): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe(`${ModelRegistry.name} following peers`, () => {
  let resolver: FakeResolver;
  let loader: FakeLoader;
  let resolved: ModelResolvedEvent[];
  let swapped: ModelSwapEvent[];
  let sut: ModelRegistry;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    resolver = new FakeResolver();
    resolver.names.set('iris@champion', '1');
    resolver.names.set('wine@champion', '7');
    loader = new FakeLoader();
    resolved = [];
    swapped = [];
  });

  afterEach(() => sut.onModuleDestroy());

  /** A registry serving `references` from MODELS, observed; without waiting for the first loads. */
  function serve(references: string[]): void {
    sut = new ModelRegistry(
      resolver as unknown as ModelResolver,
      loader as unknown as ModelLoader,
      configServing(references),
    );
    sut.observe({
      modelResolved: (event) => resolved.push(event),
      modelSwapped: (event) => swapped.push(event),
    });
    sut.onApplicationBootstrap();
  }

  /** A registry serving `references`, every first load done; what was asked until then forgotten. */
  async function serving(...references: string[]): Promise<void> {
    serve(references);
    await Promise.all(sut.list().map((b) => b.pending ?? Promise.resolve()));
    expect(sut.pinnedReady).toBe(true);
    resolver.asked.length = 0;
  }

  function binding(reference: string): ModelBinding {
    const found = sut.list().find((b) => b.key === reference);
    if (!found) throw new Error(`${reference} is not served`);
    return found;
  }

  const versionOf = (reference: string) => binding(reference).model?.version;

  it('leaves a reference it does not serve alone', async () => {
    await serving('iris@champion');

    const outcome = await sut.followVersion('wine@champion', '8', PEER);

    expect(outcome).toBeUndefined();
    expect(resolver.asked).toEqual([]);
    expect(sut.list().map((b) => b.key)).toEqual(['iris@champion']);
  });

  it('moves a served reference to exactly the version told, without asking what the alias names', async () => {
    await serving('iris@champion');
    // Had it resolved the alias, it would have landed on v5.
    resolver.names.set('iris@champion', '5');

    const outcome = await sut.followVersion('iris@champion', '2', PEER);

    expect(outcome).toEqual({ reference: 'iris@champion', status: 'swapped', from: '1', to: '2' });
    expect(resolver.asked).toEqual([{ name: 'iris', selector: { kind: 'version', version: '2' } }]);
    expect(versionOf('iris@champion')).toBe('2');
    // Still the alias binding: the next reload follows the alias again.
    expect(binding('iris@champion').ref).toEqual({
      name: 'iris',
      selector: { kind: 'alias', alias: 'champion' },
    });
    expect(sut.recentReloads()[0]).toMatchObject({ status: 'swapped', to: '2', trigger: PEER });
    await flush();
    expect(loader.runtimes.get('iris/1')?.disposed).toBe(true);
    expect(loader.runtimes.get('iris/2')?.disposed).toBe(false);
  });

  it('answers unchanged, loading nothing, when it serves that version already', async () => {
    await serving('iris@champion');

    const outcome = await sut.followVersion('iris@champion', '1', PEER);

    expect(outcome).toEqual({
      reference: 'iris@champion',
      status: 'unchanged',
      from: '1',
      to: '1',
    });
    expect(resolver.asked).toEqual([]);
    expect(loader.loaded).toEqual(['iris/1']);
  });

  it('keeps the old version serving when the version told fails to load', async () => {
    await serving('iris@champion');
    loader.failing.add('iris/2');

    const outcome = await sut.followVersion('iris@champion', '2', PEER);

    expect(outcome).toMatchObject({ status: 'failed', from: '1', to: '2' });
    expect(versionOf('iris@champion')).toBe('1');
    expect(binding('iris@champion').lastError).toMatchObject({ version: '2' });
  });

  it('waits for a reload under way, then applies the version told: the last told wins', async () => {
    await serving('iris@champion');
    resolver.names.set('iris@champion', '2');
    const gate = resolver.holdNext();

    const reloading = sut.reload(binding('iris@champion'), 'refresh job');
    const following = sut.followVersion('iris@champion', '3', PEER);
    await flush();
    // The follow waits: only the reload has asked MLflow so far.
    expect(resolver.asked).toEqual([
      { name: 'iris', selector: { kind: 'alias', alias: 'champion' } },
    ]);
    gate.open();
    const [reload, follow] = await Promise.all([reloading, following]);

    expect(reload).toEqual({ reference: 'iris@champion', status: 'swapped', from: '1', to: '2' });
    expect(follow).toEqual({ reference: 'iris@champion', status: 'swapped', from: '2', to: '3' });
    expect(versionOf('iris@champion')).toBe('3');
    expect(loader.loaded).toEqual(['iris/1', 'iris/2', 'iris/3']);
  });

  it('waits for the first load under way, then applies the version told', async () => {
    const gate = resolver.holdNext();
    serve(['iris@champion']);

    const following = sut.followVersion('iris@champion', '4', PEER);
    await flush();
    expect(loader.loaded).toEqual([]);
    gate.open();

    expect(await following).toEqual({
      reference: 'iris@champion',
      status: 'swapped',
      from: '1',
      to: '4',
    });
    expect(versionOf('iris@champion')).toBe('4');
  });

  it('never reports a resolution when following, while a reload does (so peers never echo)', async () => {
    await serving('iris@champion');
    expect(resolved).toEqual([
      { reference: 'iris@champion', name: 'iris', version: '1', trigger: 'start' },
    ]);

    await sut.followVersion('iris@champion', '2', PEER);

    expect(resolved).toHaveLength(1);
    // Observers are told of the swap: they are called, just not about a resolution.
    expect(swapped).toEqual([
      expect.objectContaining({
        reference: 'iris@champion',
        from: '1',
        to: '2',
        outcome: 'swapped',
      }),
    ]);

    resolver.names.set('iris@champion', '3');
    await sut.reload(binding('iris@champion'), 'reload endpoint');

    expect(resolved).toEqual([
      { reference: 'iris@champion', name: 'iris', version: '1', trigger: 'start' },
      { reference: 'iris@champion', name: 'iris', version: '3', trigger: 'reload endpoint' },
    ]);
  });

  it('reloads only the references `only` accepts', async () => {
    await serving('iris@champion', 'wine@champion', 'digits/4');
    resolver.names.set('iris@champion', '2');
    resolver.names.set('wine@champion', '8');

    const outcomes = await sut.reloadAll(
      'refresh job',
      (reference) => reference !== 'iris@champion',
    );

    expect(outcomes).toEqual([
      { reference: 'wine@champion', status: 'swapped', from: '7', to: '8' },
    ]);
    // A fixed version never moves, accepted or not.
    expect(resolver.asked.map(formatModelReference)).toEqual(['wine@champion']);
    expect(versionOf('iris@champion')).toBe('1');
    expect(versionOf('wine@champion')).toBe('8');
  });
});
