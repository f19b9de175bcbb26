import { Logger } from '@nestjs/common';
import { ModelsConfig } from '../config/models.config';
import { ModelLoadError, ModelNotFoundError, ModelPinnedError } from './model.errors';
import { ModelRegistry } from './model-registry.service';
import {
  FakeLoader,
  FakeResolver,
  RegistryParts,
  configServing,
  flush,
  registryOver,
} from './testing/model-fakes';

const WINE = { name: 'wine', selector: { kind: 'default' } } as const;

describe(`${ModelRegistry.name} load and unload (the repository API)`, () => {
  let resolver: FakeResolver;
  let loader: FakeLoader;
  let parts: RegistryParts;
  let sut: ModelRegistry;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    resolver = new FakeResolver();
    resolver.names.set('iris@champion', '1');
    resolver.names.set('wine', '7');
    resolver.names.set('wine@champion', '7');
    loader = new FakeLoader();
  });

  afterEach(() => sut.onModuleDestroy());

  async function serving(references: string[], overrides: Partial<ModelsConfig>): Promise<void> {
    parts = registryOver(resolver, loader, configServing(references, overrides));
    sut = parts.registry;
    sut.onApplicationBootstrap();
    await flush();
  }

  it('loads a model not served yet under its default reference', async () => {
    await serving(['iris@champion'], { loadOnDemand: true });

    const outcomes = await sut.loadModel('wine', 'repository load');

    expect(outcomes).toEqual([{ reference: 'wine', status: 'loaded', to: '7' }]);
    expect(sut.list().map((m) => [m.key, m.state, m.version])).toEqual([
      ['iris@champion', 'ready', '1'],
      ['wine', 'ready', '7'],
    ]);
  });

  it('refuses to load a model MODEL_ALLOW does not allow, or any when loading on demand is off', async () => {
    await serving([], { loadOnDemand: true, allow: ['iris*'] });
    await expect(sut.loadModel('wine', 'repository load')).rejects.toThrow(ModelNotFoundError);

    await sut.onModuleDestroy();
    await serving([], { loadOnDemand: false });
    await expect(sut.loadModel('wine', 'repository load')).rejects.toThrow(
      /loading on demand is off/,
    );
    expect(sut.list()).toEqual([]);
  });

  it('throws the load error of a model not served, and keeps no binding of it', async () => {
    await serving([], { loadOnDemand: true });
    loader.failing.add('wine/7');

    await expect(sut.loadModel('wine', 'repository load')).rejects.toThrow(ModelLoadError);
    expect(sut.list()).toEqual([]);
  });

  it('reloads a served model, keeping the old version when the new one fails to load', async () => {
    await serving([], { loadOnDemand: true });
    await sut.loadModel('wine', 'repository load');
    resolver.names.set('wine', '8');
    loader.failing.add('wine/8');

    const outcomes = await sut.loadModel('wine', 'repository load');

    expect(outcomes).toEqual([
      expect.objectContaining({ reference: 'wine', status: 'failed', from: '7', to: '8' }),
    ]);
    expect(sut.list().map((m) => [m.key, m.version])).toEqual([['wine', '7']]);
  });

  it('unloads every reference of a model and disposes its versions', async () => {
    await serving(['iris@champion'], { loadOnDemand: true });
    (await sut.acquire(WINE)).release();
    (await sut.acquire({ name: 'wine', selector: { kind: 'alias', alias: 'champion' } })).release();
    (await sut.acquire({ name: 'wine', selector: { kind: 'version', version: '6' } })).release();

    const unloaded = await sut.unloadModel('wine');

    expect(unloaded.sort()).toEqual(['wine/6', 'wine/7']);
    expect(sut.list().map((m) => m.key)).toEqual(['iris@champion']);
    expect(loader.runtimes.get('wine/7')?.disposed).toBe(true);
    expect(loader.runtimes.get('wine/6')?.disposed).toBe(true);
    expect(loader.runtimes.get('iris/1')?.disposed).toBe(false);
    expect(parts.versions.count).toBe(1);
  });

  it('unloads a version only once the requests using it are done', async () => {
    await serving([], { loadOnDemand: true });
    const { release } = await sut.acquire(WINE);

    const unloading = sut.unloadModel('wine');
    await flush();
    expect(sut.list()).toEqual([]); // no new request is answered by it
    expect(loader.runtimes.get('wine/7')?.disposed).toBe(false);

    release();
    await expect(unloading).resolves.toEqual(['wine/7']);
    expect(loader.runtimes.get('wine/7')?.disposed).toBe(true);
  });

  it('waits for a load under way before unloading, so nothing is left loaded', async () => {
    await serving([], { loadOnDemand: true });
    const gate = loader.holdNext();
    const loading = sut.acquire(WINE);
    await flush();

    const unloading = sut.unloadModel('wine');
    gate.open();
    (await loading).release();

    await expect(unloading).resolves.toEqual(['wine/7']);
    expect(parts.versions.count).toBe(0);
    expect(loader.runtimes.get('wine/7')?.disposed).toBe(true);
  });

  it('refuses to unload a model of MODELS, unloading none of its references', async () => {
    await serving(['wine@champion'], { loadOnDemand: true });
    (await sut.acquire({ name: 'wine', selector: { kind: 'version', version: '6' } })).release();

    await expect(sut.unloadModel('wine')).rejects.toThrow(ModelPinnedError);
    expect(sut.list().map((m) => m.key)).toEqual(['wine@champion', 'wine/6']);
    expect(loader.runtimes.get('wine/6')?.disposed).toBe(false);
  });

  it('answers an unload of a model not served with nothing unloaded, or not found when it may not be served', async () => {
    await serving([], { loadOnDemand: true, allow: ['wine'] });

    await expect(sut.unloadModel('wine')).resolves.toEqual([]);
    await expect(sut.unloadModel('iris')).rejects.toThrow(ModelNotFoundError);
  });

  it('loads a model again after it was unloaded', async () => {
    await serving([], { loadOnDemand: true });
    await sut.loadModel('wine', 'repository load');
    await sut.unloadModel('wine');

    await expect(sut.loadModel('wine', 'repository load')).resolves.toEqual([
      { reference: 'wine', status: 'loaded', to: '7' },
    ]);
    expect(loader.loaded).toEqual(['wine/7', 'wine/7']);
  });
});
