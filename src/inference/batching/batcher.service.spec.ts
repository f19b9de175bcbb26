import { EventEmitter2, EventEmitterModule } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { EventBus } from '../../common/events/event-bus';
import { EventsModule } from '../../common/events/events.module';
import { HotListeners } from '../../common/events/hot-listeners';
import { modelsConfig } from '../../config/models.config';
import { LoadedModel } from '../../models/loaded-model';
import { ModelRuntime, RuntimeAnswer } from '../../models/runtimes/model-runtime';
import { Tensor, TensorSpec } from '../../models/tensor.types';
import { eventBus, Gate, recordHotEvents } from '../../models/testing/model-fakes';
import { Admission, ModelBusyError } from '../admission';
import { Batcher } from './batcher.service';

/** A runtime whose calls wait for one gate, answering each row's first value. */
class GatedRuntime implements ModelRuntime {
  readonly platform = 'onnxruntime_onnx';
  readonly outputs: readonly TensorSpec[] = [];
  readonly calls: number[] = [];
  gate = new Gate();

  constructor(
    readonly kind: ModelRuntime['kind'],
    readonly inputs: readonly TensorSpec[],
  ) {}

  async predict(feeds: readonly Tensor[]): Promise<RuntimeAnswer> {
    this.calls.push(feeds[0].shape[0]);
    await this.gate.closed;
    return { outputs: [{ ...feeds[0], name: 'y' }] };
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

const X: TensorSpec = { name: 'x', datatype: 'FP32', shape: [-1, 1] };
const row = (value: number): Tensor[] => [
  { name: 'x', datatype: 'FP32', shape: [1, 1], data: Float32Array.of(value) },
];

function loaded(runtime: GatedRuntime): LoadedModel {
  return new LoadedModel({
    name: 'iris',
    version: '1',
    flavor: 'onnx',
    runtime,
    directory: '/tmp/iris/1',
    sizeBytes: 1,
    fromCache: true,
    loadDurationMs: 1,
  });
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe(Batcher.name, () => {
  let hot: HotListeners;
  let sut: Batcher;

  beforeEach(() => {
    hot = new HotListeners();
    const admission = { maxConcurrent: 1, maxQueued: 1 };
    sut = new Batcher(
      {
        admission,
        batching: { maxRows: 256, maxDelayMs: 60_000, maxQueued: 1, models: {} },
      },
      new Admission({ admission }),
      eventBus(new EventEmitter2(), hot),
    );
  });

  it('runs the requests of a batched version through its batcher, tells each call and the queue, and forgets it once idle', async () => {
    const runtime = new GatedRuntime('onnx', [X]);
    const model = loaded(runtime);
    const seen = recordHotEvents(hot, 'prediction.batched', 'prediction.queue');

    const answers = [1, 2].map((v) => sut.predict(model, row(v), {}));
    expect(sut.load(model)).toEqual({ queued: 1, running: 1 });
    runtime.gate.open();
    const [, second] = await Promise.all(answers);

    expect(runtime.calls).toEqual([1, 1]);
    expect(Array.from(second.outputs[0].data as Float32Array)).toEqual([2]);
    expect(seen.filter((e) => e.event === 'prediction.batched').map((e) => e.payload)).toEqual([
      expect.objectContaining({ name: 'iris', version: '1', rows: 1, requests: 1 }),
      expect.objectContaining({ name: 'iris', version: '1', rows: 1, requests: 1 }),
    ]);
    expect(seen.filter((e) => e.event === 'prediction.queue').at(-1)?.payload).toEqual({
      name: 'iris',
      version: '1',
      depth: 0,
    });
    await settle();
    expect(sut.load(model)).toEqual({ queued: 0, running: 0 });
  });

  it('refuses with ModelBusyError past MODEL_BATCH_QUEUE for a batched version', async () => {
    const runtime = new GatedRuntime('onnx', [X]);
    const model = loaded(runtime);
    const kept = [sut.predict(model, row(1), {}), sut.predict(model, row(2), {})];

    await expect(sut.predict(model, row(3), {})).rejects.toBeInstanceOf(ModelBusyError);
    runtime.gate.open();
    await Promise.all(kept);
  });

  it('sends an unbatched version through the admission queue, one request a call, and tells each call', async () => {
    const runtime = new GatedRuntime('pyfunc', [X]);
    const model = loaded(runtime);
    const seen = recordHotEvents(hot, 'prediction.batched');

    const answers = [sut.predict(model, row(1), {}), sut.predict(model, row(2), {})];
    await expect(sut.predict(model, row(3), {})).rejects.toBeInstanceOf(ModelBusyError);
    await settle();
    expect(runtime.calls).toEqual([1]);
    runtime.gate.open();
    await Promise.all(answers);

    expect(runtime.calls).toEqual([1, 1]);
    expect(seen.map((e) => e.payload.requests)).toEqual([1, 1]);
    expect(sut.policyOf(model)).toEqual({
      enabled: false,
      reason: 'the pyfunc runtime is not batched',
    });
  });

  it('runs what waits at once when the instance drains, without waiting for the delay', async () => {
    const admission = { maxConcurrent: 1, maxQueued: 8 };
    sut = new Batcher(
      { admission, batching: { maxRows: 1, maxDelayMs: 60_000, maxQueued: 8, models: {} } },
      new Admission({ admission }),
      eventBus(),
    );
    const runtime = new GatedRuntime('onnx', [X]);
    const model = loaded(runtime);
    const answers = [1, 2, 3].map((v) => sut.predict(model, row(v), {}));
    expect(runtime.calls).toEqual([1]);

    sut.flush();

    expect(runtime.calls).toEqual([1, 1, 1]);
    runtime.gate.open();
    await expect(Promise.all(answers)).resolves.toHaveLength(3);
  });
});

describe(`${Batcher.name} wired to the event bus`, () => {
  it('flushes its queues when the instance starts draining (instance.draining)', async () => {
    const admission = { maxConcurrent: 1, maxQueued: 8 };
    const app = await Test.createTestingModule({
      imports: [EventEmitterModule.forRoot(), EventsModule],
      providers: [
        Batcher,
        { provide: Admission, useValue: new Admission({ admission }) },
        {
          provide: modelsConfig.KEY,
          useValue: {
            admission,
            batching: { maxRows: 1, maxDelayMs: 60_000, maxQueued: 8, models: {} },
          },
        },
      ],
    }).compile();
    await app.init();
    const sut = app.get(Batcher);
    const runtime = new GatedRuntime('onnx', [X]);
    const model = loaded(runtime);
    const answers = [1, 2].map((v) => sut.predict(model, row(v), {}));
    expect(runtime.calls).toEqual([1]);

    app.get(EventBus).emit('instance.draining', { drainDelayMs: 0, gracePeriodMs: 1_000 });

    expect(runtime.calls).toEqual([1, 1]);
    runtime.gate.open();
    await Promise.all(answers);
    await app.close();
  });
});
