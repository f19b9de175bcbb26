import { Logger } from '@nestjs/common';
import { LifecycleState } from '../common/lifecycle/lifecycle.state';
import { parseModelReference } from '../common/model-reference';
import { ModelsConfig } from '../config/models.config';
import { ModelNotFoundError } from './model.errors';
import { ModelReadiness } from './model-readiness.service';
import { ModelRegistry } from './model-registry.service';
import {
  FakeLoader,
  FakeResolver,
  Gate,
  configServing,
  flush,
  registryOver,
} from './testing/model-fakes';

describe(ModelReadiness.name, () => {
  let resolver: FakeResolver;
  let loader: FakeLoader;
  let lifecycle: LifecycleState;
  let registry: ModelRegistry;
  let sut: ModelReadiness;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    resolver = new FakeResolver();
    resolver.names.set('iris@champion', '1');
    resolver.names.set('wine@champion', '7');
    loader = new FakeLoader();
    lifecycle = new LifecycleState();
  });

  afterEach(() => registry.onModuleDestroy());

  function serve(references: string[], overrides: Partial<ModelsConfig> = {}): void {
    registry = registryOver(resolver, loader, configServing(references, overrides)).registry;
    sut = new ModelReadiness(registry, lifecycle);
    registry.onApplicationBootstrap();
  }

  const ready = (text: string) => sut.modelReady(parseModelReference(text));

  it('is not ready while a model of MODELS loads, and ready once every one serves', async () => {
    const gate: Gate = loader.holdNext();
    serve(['iris@champion', 'wine@champion']);
    await flush();

    expect(sut.ready()).toBe(false);
    expect(sut.report().loading.map((m) => m.key)).toEqual(['iris@champion']);

    gate.open();
    await flush();
    expect(sut.ready()).toBe(true);
    expect(sut.report()).toMatchObject({ ready: true, loading: [], failed: [] });
  });

  it('reports a model of MODELS whose load failed', async () => {
    loader.failing.add('wine/7');
    serve(['iris@champion', 'wine@champion']);
    await flush();

    expect(sut.ready()).toBe(false);
    expect(sut.report().failed.map((m) => [m.key, m.lastError?.message])).toEqual([
      ['wine@champion', expect.stringContaining('bad files')],
    ]);
  });

  it('turns not ready at once when the instance drains', async () => {
    serve(['iris@champion']);
    await flush();
    expect(sut.ready()).toBe(true);

    lifecycle.startDraining('SIGTERM received');

    expect(sut.ready()).toBe(false);
    expect(sut.report().draining?.since).toEqual(lifecycle.drainingSinceAt);
  });

  it('answers a bare name ready when a binding of that model serves, as a prediction resolves it', async () => {
    serve(['iris@champion'], { loadOnDemand: true });
    await flush();

    expect(ready('iris')).toBe(true);
    expect(ready('iris@champion')).toBe(true);
    expect(ready('iris@challenger')).toBe(false);
    expect(ready('no-such-model')).toBe(false);
  });

  it('answers not found for a name that may not be served', async () => {
    serve(['iris@champion'], { loadOnDemand: false });
    await flush();

    expect(() => ready('wine')).toThrow(ModelNotFoundError);
    expect(ready('iris')).toBe(true);

    await registry.onModuleDestroy();
    serve([], { loadOnDemand: true, allow: ['iris*'] });
    expect(() => ready('wine')).toThrow('its name is not allowed by MODEL_ALLOW');
    expect(ready('iris')).toBe(false);
  });
});
