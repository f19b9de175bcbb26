import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { ModelVersion } from '../mlflow/mlflow.types';
import { LoadedModel } from './loaded-model';
import { LoadedVersions } from './loaded-versions.service';
import { ModelBindings } from './model-bindings.service';
import { FakeLoader, configServing, eventBus, flush, recordEvents } from './testing/model-fakes';

function version(name: string, number: string): ModelVersion {
  return { name, version: number, stage: 'None', status: 'READY', aliases: [], tags: {} };
}

describe(LoadedVersions.name, () => {
  let loader: FakeLoader;
  let bindings: ModelBindings;
  let emitter: EventEmitter2;
  let now: number;
  let sut: LoadedVersions;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    loader = new FakeLoader();
    bindings = new ModelBindings();
    emitter = new EventEmitter2();
    now = 1_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now++);
  });

  afterEach(() => jest.restoreAllMocks());

  function cache(bounds: { maxModels?: number; maxBytes?: number }): void {
    sut = new LoadedVersions(loader, bindings, eventBus(emitter), configServing([], bounds));
  }

  /** Loads `name/number` and serves it under `reference` (pinned: listed in MODELS). */
  async function serve(reference: string, number: string, pinned = false): Promise<LoadedModel> {
    const binding = bindings.bind({ name: reference, selector: { kind: 'default' } }, pinned);
    const model = await sut.load(version(reference, number));
    binding.model = model;
    return model;
  }

  it('loads a version once however many ask for it at the same time', async () => {
    cache({});
    const gate = loader.holdNext();

    const first = sut.load(version('iris', '1'));
    const second = sut.load(version('iris', '1'));
    gate.open();

    expect(await first).toBe(await second);
    expect(loader.loaded).toEqual(['iris/1']);
    expect(sut.stats).toEqual({ loads: 1, loadFailures: 0, evictions: 0 });
    // Loaded: the next ask is answered from memory.
    expect(await sut.load(version('iris', '1'))).toBe(await first);
    expect(loader.loaded).toEqual(['iris/1']);
  });

  it('tells of a failed load, keeps nothing of it, and tries again on the next ask', async () => {
    cache({});
    const failed = recordEvents(emitter, 'model.failed');
    loader.failing.add('iris/2');

    await expect(sut.load(version('iris', '2'))).rejects.toThrow('bad files');

    expect(failed).toEqual([
      {
        event: 'model.failed',
        payload: expect.objectContaining({ name: 'iris', version: '2', error: expect.any(String) }),
      },
    ]);
    expect(sut.stats.loadFailures).toBe(1);
    expect(sut.count).toBe(0);
    loader.failing.clear();
    await expect(sut.load(version('iris', '2'))).resolves.toMatchObject({ version: '2' });
  });

  it('evicts the least recently used version beyond MODEL_CACHE_MAX_MODELS, and forgets its bindings', async () => {
    cache({ maxModels: 2 });
    const evicted = recordEvents(emitter, 'model.evicted');
    const a = await serve('a', '1');
    await serve('b', '1');
    a.acquire()(); // a is used after b: b is now the least recently used

    await serve('c', '1');
    await flush();

    expect(evicted.map((e) => e.payload)).toEqual([{ name: 'b', version: '1' }]);
    expect(bindings.views().map((v) => v.key)).toEqual(['a', 'c']);
    expect(sut.count).toBe(2);
    expect(sut.stats.evictions).toBe(1);
    expect(loader.runtimes.get('b/1')?.disposed).toBe(true);
    expect(loader.runtimes.get('a/1')?.disposed).toBe(false);
  });

  it('evicts until the bytes loaded are within MODEL_CACHE_MAX_BYTES', async () => {
    cache({ maxBytes: 10_000 });
    loader.sizes.set('a/1', 4_000);
    loader.sizes.set('b/1', 4_000);
    loader.sizes.set('c/1', 9_000);
    await serve('a', '1');
    await serve('b', '1');

    await serve('c', '1');

    expect(bindings.views().map((v) => v.key)).toEqual(['c']);
    expect(sut.bytes()).toBe(9_000);
    expect(sut.stats.evictions).toBe(2);
  });

  it('never evicts a version a model of MODELS serves, staying over the bound instead', async () => {
    cache({ maxModels: 1 });
    await serve('pinned', '1', true);

    await serve('other', '1');

    expect(bindings.views().map((v) => v.key)).toEqual(['pinned', 'other']);
    expect(sut.count).toBe(2);
    expect(sut.stats.evictions).toBe(0);
  });

  it('skips a version with requests in flight, evicting the next least recently used', async () => {
    cache({ maxModels: 2 });
    const busy = await serve('busy', '1');
    await serve('idle', '1');
    const release = busy.acquire(); // in flight
    busy.lastUsedAt = 0; // and the least recently used of all

    await serve('new', '1');
    await flush();

    expect(bindings.views().map((v) => v.key)).toEqual(['busy', 'new']);
    expect(loader.runtimes.get('busy/1')?.disposed).toBe(false);
    expect(loader.runtimes.get('idle/1')?.disposed).toBe(true);
    release();
  });

  it('stays over its bounds when every other version is busy, and evicts on a later load once free', async () => {
    cache({ maxModels: 1 });
    const busy = await serve('busy', '1');
    const release = busy.acquire();

    await serve('second', '1');
    expect(sut.count).toBe(2);
    expect(loader.runtimes.get('busy/1')?.disposed).toBe(false);

    release();
    await serve('third', '1');
    await flush();

    expect(bindings.views().map((v) => v.key)).toEqual(['third']);
    expect(loader.runtimes.get('busy/1')?.disposed).toBe(true);
  });

  it('retires a replaced version only once no binding uses it, after its requests finish', async () => {
    cache({});
    const old = await serve('iris', '1');
    const release = old.acquire();

    await sut.retireIfUnused(old); // still bound: kept
    expect(sut.count).toBe(1);

    bindings.get('iris')!.model = await sut.load(version('iris', '2'));
    const retiring = sut.retireIfUnused(old);
    await flush();
    expect(loader.runtimes.get('iris/1')?.disposed).toBe(false);
    release();
    await retiring;

    expect(loader.runtimes.get('iris/1')?.disposed).toBe(true);
    expect(sut.count).toBe(1);
  });

  it('tells whether it unloaded a version, disposing one only once however often asked', async () => {
    cache({});
    const old = await serve('iris', '1');

    await expect(sut.retireIfUnused(old)).resolves.toBe(false); // still bound
    bindings.remove('iris');
    await expect(sut.retireIfUnused(old)).resolves.toBe(true);
    const runtime = loader.runtimes.get('iris/1')!;
    const dispose = jest.spyOn(runtime, 'dispose');
    await expect(sut.retireIfUnused(old)).resolves.toBe(false); // retired already

    expect(dispose).not.toHaveBeenCalled();
    expect(sut.count).toBe(0);
  });
});
