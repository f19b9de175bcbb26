import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { MemoryStateStore } from '../cluster/memory-state-store';
import {
  UpstreamTransientError,
  UpstreamUnauthorizedError,
} from '../common/upstream/upstream.error';
import { RollbackConfig } from '../config/rollback.config';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { eventBus, flush, recordEvents } from '../models/testing/model-fakes';
import { VersionVeto } from '../models/version-vetoes';
import { RollbackActions } from './rollback-actions';
import { RollbackRequest } from './rollback-request';
import { RollbackService } from './rollback.service';

const config: RollbackConfig = {
  watchMs: 600_000,
  rollback: true,
  maxErrorRate: 0.05,
  maxP99Ms: 250,
  minRequests: 20,
  cooldownMs: 300_000,
  standbyMs: 0,
};

const request: RollbackRequest = {
  reference: 'iris@champion',
  name: 'iris',
  alias: 'champion',
  bad: '2',
  good: '1',
  reason: 'error rate 1.000 (20 of 20) against 0.000 before',
  figures: { requests: 20, errors: 20, errorRate: 1 },
  baseline: { requests: 40, errors: 0, errorRate: 0, p99Ms: 12 },
  watchedMs: 1500,
};

/** MLflow's side of a rollback: the alias move answers `moveError` when set. */
class FakeActions implements Pick<RollbackActions, 'moveAlias' | 'record' | 'bookkeeping'> {
  moveError?: Error;
  readonly moved: RollbackRequest[] = [];
  readonly recorded: RollbackRequest[] = [];

  moveAlias(r: RollbackRequest): Promise<void> {
    if (this.moveError) return Promise.reject(this.moveError);
    this.moved.push(r);
    return Promise.resolve();
  }

  record(r: RollbackRequest): Promise<string[]> {
    this.recorded.push(r);
    return Promise.resolve([]);
  }

  bookkeeping(r: RollbackRequest): string[] {
    return [`tag v${r.bad}`, `metrics of v${r.bad}'s run`];
  }
}

/** The registry's answers to a rollback: what was reloaded and vetoed here. */
class FakeRegistry implements Pick<ModelRegistry, 'veto' | 'reload' | 'liftVeto'> {
  readonly reloads: string[] = [];
  readonly lifts: { reference: string; cause: string; version?: string }[] = [];

  liftVeto(reference: string, cause: string, options?: { version?: string }): undefined {
    this.lifts.push({ reference, cause, version: options?.version });
    return undefined;
  }

  readonly vetoes: { veto: VersionVeto; trigger: string }[] = [];

  reload(reference: string): Promise<ReloadOutcome> {
    this.reloads.push(reference);
    return Promise.resolve({ reference, status: 'swapped', from: '2', to: '1' });
  }

  veto(veto: VersionVeto, trigger: string): Promise<ReloadOutcome | undefined> {
    this.vetoes.push({ veto, trigger });
    return Promise.resolve(undefined);
  }
}

describe(RollbackService.name, () => {
  let store: MemoryStateStore;
  let emitter: EventEmitter2;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    store = new MemoryStateStore();
    emitter = new EventEmitter2();
  });

  /** One instance over the shared store, started as the app starts it. */
  async function instance(id: string, overrides: Partial<RollbackConfig> = {}) {
    const actions = new FakeActions();
    const registry = new FakeRegistry();
    const sut = new RollbackService(
      { ...config, ...overrides },
      actions,
      registry,
      eventBus(emitter),
      { instanceId: id },
      store,
    );
    await sut.onModuleInit();
    return { sut, actions, registry };
  }

  it('moves the alias back, records it, tells of it and reloads here (the broadcast takes it to the peers)', async () => {
    const { sut, actions, registry } = await instance('api-1');
    const told = recordEvents(emitter, 'model.rolledBack');

    expect(await sut.rollBack(request)).toBe('rolled-back');

    expect(actions.moved).toEqual([request]);
    expect(actions.recorded).toEqual([request]);
    expect(registry.reloads).toEqual(['iris@champion']);
    expect(told.map((e) => e.payload)).toEqual([
      expect.objectContaining({ reference: 'iris@champion', from: '2', to: '1', incomplete: [] }),
    ]);
    await sut.onModuleDestroy();
  });

  it('lets only one of two instances that saw the breach act', async () => {
    const a = await instance('api-1');
    const b = await instance('api-2');

    const outcomes = await Promise.all([a.sut.rollBack(request), b.sut.rollBack(request)]);

    expect(outcomes.sort()).toEqual(['held-elsewhere', 'rolled-back']);
    expect(a.actions.moved.length + b.actions.moved.length).toBe(1);
  });

  it('does not act again on the same reference within the cool-down', async () => {
    const { sut, actions } = await instance('api-1');
    await sut.rollBack(request);

    expect(await sut.rollBack(request)).toBe('cooling-down');
    expect(actions.moved).toHaveLength(1);
  });

  it('vetoes the version on every instance when MLflow refuses to move the alias, and says so', async () => {
    const acting = await instance('api-1');
    const peer = await instance('api-2');
    acting.actions.moveError = new UpstreamUnauthorizedError(
      'mlflow',
      'forbidden',
      '403 PERMISSION_DENIED',
    );
    const told = recordEvents(emitter, 'model.vetoed', 'model.rolledBack');

    expect(await acting.sut.rollBack(request)).toBe('vetoed');
    await flush();

    const veto = expect.objectContaining({
      reference: 'iris@champion',
      version: '2',
      fallback: '1',
    });
    expect(acting.registry.vetoes).toContainEqual({ veto, trigger: 'rollback veto' });
    expect(peer.registry.vetoes).toEqual([{ veto, trigger: 'a peer vetoed it' }]);
    expect(acting.registry.reloads).toEqual([]);
    expect(told.map((e) => e.event)).toEqual(['model.vetoed']);
  });

  it('applies a veto the store holds when an instance starts (before its first loads)', async () => {
    const acting = await instance('api-1');
    acting.actions.moveError = new UpstreamUnauthorizedError('mlflow', 'unauthorized', '401');
    await acting.sut.rollBack(request);

    const late = await instance('api-3');

    expect(late.registry.vetoes).toEqual([
      {
        veto: expect.objectContaining({ version: '2', fallback: '1' }),
        trigger: 'a veto in the state store',
      },
    ]);
  });

  it.each([
    ['answers 503', new UpstreamTransientError('mlflow', 'server_error', '503')],
    [
      'cannot be reached',
      new UpstreamTransientError('mlflow', 'connection_refused', 'ECONNREFUSED'),
    ],
    ['throws something unexpected', new Error('socket hang up')],
  ])(
    'vetoes the version on every instance when MLflow %s, and says why and what is unwritten',
    async (_, error) => {
      const acting = await instance('api-1');
      const peer = await instance('api-2');
      acting.actions.moveError = error;
      const told = recordEvents(emitter, 'model.vetoed', 'model.rolledBack');

      expect(await acting.sut.rollBack(request)).toBe('vetoed');
      await flush();

      const veto = expect.objectContaining({ version: '2', fallback: '1' });
      expect(acting.registry.vetoes).toContainEqual({ veto, trigger: 'rollback veto' });
      expect(peer.registry.vetoes).toEqual([{ veto, trigger: 'a peer vetoed it' }]);
      expect(acting.registry.reloads).toEqual([]);
      expect(acting.actions.recorded).toEqual([]);
      expect(told).toEqual([
        {
          event: 'model.vetoed',
          payload: expect.objectContaining({
            version: '2',
            cause: 'mlflow unavailable',
            incomplete: ['tag v2', "metrics of v2's run"],
          }),
        },
      ]);
    },
  );

  it('tells a refusal apart from an outage', async () => {
    const { sut, actions } = await instance('api-1');
    actions.moveError = new UpstreamUnauthorizedError('mlflow', 'forbidden', '403');
    const told = recordEvents(emitter, 'model.vetoed');

    await sut.rollBack(request);

    expect(told.map((e) => e.payload)).toEqual([
      expect.objectContaining({ cause: 'mlflow refused' }),
    ]);
  });

  it('deletes the record of a veto that lapsed here and tells the peers, which lift it quietly', async () => {
    const acting = await instance('api-1');
    const peer = await instance('api-2');
    acting.actions.moveError = new UpstreamUnauthorizedError('mlflow', 'forbidden', '403');
    await acting.sut.rollBack(request);

    await acting.sut.vetoLifted({
      reference: 'iris@champion',
      name: 'iris',
      version: '2',
      cause: 'the reference names v1 now',
    });
    await flush();

    expect(await store.get('vetoes:iris@champion')).toBeUndefined();
    expect(peer.registry.lifts).toEqual([
      { reference: 'iris@champion', cause: 'a peer lifted it', version: '2' },
    ]);
    const late = await instance('api-3');
    expect(late.registry.vetoes).toEqual([]);
  });

  it('keeps the record of a later veto when an older one is lifted', async () => {
    const { sut, actions } = await instance('api-1');
    actions.moveError = new UpstreamUnauthorizedError('mlflow', 'forbidden', '403');
    await sut.rollBack(request);

    await sut.vetoLifted({ reference: 'iris@champion', name: 'iris', version: '9', cause: 'x' });

    expect(await store.get('vetoes:iris@champion')).toContain('"version":"2"');
  });

  it('does nothing with ROLLBACK off', async () => {
    const { sut, actions } = await instance('api-1', { rollback: false });

    expect(await sut.rollBack(request)).toBe('disabled');
    expect(actions.moved).toEqual([]);
  });
});
