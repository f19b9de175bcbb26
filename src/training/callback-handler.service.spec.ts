import { ClusterService } from '../cluster/cluster.service';
import { MemoryStateStore } from '../cluster/memory-state-store';
import { StateStore, StoreUnavailableError } from '../cluster/state-store';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { AirflowCallbackDto } from './airflow-callback.dto';
import { CallbackHandler } from './callback-handler.service';

class FakeRegistry implements Pick<ModelRegistry, 'reloadModel'> {
  calls: { name: string; trigger: string }[] = [];
  failNext = false;
  private release?: () => void;
  gate?: Promise<void>;

  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }

  open(): void {
    this.release?.();
  }

  async reloadModel(name: string, trigger: string): Promise<ReloadOutcome[]> {
    this.calls.push({ name, trigger });
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('registry unreachable');
    }
    return [{ reference: `${name}@champion`, status: 'swapped', from: '1', to: '2' }];
  }
}

function callback(overrides: Partial<AirflowCallbackDto> = {}): AirflowCallbackDto {
  return {
    event: 'model_version_ready',
    dag_id: 'modelgate_retrain',
    dag_run_id: 'manual__1',
    model_name: 'iris',
    version: '2',
    alias: 'champion',
    promoted: true,
    ...overrides,
  };
}

function instance(id: string): ClusterService {
  return { instanceId: id } as ClusterService;
}

/** A shared store that has gone away: every call fails as the Redis store's do. */
function unreachableStore(): StateStore {
  const down = () =>
    Promise.reject(new StoreUnavailableError('redis://redis:6379/0', 'connection lost'));
  // It still claims to be connected: the loss shows first as a failing command.
  return new Proxy({ connected: true } as StateStore, {
    get: (target, property) => (property in target ? target[property as 'connected'] : down),
  });
}

describe(CallbackHandler.name, () => {
  let registry: FakeRegistry;
  let store: MemoryStateStore;
  let sut: CallbackHandler;

  beforeEach(() => {
    registry = new FakeRegistry();
    store = new MemoryStateStore();
    sut = new CallbackHandler(registry as unknown as ModelRegistry, store, instance('api-1'));
  });

  afterEach(async () => {
    await sut.onModuleDestroy();
    await store.stop();
  });

  it('reloads the named model and reports the outcome', async () => {
    const result = await sut.handle(callback());

    expect(registry.calls).toEqual([{ name: 'iris', trigger: 'airflow callback manual__1' }]);
    expect(result).toEqual({
      accepted: true,
      duplicate: false,
      handledBy: 'api-1',
      outcomes: [expect.objectContaining({ status: 'swapped' })],
    });
  });

  it('reloads once for the same callback twice, and says the second was a duplicate', async () => {
    await sut.handle(callback());
    const second = await sut.handle(callback());

    expect(registry.calls).toHaveLength(1);
    expect(second.duplicate).toBe(true);
    expect(second.outcomes).toEqual([expect.objectContaining({ status: 'swapped' })]);
  });

  it('reloads once when the same callback arrives again while the first is still reloading', async () => {
    registry.hold();
    const first = sut.handle(callback());
    const second = sut.handle(callback());
    registry.open();

    const results = await Promise.all([first, second]);

    expect(registry.calls).toHaveLength(1);
    expect(results.map((r) => r.duplicate).sort()).toEqual([false, true]);
  });

  it('treats another run or another version as a new callback', async () => {
    await sut.handle(callback());
    await sut.handle(callback({ dag_run_id: 'manual__2' }));
    await sut.handle(callback({ version: '3' }));

    expect(registry.calls).toHaveLength(3);
  });

  it('forgets a callback whose reload failed, so Airflow’s retry is acted on', async () => {
    registry.failNext = true;
    await expect(sut.handle(callback())).rejects.toThrow('registry unreachable');

    const retry = await sut.handle(callback());

    expect(retry.duplicate).toBe(false);
    expect(registry.calls).toHaveLength(2);
  });

  describe('across instances sharing a store', () => {
    let peer: CallbackHandler;

    beforeEach(() => {
      peer = new CallbackHandler(registry as unknown as ModelRegistry, store, instance('api-2'));
    });

    afterEach(() => peer.onModuleDestroy());

    it('acts once when the retry reaches another instance, which answers with the first outcome', async () => {
      const first = await sut.handle(callback());
      const retry = await peer.handle(callback());

      expect(registry.calls).toHaveLength(1);
      expect(first).toMatchObject({ duplicate: false, handledBy: 'api-1' });
      expect(retry).toMatchObject({
        duplicate: true,
        handledBy: 'api-1',
        outcomes: [expect.objectContaining({ status: 'swapped', to: '2' })],
      });
    });

    it('makes a duplicate on another instance wait for the holder to finish', async () => {
      registry.hold();
      const first = sut.handle(callback());
      const retry = peer.handle(callback());
      setTimeout(() => registry.open(), 120);

      const [a, b] = await Promise.all([first, retry]);

      expect(registry.calls).toHaveLength(1);
      expect(a.duplicate).toBe(false);
      expect(b).toMatchObject({ duplicate: true, handledBy: 'api-1', outcomes: a.outcomes });
    });

    it('lets another instance act once the holder’s reload failed', async () => {
      registry.failNext = true;
      await expect(sut.handle(callback())).rejects.toThrow('registry unreachable');

      const retry = await peer.handle(callback());

      expect(retry).toMatchObject({ duplicate: false, handledBy: 'api-2' });
      expect(registry.calls).toHaveLength(2);
    });
  });

  it('keeps callbacks idempotent in this process while the shared store is unreachable', async () => {
    const cutOff = new CallbackHandler(
      registry as unknown as ModelRegistry,
      unreachableStore(),
      instance('api-3'),
    );
    try {
      const first = await cutOff.handle(callback());
      const again = await cutOff.handle(callback());

      expect(first).toMatchObject({ duplicate: false, handledBy: 'api-3' });
      expect(again).toMatchObject({ duplicate: true, handledBy: 'api-3' });
      expect(registry.calls).toHaveLength(1);
    } finally {
      await cutOff.onModuleDestroy();
    }
  });
});
