import { Injectable, LoggerService, OnApplicationBootstrap, Scope } from '@nestjs/common';
import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test, TestingModule } from '@nestjs/testing';
import { EventBus, OnAppEvent } from './event-bus';
import {
  ModelLoadedEvent,
  PredictionFinishedEvent,
  PredictionQueueEvent,
  PredictionStartedEvent,
} from './event-map';
import { EventsModule } from './events.module';
import { HotListeners } from './hot-listeners';

/** What every listener of the spec heard, in the order they heard it. */
class Heard {
  readonly calls: string[] = [];
}

@Injectable()
class FirstListener {
  constructor(private readonly heard: Heard) {}

  @OnAppEvent('prediction.finished')
  finished(e: PredictionFinishedEvent): void {
    this.heard.calls.push(`first finished ${e.version}`);
  }

  @OnAppEvent('prediction.started')
  @OnAppEvent('prediction.queue')
  startedOrQueued(e: PredictionStartedEvent | PredictionQueueEvent): void {
    this.heard.calls.push(`first started-or-queued ${e.version}`);
  }

  @OnAppEvent('model.loaded')
  loaded(e: ModelLoadedEvent): void {
    this.heard.calls.push(`first loaded ${e.version}`);
  }
}

@Injectable()
class SecondListener {
  constructor(private readonly heard: Heard) {}

  @OnAppEvent('prediction.finished')
  finished(e: PredictionFinishedEvent): void {
    this.heard.calls.push(`second finished ${e.version}`);
  }
}

@Injectable()
class ThrowingListener {
  constructor(private readonly heard: Heard) {}

  @OnAppEvent('prediction.finished')
  finished(): void {
    this.heard.calls.push('throwing finished');
    throw new Error('the ring is broken');
  }
}

/** Tells a hot event at bootstrap, once the bus says it is listening (as the model reloader's warm-up does). */
@Injectable()
class BootstrapEmitter implements OnApplicationBootstrap {
  constructor(private readonly events: EventBus) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.events.whenListening();
    this.events.emit('prediction.started', { name: 'iris', version: 'at-bootstrap' });
  }
}

@Injectable({ scope: Scope.REQUEST })
class RequestScopedListener {
  @OnAppEvent('prediction.finished')
  finished(): void {}
}

class RecordingLogger implements LoggerService {
  readonly errors: unknown[][] = [];
  log(): void {}
  warn(): void {}
  error(...args: unknown[]): void {
    this.errors.push(args);
  }
}

const FINISHED: PredictionFinishedEvent = {
  name: 'iris',
  version: '3',
  outcome: 'ok',
  durationMs: 2,
};

async function start(
  logger: LoggerService,
  ...listeners: (new (...args: never[]) => object)[]
): Promise<TestingModule> {
  const app = await Test.createTestingModule({
    imports: [EventEmitterModule.forRoot(), EventsModule],
    providers: [Heard, ...listeners],
  })
    .setLogger(logger)
    .compile();
  await app.init();
  return app;
}

describe(EventBus.name, () => {
  let logger: RecordingLogger;
  let app: TestingModule | undefined;

  beforeEach(() => {
    logger = new RecordingLogger();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('calls every listener of a hot event before emit returns', async () => {
    app = await start(logger, FirstListener, SecondListener);
    const heard = app.get(Heard);

    app.get(EventBus).emit('prediction.finished', FINISHED);
    app.get(EventBus).emit('prediction.queue', { name: 'iris', version: '4', depth: 1 });

    expect(heard.calls).toEqual([
      'first finished 3',
      'second finished 3',
      'first started-or-queued 4',
    ]);
  });

  it('subscribes hot listeners to the bus alone and cold ones to EventEmitter2', async () => {
    app = await start(logger, FirstListener);
    const emitter = app.get(EventEmitter2);

    expect(emitter.listenerCount('prediction.finished')).toBe(0);
    expect(emitter.listenerCount('model.loaded')).toBe(1);
  });

  it('logs a hot listener that throws with its message and stack, and still calls the next one', async () => {
    app = await start(logger, ThrowingListener, SecondListener);

    expect(() => app!.get(EventBus).emit('prediction.finished', FINISHED)).not.toThrow();

    expect(app.get(Heard).calls).toEqual(['throwing finished', 'second finished 3']);
    expect(logger.errors).toEqual([
      [
        'the ring is broken',
        expect.stringContaining('ThrowingListener.finished'),
        HotListeners.name,
      ],
    ]);
  });

  it('tells a cold event to its listener through EventEmitter2', async () => {
    app = await start(logger, FirstListener);
    const heard = app.get(Heard);

    app.get(EventBus).emit('model.loaded', { name: 'iris', version: '5', durationMs: 10 });
    app.get(EventEmitter2).emit('model.loaded', { name: 'iris', version: '6', durationMs: 10 });
    await Promise.resolve();

    expect(heard.calls).toEqual(['first loaded 5', 'first loaded 6']);
  });

  it('resolves whenListening at bootstrap with the hot listeners subscribed', async () => {
    app = await start(logger, FirstListener, BootstrapEmitter);

    await expect(app.get(EventBus).whenListening()).resolves.toBeUndefined();
    expect(app.get(Heard).calls).toEqual(['first started-or-queued at-bootstrap']);
  });

  it('refuses to start with a request-scoped listener of a hot event', async () => {
    await expect(start(logger, RequestScopedListener)).rejects.toThrow(
      /RequestScopedListener\.finished listens to prediction\.finished.*request-scoped/,
    );
  });
});
