import { Logger } from '@nestjs/common';
import { ModelsConfig } from '../config/models.config';
import { ModelNotFoundError, ModelNotReadyError } from './model.errors';
import { ModelRegistry } from './model-registry.service';
import {
  FakeLoader,
  FakeResolver,
  configServing,
  flush,
  registryOver,
} from './testing/model-fakes';

describe(ModelRegistry.name, () => {
  let resolver: FakeResolver;
  let loader: FakeLoader;
  let sut: ModelRegistry;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    resolver = new FakeResolver();
    resolver.names.set('iris@champion', '1');
    resolver.names.set('iris', '1');
    resolver.names.set('wine', '7');
    loader = new FakeLoader();
  });

  afterEach(() => sut.onModuleDestroy());

  async function serving(references: string[], overrides: Partial<ModelsConfig>): Promise<void> {
    sut = registryOver(resolver, loader, configServing(references, overrides)).registry;
    sut.onApplicationBootstrap();
    await flush();
  }

  it('answers a bare name from the binding of MODELS that serves it, loading nothing more', async () => {
    await serving(['iris@champion'], { loadOnDemand: false });

    const { model, release } = await sut.acquire({ name: 'iris', selector: { kind: 'default' } });
    release();

    expect(model.key).toBe('iris/1');
    expect(sut.list().map((m) => m.key)).toEqual(['iris@champion']);
    expect(sut.stats).toMatchObject({ hits: 1, misses: 0, loads: 1 });
  });

  it('loads another model on its first request when loading on demand is on', async () => {
    await serving([], { loadOnDemand: true });

    const { model, release } = await sut.acquire({ name: 'wine', selector: { kind: 'default' } });
    release();

    expect(model.key).toBe('wine/7');
    expect(sut.stats).toMatchObject({ hits: 0, misses: 1 });
    expect(sut.list().map((m) => [m.key, m.pinned, m.state])).toEqual([['wine', false, 'ready']]);
  });

  it('answers a load that failed as not ready, and an unknown name as not found', async () => {
    await serving([], { loadOnDemand: true });
    resolver.names.set('broken', '1');
    loader.failing.add('broken/1');

    await expect(sut.acquire({ name: 'broken', selector: { kind: 'default' } })).rejects.toThrow(
      ModelNotReadyError,
    );
    await expect(sut.acquire({ name: 'nope', selector: { kind: 'default' } })).rejects.toThrow(
      ModelNotFoundError,
    );
    expect(sut.list()).toEqual([]);
  });

  describe('with MODEL_LOAD_ON_DEMAND=false', () => {
    beforeEach(() => serving(['iris@champion'], { loadOnDemand: false }));

    it('refuses to predict with, describe or reload a model not among MODELS', async () => {
      await expect(sut.acquire({ name: 'wine', selector: { kind: 'default' } })).rejects.toThrow(
        'model wine not found: it is not among MODELS and loading on demand is off',
      );
      expect(() => sut.assertServable('wine')).toThrow(ModelNotFoundError);
      await expect(sut.reloadModel('wine', 'api')).rejects.toThrow(
        'it is not among MODELS and loading on demand is off',
      );
      expect(sut.list().map((m) => m.key)).toEqual(['iris@champion']);
      expect(resolver.asked.map((r) => r.name)).toEqual(['iris']);
    });

    it('reloads a model of MODELS', async () => {
      resolver.names.set('iris@champion', '2');

      const outcomes = await sut.reloadModel('iris', 'api');

      expect(outcomes).toEqual([
        { reference: 'iris@champion', status: 'swapped', from: '1', to: '2' },
      ]);
      expect(() => sut.assertServable('iris')).not.toThrow();
    });
  });

  describe('with MODEL_ALLOW', () => {
    beforeEach(() => serving(['iris@champion'], { loadOnDemand: true, allow: ['wi*'] }));

    it('serves names that match, and models of MODELS', async () => {
      const { release } = await sut.acquire({ name: 'wine', selector: { kind: 'default' } });
      release();

      expect(() => sut.assertServable('iris')).not.toThrow();
      expect(sut.list().map((m) => m.key)).toEqual(['iris@champion', 'wine']);
    });

    it('refuses every other name, even with loading on demand on', async () => {
      const refused = 'model other not found: its name is not allowed by MODEL_ALLOW';

      await expect(sut.acquire({ name: 'other', selector: { kind: 'default' } })).rejects.toThrow(
        refused,
      );
      await expect(sut.reloadModel('other', 'api')).rejects.toThrow(refused);
      expect(() => sut.assertServable('other')).toThrow(refused);
      expect(resolver.asked.map((r) => r.name)).toEqual(['iris']);
    });
  });
});
