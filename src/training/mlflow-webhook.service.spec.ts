import { ClusterService } from '../cluster/cluster.service';
import { MemoryStateStore } from '../cluster/memory-state-store';
import { StateStore, StoreUnavailableError } from '../cluster/state-store';
import { ModelReference, formatModelReference } from '../common/model-reference';
import { ModelRegistry, RegistryFollowOutcome } from '../models/model-registry.service';
import { referencesOf } from './mlflow-webhook.events';
import { MlflowDelivery, MlflowWebhookHandler } from './mlflow-webhook.service';

class FakeRegistry implements Pick<ModelRegistry, 'followRegistry'> {
  calls: { refs: string[]; trigger: string }[] = [];
  failNext = false;

  followRegistry(refs: readonly ModelReference[], trigger: string): Promise<RegistryFollowOutcome> {
    this.calls.push({ refs: refs.map(formatModelReference), trigger });
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('boom'));
    }
    return Promise.resolve({
      reloaded: refs.map((r) => ({ reference: formatModelReference(r), status: 'unchanged' })),
      announced: [],
      skipped: [],
    });
  }
}

const aliasSet = (id: string, alias = 'champion'): MlflowDelivery => ({
  deliveryId: id,
  entity: 'model_version_alias',
  action: 'created',
  data: { name: 'iris', alias, version: '3' },
});

function handler(registry: FakeRegistry, store: StateStore, id = 'api-1'): MlflowWebhookHandler {
  return new MlflowWebhookHandler(
    registry as unknown as ModelRegistry,
    store,
    { instanceId: id } as ClusterService,
    { defaultAlias: 'champion' },
    { mlflowWebhook: { secret: 'x'.repeat(16), toleranceSeconds: 300, url: undefined } },
  );
}

describe('referencesOf (which served references an MLflow event may move)', () => {
  it('an alias set or deleted moves name@alias, and the bare name for the default alias', () => {
    const refs = (alias: string, action: string) => {
      const asked = referencesOf(
        { entity: 'model_version_alias', action, data: { name: 'iris', alias } },
        'champion',
      );
      return asked.kind === 'follow' ? asked.refs.map(formatModelReference) : asked.reason;
    };
    expect(refs('champion', 'created')).toEqual(['iris@champion', 'iris']);
    expect(refs('challenger', 'created')).toEqual(['iris@challenger']);
    expect(refs('champion', 'deleted')).toEqual(['iris@champion', 'iris']);
  });

  it('a new version moves latest, the bare name and a binding by its number', () => {
    const asked = referencesOf(
      { entity: 'model_version', action: 'created', data: { name: 'iris', version: '7' } },
      'champion',
    );
    expect(asked.kind === 'follow' && asked.refs.map(formatModelReference)).toEqual([
      'iris/latest',
      'iris',
      'iris/7',
    ]);
  });

  it('ignores other events and data without a usable model name, saying why', () => {
    const tag = referencesOf(
      { entity: 'model_version_tag', action: 'set', data: { name: 'iris' } },
      'champion',
    );
    expect(tag).toEqual({
      kind: 'ignored',
      reason: expect.stringContaining('model_version_tag.set'),
    });
    const noName = referencesOf(
      { entity: 'model_version_alias', action: 'created', data: { name: 'a/b', alias: 'x' } },
      'champion',
    );
    expect(noName.kind).toBe('ignored');
  });
});

describe(MlflowWebhookHandler.name, () => {
  let store: MemoryStateStore;
  beforeEach(() => (store = new MemoryStateStore()));
  afterEach(() => store.stop());

  it('follows the references an alias move names, with the delivery in the trigger', async () => {
    const registry = new FakeRegistry();

    const outcome = await handler(registry, store).handle(aliasSet('d-1'));

    expect(outcome).toMatchObject({
      accepted: true,
      duplicate: false,
      handledBy: 'api-1',
      event: 'model_version_alias.created',
      references: ['iris@champion', 'iris'],
    });
    expect(registry.calls).toEqual([
      {
        refs: ['iris@champion', 'iris'],
        trigger: 'mlflow webhook model_version_alias.created d-1',
      },
    ]);
  });

  it('acts on a delivery id once across instances sharing the store', async () => {
    const registry = new FakeRegistry();

    await handler(registry, store, 'api-1').handle(aliasSet('d-1'));
    const again = await handler(registry, store, 'api-2').handle(aliasSet('d-1'));

    expect(again).toMatchObject({ duplicate: true, handledBy: 'api-1' });
    expect(registry.calls).toHaveLength(1);
  });

  it('lets a retry act when following failed', async () => {
    const registry = new FakeRegistry();
    registry.failNext = true;
    const sut = handler(registry, store);

    await expect(sut.handle(aliasSet('d-1'))).rejects.toThrow('boom');
    const retry = await sut.handle(aliasSet('d-1'));

    expect(retry.duplicate).toBe(false);
    expect(registry.calls).toHaveLength(2);
  });

  it('answers an event it does not follow as accepted and ignored, without touching models', async () => {
    const registry = new FakeRegistry();

    const outcome = await handler(registry, store).handle({
      deliveryId: 'd-2',
      entity: 'registered_model',
      action: 'created',
      data: { name: 'iris' },
    });

    expect(outcome.ignored).toContain('registered_model.created');
    expect(registry.calls).toEqual([]);
  });

  it('remembers delivery ids in the process while the shared store is unreachable', async () => {
    const registry = new FakeRegistry();
    const down = new Proxy({ connected: true } as StateStore, {
      get: (target, property) =>
        property in target
          ? target[property as 'connected']
          : () => Promise.reject(new StoreUnavailableError('redis://r:6379/0', 'lost')),
    });
    const sut = handler(registry, down);

    await sut.handle(aliasSet('d-3'));
    const again = await sut.handle(aliasSet('d-3'));

    expect(again.duplicate).toBe(true);
    expect(registry.calls).toHaveLength(1);
    await sut.onModuleDestroy();
  });
});
