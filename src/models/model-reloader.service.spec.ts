import { Logger } from '@nestjs/common';
import { ModelBinding } from './model-binding';
import { ModelReloader } from './model-reloader.service';
import {
  FakeLoader,
  FakeResolver,
  RegistryParts,
  configServing,
  flush,
  recordEvents,
  registryOver,
} from './testing/model-fakes';

describe(ModelReloader.name, () => {
  let resolver: FakeResolver;
  let loader: FakeLoader;
  let parts: RegistryParts;
  let sut: ModelReloader;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    resolver = new FakeResolver();
    resolver.names.set('iris@champion', '1');
    loader = new FakeLoader();
    parts = registryOver(resolver, loader, configServing([], { loadOnDemand: true }));
    sut = parts.reloader;
  });

  afterEach(() => parts.registry.onModuleDestroy());

  /** `iris@champion` bound (pinned or not) and loaded at v1. */
  async function servingIris(pinned = true): Promise<ModelBinding> {
    const binding = parts.bindings.bind(
      { name: 'iris', selector: { kind: 'alias', alias: 'champion' } },
      pinned,
    );
    await sut.firstLoad(binding, 'start');
    return binding;
  }

  it('swaps in the version the alias moved to, then retires the old one', async () => {
    const binding = await servingIris();
    const swapped = recordEvents(parts.emitter, 'model.swapped');
    resolver.names.set('iris@champion', '2');

    const outcome = await sut.reload(binding, 'reload endpoint');
    await flush();

    expect(outcome).toEqual({ reference: 'iris@champion', status: 'swapped', from: '1', to: '2' });
    expect(binding.model?.version).toBe('2');
    expect(sut.swaps).toBe(1);
    expect(swapped.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        reference: 'iris@champion',
        from: '1',
        to: '2',
        outcome: 'swapped',
      }),
    ]);
    expect(loader.runtimes.get('iris/1')?.disposed).toBe(true);
    expect(sut.journal.recent()[0]).toMatchObject({
      status: 'swapped',
      trigger: 'reload endpoint',
    });
  });

  it('keeps the old version serving when the new one fails to load, and says why', async () => {
    const binding = await servingIris();
    resolver.names.set('iris@champion', '2');
    loader.failing.add('iris/2');
    const swapped = recordEvents(parts.emitter, 'model.swapped');

    const outcome = await sut.reload(binding, 'refresh job');

    expect(outcome).toMatchObject({ status: 'failed', from: '1', to: '2' });
    expect(binding.model?.version).toBe('1');
    expect(binding.lastError).toMatchObject({
      version: '2',
      message: expect.stringContaining('bad files'),
    });
    expect(swapped.map((e) => e.payload.outcome)).toEqual(['failed']);
    expect(loader.runtimes.get('iris/1')?.disposed).toBe(false);
  });

  it('keeps serving when MLflow cannot say what the alias names', async () => {
    const binding = await servingIris();
    resolver.names.delete('iris@champion');

    const outcome = await sut.reload(binding, 'refresh job');

    expect(outcome).toMatchObject({ status: 'failed', from: '1' });
    expect(binding.model?.version).toBe('1');
  });

  it('answers unchanged, loading nothing, when the alias has not moved', async () => {
    const binding = await servingIris();

    const outcome = await sut.reload(binding, 'refresh job');

    expect(outcome).toEqual({
      reference: 'iris@champion',
      status: 'unchanged',
      from: '1',
      to: '1',
    });
    expect(loader.loaded).toEqual(['iris/1']);
  });

  it('runs one reload of a binding at a time: a second ask joins the first', async () => {
    const binding = await servingIris();
    resolver.names.set('iris@champion', '2');
    const gate = resolver.holdNext();

    const first = sut.reload(binding, 'a');
    const second = sut.reload(binding, 'b');
    gate.open();

    expect(await second).toBe(await first);
    expect(resolver.asked).toHaveLength(2); // the first load's, and one reload's
  });

  it('follows a peer only after the reload under way, so the last version told wins', async () => {
    const binding = await servingIris();
    resolver.names.set('iris@champion', '2');
    const gate = resolver.holdNext();

    const reloading = sut.reload(binding, 'refresh job');
    const following = sut.followVersion('iris@champion', '3', 'peer api-2');
    await flush();
    expect(loader.loaded).toEqual(['iris/1']);
    gate.open();

    expect(await reloading).toMatchObject({ status: 'swapped', to: '2' });
    expect(await following).toMatchObject({ status: 'swapped', from: '2', to: '3' });
    expect(loader.loaded).toEqual(['iris/1', 'iris/2', 'iris/3']);
  });

  it('tells of a resolution at the first load, and not when following a peer', async () => {
    const resolved = recordEvents(parts.emitter, 'model.resolved');
    await servingIris();

    await sut.followVersion('iris@champion', '2', 'peer api-2');

    expect(resolved.map((e) => e.payload)).toEqual([
      { reference: 'iris@champion', name: 'iris', version: '1', trigger: 'start' },
    ]);
  });

  it('forgets a name asked for once and not found, but keeps a model of MODELS that failed', async () => {
    const unknown = parts.bindings.bind({ name: 'nope', selector: { kind: 'default' } }, false);
    const listed = parts.bindings.bind({ name: 'gone', selector: { kind: 'default' } }, true);

    await expect(sut.firstLoad(unknown, 'first request')).rejects.toThrow('not found');
    await expect(sut.firstLoad(listed, 'start')).rejects.toThrow('not found');

    expect(parts.bindings.views().map((v) => [v.key, v.state])).toEqual([['gone', 'failed']]);
    expect(sut.journal.recent().map((r) => r.status)).toEqual(['failed', 'failed']);
  });
  describe('vetoes', () => {
    const veto = {
      reference: 'iris@champion',
      version: '2',
      fallback: '1',
      reason: 'error rate 1 (was 0)',
      at: new Date(),
    };

    it('moves a binding serving the vetoed version back to the fallback', async () => {
      const binding = await servingIris();
      resolver.names.set('iris@champion', '2');
      await sut.reload(binding, 'promotion');

      const outcome = await sut.veto(veto, 'rollback veto');

      expect(outcome).toMatchObject({ status: 'swapped', from: '2', to: '1' });
      expect(binding.model?.version).toBe('1');
      expect(parts.bindings.view('iris@champion')?.veto).toMatchObject({ version: '2' });
    });

    it('does not swap the vetoed version back in while the alias still names it', async () => {
      const binding = await servingIris();
      await sut.veto(veto, 'rollback veto');
      resolver.names.set('iris@champion', '2');

      expect(await sut.reload(binding, 'refresh job')).toMatchObject({
        status: 'vetoed',
        from: '1',
        to: '2',
      });
      expect(await sut.followVersion('iris@champion', '2', 'peer api-2')).toMatchObject({
        status: 'vetoed',
      });
      expect(binding.model?.version).toBe('1');
      expect(loader.loaded).toEqual(['iris/1']);
    });

    it('loads the fallback at a first load while the alias names the vetoed version', async () => {
      resolver.names.set('iris@champion', '2');
      await sut.veto(veto, 'rollback veto');

      const binding = await servingIris();

      expect(binding.model?.version).toBe('1');
      expect(loader.loaded).toEqual(['iris/1']);
    });

    it('follows the alias to any other version', async () => {
      const binding = await servingIris();
      await sut.veto(veto, 'rollback veto');
      resolver.names.set('iris@champion', '3');

      expect(await sut.reload(binding, 'refresh job')).toMatchObject({
        status: 'swapped',
        to: '3',
      });
    });
    it('lapses once the alias names another version, so moving it back serves the vetoed one', async () => {
      const binding = await servingIris();
      await sut.veto(veto, 'rollback veto');
      const lifted = recordEvents(parts.emitter, 'model.vetoLifted');

      resolver.names.set('iris@champion', '1');
      await sut.reload(binding, 'refresh job');
      resolver.names.set('iris@champion', '2');
      const outcome = await sut.reload(binding, 'refresh job');

      expect(lifted.map((e) => e.payload)).toEqual([
        {
          reference: 'iris@champion',
          name: 'iris',
          version: '2',
          cause: 'the reference names v1 now',
        },
      ]);
      expect(outcome).toMatchObject({ status: 'swapped', from: '1', to: '2' });
      expect(parts.bindings.view('iris@champion')?.veto).toBeUndefined();
    });

    it('lapses on the resolution of a reference not served here (a webhook)', async () => {
      await sut.veto(veto, 'rollback veto');
      const lifted = recordEvents(parts.emitter, 'model.vetoLifted');
      resolver.names.set('iris@champion', '3');

      await sut.announce(
        { name: 'iris', selector: { kind: 'alias', alias: 'champion' } },
        'webhook',
      );

      expect(lifted.map((e) => e.payload.version)).toEqual(['2']);
      expect(sut.liftVeto('iris@champion', 'again')).toBeUndefined();
    });

    it("does not lapse while the alias names the vetoed version, nor on a peer's version", async () => {
      const binding = await servingIris();
      await sut.veto(veto, 'rollback veto');
      const lifted = recordEvents(parts.emitter, 'model.vetoLifted');
      resolver.names.set('iris@champion', '2');

      await sut.reload(binding, 'refresh job');
      await sut.followVersion('iris@champion', '3', 'peer api-2');

      expect(lifted).toEqual([]);
      expect(parts.bindings.view('iris@champion')?.veto).toMatchObject({ version: '2' });
    });

    it("lifts a peer's lift quietly, and only of the version it names", async () => {
      await sut.veto(veto, 'rollback veto');
      const lifted = recordEvents(parts.emitter, 'model.vetoLifted');

      expect(
        sut.liftVeto('iris@champion', 'a peer lifted it', { quiet: true, version: '7' }),
      ).toBeUndefined();
      expect(
        sut.liftVeto('iris@champion', 'a peer lifted it', { quiet: true, version: '2' }),
      ).toMatchObject({ version: '2' });
      expect(lifted).toEqual([]);
    });
  });
  describe('with ROLLOUT_KEEP_REPLACED, while the rollback watch watches the new version', () => {
    beforeEach(async () => {
      await parts.registry.onModuleDestroy();
      parts = registryOver(resolver, loader, configServing([], { loadOnDemand: true }), {
        standbyMs: 60_000,
      });
      sut = parts.reloader;
    });

    afterEach(() => sut.onModuleDestroy());

    it('keeps the replaced version loaded, so a rollback swaps back without a load and drops the bad one', async () => {
      const binding = await servingIris();
      resolver.names.set('iris@champion', '2');
      await sut.reload(binding, 'promotion');
      await flush();
      expect(loader.runtimes.get('iris/1')?.disposed).toBe(false);

      resolver.names.set('iris@champion', '1');
      expect(await sut.reload(binding, 'rollback')).toMatchObject({ status: 'swapped', to: '1' });
      await flush();

      expect(loader.loaded).toEqual(['iris/1', 'iris/2']);
      expect(loader.runtimes.get('iris/2')?.disposed).toBe(true);
    });

    it('unloads the replaced version once the watch is over', async () => {
      jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick'] });
      try {
        const binding = await servingIris();
        resolver.names.set('iris@champion', '2');
        await sut.reload(binding, 'promotion');
        await flush();
        expect(loader.runtimes.get('iris/1')?.disposed).toBe(false);
        jest.advanceTimersByTime(60_001);
        await flush();
      } finally {
        jest.useRealTimers();
      }
      expect(loader.runtimes.get('iris/1')?.disposed).toBe(true);
    });
  });
});
