import { Logger } from '@nestjs/common';
import { ModelResolvedEvent, ModelSwappedEvent } from '../common/events/event-map';
import { formatModelReference } from '../common/model-reference';
import { ModelRegistry } from './model-registry.service';
import { ModelView } from './model-view';
import {
  FakeLoader,
  FakeResolver,
  configServing,
  flush,
  registryOver,
} from './testing/model-fakes';

const PEER = 'peer api-2: refresh job';

describe(`${ModelRegistry.name} following peers`, () => {
  let resolver: FakeResolver;
  let loader: FakeLoader;
  let resolved: ModelResolvedEvent[];
  let swapped: ModelSwappedEvent[];
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
    const parts = registryOver(resolver, loader, configServing(references));
    sut = parts.registry;
    parts.emitter.on('model.resolved', (event: ModelResolvedEvent) => resolved.push(event));
    parts.emitter.on('model.swapped', (event: ModelSwappedEvent) => swapped.push(event));
    sut.onApplicationBootstrap();
  }

  /** A registry serving `references`, every first load done; what was asked until then forgotten. */
  async function serving(...references: string[]): Promise<void> {
    serve(references);
    // The fakes answer at once: a few turns see every first load through.
    await flush();
    expect(sut.pinnedReady).toBe(true);
    resolver.asked.length = 0;
  }

  function binding(reference: string): ModelView {
    const found = sut.list().find((b) => b.key === reference);
    if (!found) throw new Error(`${reference} is not served`);
    return found;
  }

  const versionOf = (reference: string) => binding(reference).version;

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

    const reloading = sut.reload(binding('iris@champion').key, 'refresh job');
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

  it('loads the version told when its own first load failed (a peer’s news is its retry)', async () => {
    // Not registered yet when this instance started (the quick start trains after the start).
    resolver.names.delete('iris@champion');
    serve(['iris@champion']);
    await flush();
    expect(binding('iris@champion').state).toBe('failed');
    resolver.asked.length = 0;

    const outcome = await sut.followVersion('iris@champion', '2', PEER);

    expect(outcome).toEqual({ reference: 'iris@champion', status: 'loaded', to: '2' });
    expect(resolver.asked).toEqual([{ name: 'iris', selector: { kind: 'version', version: '2' } }]);
    expect(binding('iris@champion')).toMatchObject({ state: 'ready', version: '2' });
    expect(sut.pinnedReady).toBe(true);
    // Told, not resolved here: nothing goes out to the peers again.
    expect(resolved).toEqual([]);
  });

  it('never reports a resolution when following, while a reload does (so peers never echo)', async () => {
    await serving('iris@champion');
    expect(resolved).toEqual([
      { reference: 'iris@champion', name: 'iris', version: '1', trigger: 'start' },
    ]);

    await sut.followVersion('iris@champion', '2', PEER);

    expect(resolved).toHaveLength(1);
    // Listeners are told of the swap: they hear events, just not a resolution.
    expect(swapped).toEqual([
      expect.objectContaining({
        reference: 'iris@champion',
        from: '1',
        to: '2',
        outcome: 'swapped',
      }),
    ]);

    resolver.names.set('iris@champion', '3');
    await sut.reload(binding('iris@champion').key, 'reload endpoint');

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
