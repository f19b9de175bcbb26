import { Logger } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Test, TestingModule } from '@nestjs/testing';
import { EventBus } from '../common/events/event-bus';
import { EventsModule } from '../common/events/events.module';
import { LifecycleState } from '../common/lifecycle/lifecycle.state';
import { ClusterConfig, clusterConfig } from '../config/cluster.config';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { ModelView } from '../models/model-view';
import { ClusterService } from './cluster.service';
import { MemoryStateStore } from './memory-state-store';
import { ReloadBroadcast } from './reload-broadcast.service';
import { STATE_STORE } from './state-store';

/** What the cluster asks of the registry; nothing served, nothing moves. */
class FakeRegistry implements Pick<ModelRegistry, 'list' | 'followVersion' | 'reloadAll'> {
  list(): readonly ModelView[] {
    return [];
  }
  followVersion(): Promise<ReloadOutcome | undefined> {
    return Promise.resolve(undefined);
  }
  reloadAll(): Promise<ReloadOutcome[]> {
    return Promise.resolve([]);
  }
}

const CONFIG: Partial<ClusterConfig> = {
  distributed: false,
  instanceId: 'api-1',
  advertiseUrl: 'http://api-1:8000',
  heartbeatMs: 60_000,
  instanceTtlMs: 180_000,
  leaseTtlMs: 10_000,
};

describe('the cluster wired to the event bus', () => {
  let app: TestingModule;
  let store: MemoryStateStore;
  let events: EventBus;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(async () => {
    store = new MemoryStateStore();
    app = await Test.createTestingModule({
      imports: [EventEmitterModule.forRoot(), EventsModule],
      providers: [
        ClusterService,
        ReloadBroadcast,
        SchedulerRegistry,
        LifecycleState,
        { provide: STATE_STORE, useValue: store },
        { provide: clusterConfig.KEY, useValue: CONFIG },
        { provide: ModelRegistry, useClass: FakeRegistry },
      ],
    }).compile();
    await app.init();
    events = app.get(EventBus);
  });

  afterEach(async () => {
    await app.close();
    await store.stop();
  });

  it('publishes every resolution made here to the peers', async () => {
    const heard: string[] = [];
    await store.subscribe('reloads', (message) => heard.push(message));

    events.emit('model.resolved', {
      reference: 'iris@champion',
      name: 'iris',
      version: '3',
      trigger: 'reload endpoint',
    });
    for (let turn = 0; turn < 5 && heard.length === 0; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
    }

    expect(heard.map((m) => JSON.parse(m) as unknown)).toEqual([
      expect.objectContaining({
        origin: 'api-1',
        reference: 'iris@champion',
        version: '3',
        trigger: 'reload endpoint',
      }),
    ]);
  });

  it('puts the status health tells into the heartbeat record', () => {
    const cluster = app.get(ClusterService);
    expect(cluster.selfRecord().status).toBe('starting');

    events.emit('instance.status', { status: 'degraded' });

    expect(cluster.selfRecord().status).toBe('degraded');
  });
});
