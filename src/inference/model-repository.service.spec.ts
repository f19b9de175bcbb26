import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { InvalidModelReferenceError, parseModelReference } from '../common/model-reference';
import {
  ModelLoadError,
  ModelNotFoundError,
  ModelNotReadyError,
  ModelPinnedError,
} from '../models/model.errors';
import { ModelRegistry, ReloadOutcome } from '../models/model-registry.service';
import { ModelView } from '../models/model-view';
import { eventBus, recordEvents } from '../models/testing/model-fakes';
import { ModelRepository } from './model-repository.service';

/** What the repository uses of the registry: views it is given, and the loads and unloads asked. */
class FakeRegistry implements Pick<ModelRegistry, 'list' | 'loadModel' | 'unloadModel'> {
  views: ModelView[] = [];
  outcomes: ReloadOutcome[] = [];
  failure?: Error;
  readonly asked: string[] = [];

  list(): readonly ModelView[] {
    return this.views;
  }

  loadModel(name: string, trigger: string): Promise<ReloadOutcome[]> {
    this.asked.push(`load ${name} (${trigger})`);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(this.outcomes);
  }

  unloadModel(name: string): Promise<string[]> {
    this.asked.push(`unload ${name}`);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve([`${name}/1`]);
  }
}

function view(key: string, fields: Partial<ModelView>): ModelView {
  const ref = parseModelReference(`models:/${key}`);
  return { key, ref, name: ref.name, pinned: false, challenger: false, state: 'ready', ...fields };
}

describe(ModelRepository.name, () => {
  let registry: FakeRegistry;
  let emitter: EventEmitter2;
  let sut: ModelRepository;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    registry = new FakeRegistry();
    emitter = new EventEmitter2();
    sut = new ModelRepository(registry as unknown as ModelRegistry, eventBus(emitter));
  });

  describe('index', () => {
    it('lists each served version once, by model name, in Triton’s states', () => {
      registry.views = [
        view('wine', { version: '7' }),
        view('iris@champion', { version: '3', pinned: true }),
        view('iris', { version: '3' }),
        view('iris/2', { version: '2' }),
        view('digits', { state: 'loading' }),
        view('boston@prod', {
          state: 'failed',
          pinned: true,
          lastError: { message: 'cannot load boston version 4: bad files', at: new Date() },
        }),
      ];

      expect(sut.index()).toEqual([
        {
          name: 'boston',
          version: undefined,
          state: 'UNAVAILABLE',
          reason: 'cannot load boston version 4: bad files',
        },
        { name: 'digits', version: undefined, state: 'LOADING', reason: 'loading' },
        { name: 'iris', version: '2', state: 'READY', reason: '' },
        { name: 'iris', version: '3', state: 'READY', reason: '' },
        { name: 'wine', version: '7', state: 'READY', reason: '' },
      ]);
    });

    it('lists only what can answer now when asked for ready models', () => {
      registry.views = [
        view('wine', { version: '7' }),
        view('digits', { state: 'loading' }),
        view('boston', { state: 'failed', pinned: true }),
      ];

      expect(sut.index({ ready: true })).toEqual([
        { name: 'wine', version: '7', state: 'READY', reason: '' },
      ]);
      expect(sut.index({ ready: false })).toHaveLength(3);
    });

    it('reports a version READY when any reference to it serves', () => {
      registry.views = [
        view('iris@champion', { version: '3', state: 'loading' }),
        view('iris/3', { version: '3' }),
      ];

      expect(sut.index()).toEqual([{ name: 'iris', version: '3', state: 'READY', reason: '' }]);
    });
  });

  describe('load', () => {
    it('loads through the registry and tells the other instances', async () => {
      const events = recordEvents(emitter, 'repository.changed');
      registry.outcomes = [{ reference: 'wine', status: 'loaded', to: '7' }];

      await sut.load('wine');

      expect(registry.asked).toEqual(['load wine (repository load)']);
      expect(events).toEqual([
        {
          event: 'repository.changed',
          payload: { action: 'load', name: 'wine', trigger: 'repository load' },
        },
      ]);
    });

    it('throws the load error when the new version failed (the old one serves on), telling no one', async () => {
      const events = recordEvents(emitter, 'repository.changed');
      registry.outcomes = [
        { reference: 'wine', status: 'failed', from: '7', to: '8', error: 'bad files' },
      ];

      const loading = sut.load('wine');

      await expect(loading).rejects.toThrow(ModelLoadError);
      await expect(loading).rejects.toThrow('cannot load wine version 8: bad files');
      expect(events).toEqual([]);
    });

    it('throws not ready when the registry could not say which version to load', async () => {
      registry.outcomes = [
        { reference: 'wine@champion', status: 'failed', from: '7', error: 'MLflow is down' },
      ];

      await expect(sut.load('wine')).rejects.toThrow(ModelNotReadyError);
    });

    it("passes the registry's refusal through", async () => {
      registry.failure = new ModelNotFoundError('wine', 'its name is not allowed by MODEL_ALLOW');

      await expect(sut.load('wine')).rejects.toThrow(ModelNotFoundError);
    });
  });

  it.each(['iris@champion', 'iris/3', ' iris', ''])(
    'refuses %p as a model name, asking the registry nothing',
    async (name) => {
      await expect(sut.load(name)).rejects.toThrow(InvalidModelReferenceError);
      await expect(sut.unload(name)).rejects.toThrow(InvalidModelReferenceError);
      expect(registry.asked).toEqual([]);
    },
  );

  describe('unload', () => {
    it('unloads through the registry and tells the other instances', async () => {
      const events = recordEvents(emitter, 'repository.changed');

      await sut.unload('wine');

      expect(registry.asked).toEqual(['unload wine']);
      expect(events.map((e) => e.payload)).toEqual([
        { action: 'unload', name: 'wine', trigger: 'repository unload' },
      ]);
    });

    it('passes a refusal for a model of MODELS through, telling no one', async () => {
      const events = recordEvents(emitter, 'repository.changed');
      registry.failure = new ModelPinnedError('iris');

      await expect(sut.unload('iris')).rejects.toThrow(ModelPinnedError);
      expect(events).toEqual([]);
    });
  });
});
