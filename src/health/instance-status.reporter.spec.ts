import { EventEmitter2, EventEmitterReadinessWatcher } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { EventBus } from '../common/events/event-bus';
import { InstanceStatusEvent } from '../common/events/event-map';
import { HotListeners } from '../common/events/hot-listeners';
import { InstanceStatusReporter } from './instance-status.reporter';
import { ServiceStatus, ServiceSummary, TopologyService } from './topology.service';

/** The topology's summary as the test sets it. */
class FakeTopology implements Pick<TopologyService, 'summary'> {
  status: ServiceStatus = 'starting';
  summary(): ServiceSummary {
    return { status: this.status } as ServiceSummary;
  }
}

async function turns(count = 3): Promise<void> {
  for (let turn = 0; turn < count; turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe(InstanceStatusReporter.name, () => {
  let topology: FakeTopology;
  let told: InstanceStatusEvent[];
  let scheduler: SchedulerRegistry;
  let sut: InstanceStatusReporter;

  beforeEach(() => {
    topology = new FakeTopology();
    const emitter = new EventEmitter2();
    const watcher = new EventEmitterReadinessWatcher();
    watcher.setReady();
    told = [];
    emitter.on('instance.status', (event: InstanceStatusEvent) => told.push(event));
    scheduler = new SchedulerRegistry();
    sut = new InstanceStatusReporter(
      topology as unknown as TopologyService,
      new EventBus(emitter, watcher, new HotListeners()),
      scheduler,
      { heartbeatMs: 60_000 },
    );
  });

  afterEach(() => sut.onModuleDestroy());

  it('tells the status at bootstrap, then again only when a model change moved it', async () => {
    sut.onApplicationBootstrap();
    await turns();
    expect(told).toEqual([{ status: 'starting' }]);

    sut.modelChanged(); // nothing moved
    await turns();
    expect(told).toHaveLength(1);

    topology.status = 'ok';
    sut.modelChanged();
    await turns();
    expect(told).toEqual([{ status: 'starting' }, { status: 'ok' }]);
  });

  it('reads the status again every heartbeat interval, for the dependencies checked meanwhile', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      sut.onApplicationBootstrap();
      await turns();
      topology.status = 'degraded';

      jest.advanceTimersByTime(60_000);

      expect(told).toEqual([{ status: 'starting' }, { status: 'degraded' }]);
      sut.onModuleDestroy();
      expect(scheduler.getIntervals()).toEqual([]);
    } finally {
      jest.useRealTimers();
    }
  });
});
