import { Logger } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { Test, TestingModule } from '@nestjs/testing';
import { EventBus } from '../common/events/event-bus';
import { EventsModule } from '../common/events/events.module';
import { metricsConfig } from '../config/metrics.config';
import { ModelRegistry } from '../models/model-registry.service';
import { ModelView } from '../models/model-view';
import { RolloutView } from '../models/rollouts/rollout.types';
import { Rollouts } from '../models/rollouts/rollouts.service';
import { MetricsService } from './metrics.service';
import { RolloutMetricsObserver } from './rollout-metrics.observer';

/** The versions served now, as the registry's views say. */
class FakeRegistry implements Pick<ModelRegistry, 'list'> {
  served = ['iris/1', 'iris/2'];
  list(): readonly ModelView[] {
    return this.served.map((versionKey) => ({ versionKey }) as ModelView);
  }
}

class FakeRollouts implements Pick<Rollouts, 'views'> {
  views(): RolloutView[] {
    return [
      {
        name: 'iris',
        mode: 'canary',
        percent: 25,
        source: 'settings',
        champion: { alias: 'champion', reference: 'iris@champion', version: '1' },
        challenger: { alias: 'challenger', reference: 'iris@challenger', version: '2' },
        problems: [],
      },
    ];
  }
}

describe(`${RolloutMetricsObserver.name} wired to the event bus`, () => {
  let app: TestingModule;
  let events: EventBus;
  let metrics: MetricsService;
  let registry: FakeRegistry;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(async () => {
    app = await Test.createTestingModule({
      imports: [EventEmitterModule.forRoot(), EventsModule],
      providers: [
        RolloutMetricsObserver,
        MetricsService,
        { provide: metricsConfig.KEY, useValue: { enabled: true } },
        { provide: ModelRegistry, useClass: FakeRegistry },
        { provide: Rollouts, useClass: FakeRollouts },
      ],
    }).compile();
    await app.init();
    events = app.get(EventBus);
    metrics = app.get(MetricsService);
    registry = app.get(ModelRegistry);
  });

  afterEach(() => app.close());

  const scrape = async () => (await metrics.scrape()).body;
  const finished = (
    version: string,
    variant: 'champion' | 'challenger' | undefined,
    outcome: 'ok' | 'failed',
  ) =>
    events.emit('prediction.finished', { name: 'iris', version, outcome, durationMs: 3, variant });

  it('counts each version’s predictions by side and outcome, its errors and its latency', async () => {
    finished('1', 'champion', 'ok');
    finished('2', 'challenger', 'ok');
    finished('2', 'challenger', 'failed');
    finished('1', undefined, 'ok');

    const text = await scrape();

    expect(text).toContain(
      'modelgate_model_version_requests_total{model="iris",version="2",variant="challenger",outcome="ok"} 1',
    );
    expect(text).toContain(
      'modelgate_model_version_requests_total{model="iris",version="2",variant="challenger",outcome="failed"} 1',
    );
    expect(text).toContain(
      'modelgate_model_version_errors_total{model="iris",version="2",variant="challenger"} 1',
    );
    expect(text).toContain(
      'modelgate_model_version_request_duration_seconds_count{model="iris",version="1",variant=""} 1',
    );
    expect(text).toContain(
      'modelgate_rollout_challenger_percent{model="iris",mode="canary",champion_version="1",challenger_version="2"} 25',
    );
  });

  it('counts shadow copies by outcome, label agreements and score differences', async () => {
    const base = { name: 'iris', championVersion: '1' };
    events.emit('rollout.shadowed', {
      ...base,
      challengerVersion: '2',
      outcome: 'compared',
      labelsEqual: true,
      scoreDifference: 0.002,
    });
    events.emit('rollout.shadowed', {
      ...base,
      challengerVersion: '2',
      outcome: 'compared',
      labelsEqual: false,
      scoreDifference: 0.4,
    });
    events.emit('rollout.shadowed', { ...base, outcome: 'dropped' });

    const text = await scrape();

    expect(text).toContain('modelgate_rollout_shadow_total{model="iris",outcome="compared"} 2');
    expect(text).toContain('modelgate_rollout_shadow_total{model="iris",outcome="dropped"} 1');
    expect(text).toContain('modelgate_rollout_shadow_label_agreements_total{model="iris"} 1');
    expect(text).toContain('modelgate_rollout_shadow_score_difference_count{model="iris"} 2');
    expect(text).toContain(
      'modelgate_rollout_shadow_score_difference_bucket{le="0.01",model="iris"} 1',
    );
  });

  it('forgets the series of a version no longer served at the next swap, keeping those served', async () => {
    finished('1', 'champion', 'ok');
    finished('2', 'challenger', 'ok');
    finished('2', 'challenger', 'failed');
    registry.served = ['iris/1', 'iris/3'];

    events.emit('model.swapped', {
      reference: 'iris@challenger',
      name: 'iris',
      from: '2',
      to: '3',
      outcome: 'swapped',
      durationMs: 5,
    });
    const text = await scrape();

    expect(text).not.toMatch(/modelgate_model_version_\w+\{[^}]*\bversion="2"/);
    expect(text).toContain(
      'modelgate_model_version_requests_total{model="iris",version="1",variant="champion",outcome="ok"} 1',
    );

    // Served again later (a rollback to it): counted afresh, not from where it stopped.
    finished('2', 'champion', 'ok');
    const again = await scrape();
    expect(again).toContain(
      'modelgate_model_version_requests_total{model="iris",version="2",variant="champion",outcome="ok"} 1',
    );
    expect(again).not.toMatch(/version="2",variant="challenger"/);
    expect(again).not.toMatch(/modelgate_model_version_errors_total\{[^}]*version="2"/);
  });
});
