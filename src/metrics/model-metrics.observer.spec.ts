import { Logger } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test, TestingModule } from '@nestjs/testing';
import { EventBus } from '../common/events/event-bus';
import { EventsModule } from '../common/events/events.module';
import { metricsConfig } from '../config/metrics.config';
import { ModelRegistry } from '../models/model-registry.service';
import { ModelView } from '../models/model-view';
import { MetricsService } from './metrics.service';
import { ModelMetricsObserver } from './model-metrics.observer';

/** What the observer reads of the registry at scrape time. */
class FakeRegistry implements Pick<ModelRegistry, 'stats' | 'loadedBytes' | 'list'> {
  readonly stats = { hits: 4, misses: 1, loads: 1, loadFailures: 0, evictions: 0, swaps: 0 };
  loadedBytes(): number {
    return 1_000;
  }
  list(): readonly ModelView[] {
    return [];
  }
}

describe(`${ModelMetricsObserver.name} wired to the event bus`, () => {
  let app: TestingModule;
  let events: EventBus;
  let metrics: MetricsService;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [EventEmitterModule.forRoot(), EventsModule],
      providers: [
        ModelMetricsObserver,
        MetricsService,
        { provide: metricsConfig.KEY, useValue: { enabled: true } },
        { provide: ModelRegistry, useClass: FakeRegistry },
      ],
    }).compile();
    await app.init();
    events = app.get(EventBus);
    metrics = app.get(MetricsService);
  });

  afterEach(() => app.close());

  const scrape = async () => (await metrics.scrape()).body;

  it('counts loads, failed loads and swaps it hears of', async () => {
    events.emit('model.loaded', { name: 'iris', version: '1', durationMs: 1_500 });
    events.emit('model.failed', { name: 'iris', version: '2', durationMs: 10, error: 'bad files' });
    events.emit('model.swapped', {
      reference: 'iris@champion',
      name: 'iris',
      from: '1',
      to: '3',
      outcome: 'swapped',
      durationMs: 20,
    });

    const text = await scrape();
    expect(text).toMatch(/modelgate_model_loads_total\{model="iris",outcome="loaded"\} 1/);
    expect(text).toMatch(/modelgate_model_loads_total\{model="iris",outcome="failed"\} 1/);
    expect(text).toMatch(/modelgate_model_swaps_total\{model="iris",outcome="swapped"\} 1/);
  });

  it('counts predictions in flight and rows predicted', async () => {
    events.emit('prediction.started', { name: 'iris', version: '1' });
    expect(await scrape()).toMatch(/modelgate_predictions_in_flight\{model="iris"\} 1/);

    events.emit('prediction.finished', {
      name: 'iris',
      version: '1',
      outcome: 'ok',
      durationMs: 2,
      rows: 3,
    });
    const text = await scrape();
    expect(text).toMatch(/modelgate_predictions_in_flight\{model="iris"\} 0/);
    expect(text).toMatch(/modelgate_prediction_rows_total\{model="iris",version="1"\} 3/);
  });

  it("observes rows and requests per runtime call and each request's queue wait", async () => {
    events.emit('prediction.batched', {
      name: 'iris',
      version: '1',
      rows: 7,
      requests: 3,
      queueWaitsMs: [0.05, 1.5, 3],
    });

    const text = await scrape();
    expect(text).toMatch(/modelgate_prediction_batch_rows_sum\{model="iris"\} 7/);
    expect(text).toMatch(/modelgate_prediction_batch_rows_count\{model="iris"\} 1/);
    expect(text).toMatch(/modelgate_prediction_batch_requests_sum\{model="iris"\} 3/);
    expect(text).toMatch(/modelgate_prediction_queue_wait_seconds_count\{model="iris"\} 3/);
    expect(text).toMatch(
      /modelgate_prediction_queue_wait_seconds_bucket\{le="0.001",model="iris"\} 1/,
    );
    expect(text).toMatch(
      /modelgate_prediction_queue_wait_seconds_bucket\{le="0.002",model="iris"\} 2/,
    );
  });

  it("shows the queue depth per model, summed over its versions, and drops a version's once empty", async () => {
    events.emit('prediction.queue', { name: 'iris', version: '1', depth: 2 });
    events.emit('prediction.queue', { name: 'iris', version: '2', depth: 5 });
    expect(await scrape()).toMatch(/modelgate_prediction_queue_depth\{model="iris"\} 7/);

    events.emit('prediction.queue', { name: 'iris', version: '1', depth: 0 });
    expect(await scrape()).toMatch(/modelgate_prediction_queue_depth\{model="iris"\} 5/);
    events.emit('prediction.queue', { name: 'iris', version: '2', depth: 0 });
    expect(await scrape()).not.toMatch(/modelgate_prediction_queue_depth\{/);
  });

  it('reads the cache stats at scrape time', async () => {
    expect(await scrape()).toMatch(/modelgate_model_cache_hits_total 4/);
  });
});
