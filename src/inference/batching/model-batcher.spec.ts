import { EventEmitter } from 'node:events';
import { callCancelSignal } from '../cancel-signal';
import { Logger } from '@nestjs/common';
import { ModelRuntimeError } from '../../models/model.errors';
import { PredictOptions, RuntimeAnswer } from '../../models/runtimes/model-runtime';
import { Tensor } from '../../models/tensor.types';
import { ModelBusyError } from '../admission';
import { PredictionCancelledError } from '../inference.error';
import { BatchSettings } from './batch-policy';
import { BatchObservation, BatchObserver, ModelBatcher } from './model-batcher';

/** One runtime call the test finishes when it says: its feeds, and how it ends. */
interface HeldCall {
  feeds: readonly Tensor[];
  options: PredictOptions;
  /** Answers what a row-wise model would: each row's first value ×10, as `y` [rows]. */
  answer(): void;
  /** Answers `outputs` as given (for answers that do not split). */
  answerWith(outputs: Tensor[]): void;
  fail(error: Error): void;
}

/** A runtime whose calls wait for the test. */
class HeldRuntime {
  readonly calls: HeldCall[] = [];

  readonly call = (feeds: readonly Tensor[], options: PredictOptions): Promise<RuntimeAnswer> =>
    new Promise((resolve, reject) => {
      this.calls.push({
        feeds,
        options,
        answer: () => resolve({ outputs: [timesTen(feeds[0])] }),
        answerWith: (outputs) => resolve({ outputs }),
        fail: reject,
      });
    });

  /** Rows of each call so far. */
  rows(): number[] {
    return this.calls.map((c) => c.feeds[0].shape[0]);
  }
}

/** y = 10 × the row's first value, one value a row. */
function timesTen(feed: Tensor): Tensor {
  const [rows, width] = feed.shape;
  const data = feed.data as Float32Array;
  return {
    name: 'y',
    datatype: 'FP32',
    shape: [rows],
    data: Float32Array.from({ length: rows }, (_, r) => data[r * width] * 10),
  };
}

class RecordingObserver implements BatchObserver {
  readonly calls: BatchObservation[] = [];
  readonly depths: number[] = [];
  idled = 0;
  called(observation: BatchObservation): void {
    this.calls.push(observation);
  }
  queued(depth: number): void {
    this.depths.push(depth);
  }
  idle(): void {
    this.idled++;
  }
}

/** `rows` rows of two FP32 columns; row r's first value is `first + r`. */
function feeds(rows: number, first: number, name = 'x'): Tensor[] {
  const data = new Float32Array(rows * 2);
  for (let r = 0; r < rows; r++) data.set([first + r, -1], r * 2);
  return [{ name, datatype: 'FP32', shape: [rows, 2], data }];
}

const values = (answer: RuntimeAnswer) => Array.from(answer.outputs[0].data as Float32Array);

const SETTINGS: BatchSettings = { maxRows: 8, maxDelayMs: 5, maxConcurrent: 2, maxQueued: 16 };

/** Lets promise callbacks run (the batcher starts calls from them). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe(ModelBatcher.name, () => {
  let runtime: HeldRuntime;
  let observer: RecordingObserver;

  function batcher(settings: Partial<BatchSettings> = {}): ModelBatcher {
    return new ModelBatcher('iris/1', { ...SETTINGS, ...settings }, runtime.call, observer);
  }

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    jest.useFakeTimers();
    runtime = new HeldRuntime();
    observer = new RecordingObserver();
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs a request at once when the model is idle, without waiting for the delay', async () => {
    const sut = batcher({ maxDelayMs: 60_000 });

    const answer = sut.submit(feeds(2, 1), {});

    expect(runtime.rows()).toEqual([2]);
    runtime.calls[0].answer();
    expect(values(await answer)).toEqual([10, 20]);
    await settle();
    expect(observer.idled).toBe(1);
  });

  it('stacks what arrived during a call into the next call and gives each caller its own rows, in order', async () => {
    const sut = batcher();
    const first = sut.submit(feeds(1, 1), {});
    const queued = [sut.submit(feeds(2, 10), {}), sut.submit(feeds(1, 20), {})];
    queued.push(sut.submit(feeds(3, 30), {}));
    expect(runtime.rows()).toEqual([1]);
    expect(sut.load).toEqual({ queued: 3, running: 1 });

    runtime.calls[0].answer();
    await settle();

    expect(runtime.rows()).toEqual([1, 6]);
    expect(Array.from(runtime.calls[1].feeds[0].data as Float32Array)).toEqual([
      10, -1, 11, -1, 20, -1, 30, -1, 31, -1, 32, -1,
    ]);
    runtime.calls[1].answer();
    expect(values(await first)).toEqual([10]);
    const answers = await Promise.all(queued);
    expect(answers.map(values)).toEqual([[100, 110], [200], [300, 310, 320]]);
    expect(answers.map((a) => a.outputs[0].shape)).toEqual([[2], [1], [3]]);
  });

  it('never takes more than maxRows rows in a call, and never splits a larger request', async () => {
    const sut = batcher({ maxRows: 4, maxConcurrent: 1 });
    const all = [sut.submit(feeds(1, 0), {})];
    for (const rows of [3, 2, 1, 6, 1]) all.push(sut.submit(feeds(rows, 0), {}));

    for (let i = 0; i < 6; i++) {
      runtime.calls[i]?.answer();
      await settle();
    }

    // 1 alone (idle), then 3+1 (the 2 does not fit and waits), 2+1, and 6 alone.
    expect(runtime.rows()).toEqual([1, 4, 3, 6]);
    await expect(Promise.all(all)).resolves.toHaveLength(6);
  });

  it('never stacks requests that differ in inputs, outputs asked for or params', async () => {
    const sut = batcher({ maxConcurrent: 1 });
    const first = sut.submit(feeds(1, 0), {});
    const others = [
      sut.submit(feeds(1, 1), {}),
      sut.submit(feeds(1, 2, 'other'), {}),
      sut.submit(feeds(1, 3), { outputs: ['y'] }),
      sut.submit(feeds(1, 4), { params: { t: 1 } }),
      sut.submit(feeds(1, 5), {}),
      sut.submit([{ name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array(3) }], {}),
    ];

    for (let i = 0; i < 8; i++) {
      runtime.calls[i]?.answer();
      await settle();
    }

    const firstValues = runtime.calls.map((c) =>
      Array.from(c.feeds[0].data as Float32Array).filter((_, i) => i % c.feeds[0].shape[1] === 0),
    );
    expect(firstValues).toEqual([[0], [1, 5], [2], [3], [4], [0]]);
    await first;
    await Promise.all(others);
  });

  it('gives a request that waited maxDelayMs for a running call a call of its own', async () => {
    const sut = batcher({ maxDelayMs: 5, maxConcurrent: 2 });
    void sut.submit(feeds(1, 0), {});
    const waiting = sut.submit(feeds(1, 1), {});

    jest.advanceTimersByTime(4);
    expect(runtime.rows()).toEqual([1]);

    jest.advanceTimersByTime(1);
    expect(runtime.rows()).toEqual([1, 1]);
    runtime.calls[1].answer();
    expect(values(await waiting)).toEqual([10]);
    expect(observer.calls[1].waitsMs).toEqual([5]);
  });

  it('starts a call for a queue holding a full batch without waiting for the delay', () => {
    const sut = batcher({ maxRows: 4, maxDelayMs: 60_000, maxConcurrent: 2 });
    void sut.submit(feeds(1, 0), {});
    void sut.submit(feeds(3, 0), {});
    expect(runtime.rows()).toEqual([1]);

    void sut.submit(feeds(1, 0), {});

    expect(runtime.rows()).toEqual([1, 4]);
  });

  it('runs no more than maxConcurrent calls: past the delay, requests wait for a call to finish', async () => {
    const sut = batcher({ maxDelayMs: 5, maxConcurrent: 1 });
    void sut.submit(feeds(1, 0), {});
    const waiting = sut.submit(feeds(1, 1), {});

    jest.advanceTimersByTime(1_000);
    expect(runtime.rows()).toEqual([1]);

    runtime.calls[0].answer();
    await settle();
    expect(runtime.rows()).toEqual([1, 1]);
    runtime.calls[1].answer();
    await expect(waiting).resolves.toBeDefined();
  });

  it('refuses with ModelBusyError a request that would wait behind a full queue', async () => {
    const sut = batcher({ maxConcurrent: 1, maxQueued: 2 });
    const running = sut.submit(feeds(1, 0), {});
    const queued = [sut.submit(feeds(1, 1), {}), sut.submit(feeds(1, 2), {})];

    const refused = sut.submit(feeds(1, 3), {});

    await expect(refused).rejects.toBeInstanceOf(ModelBusyError);
    await expect(refused).rejects.toThrow(/iris\/1 is busy: 1 predictions running and 2 waiting/);
    expect(sut.load).toEqual({ queued: 2, running: 1 });
    runtime.calls[0].answer();
    await settle();
    runtime.calls[1].answer();
    await expect(Promise.all([running, ...queued])).resolves.toHaveLength(3);
  });

  it('with a queue of 0 runs what an idle model can and refuses what would wait', async () => {
    const sut = batcher({ maxConcurrent: 1, maxQueued: 0 });
    const running = sut.submit(feeds(1, 0), {});

    await expect(sut.submit(feeds(1, 1), {})).rejects.toBeInstanceOf(ModelBusyError);
    runtime.calls[0].answer();
    await running;
  });

  it('runs the requests of a failed stacked call again one by one: each gets its own answer or error', async () => {
    const sut = batcher({ maxConcurrent: 1 });
    const first = sut.submit(feeds(1, 0), {});
    const good = sut.submit(feeds(1, 1), {});
    const bad = sut.submit(feeds(1, 2), {});
    runtime.calls[0].answer();
    await first;
    await settle();
    expect(runtime.rows()).toEqual([1, 2]);

    runtime.calls[1].fail(new ModelRuntimeError('onnxruntime failed: boom', 'boom'));
    await settle();

    expect(runtime.rows()).toEqual([1, 2, 1, 1]);
    runtime.calls[2].answer();
    runtime.calls[3].fail(new ModelRuntimeError('onnxruntime failed: row 2', 'row 2'));
    expect(values(await good)).toEqual([10]);
    await expect(bad).rejects.toThrow('onnxruntime failed: row 2');
    // The retries are calls of their own; their queue wait was counted with the stacked call.
    expect(observer.calls.map((c) => [c.requests, c.waitsMs.length])).toEqual([
      [1, 1],
      [2, 2],
      [1, 0],
      [1, 0],
    ]);
  });

  it("passes a lone request's error through as the runtime typed it", async () => {
    const sut = batcher();
    const answer = sut.submit(feeds(1, 0), {});
    const error = new ModelRuntimeError('onnxruntime failed: boom', 'boom');

    runtime.calls[0].fail(error);

    await expect(answer).rejects.toBe(error);
  });

  it('stops stacking a model whose answer has no batch dimension, answering its requests one by one', async () => {
    const sut = batcher({ maxConcurrent: 1 });
    const scalar: Tensor = { name: 's', datatype: 'FP32', shape: [1], data: Float32Array.of(7) };
    void sut.submit(feeds(1, 0), {});
    const stacked = [sut.submit(feeds(1, 1), {}), sut.submit(feeds(1, 2), {})];
    runtime.calls[0].answerWith([scalar]);
    await settle();

    runtime.calls[1].answerWith([scalar]);
    await settle();
    expect(runtime.rows()).toEqual([1, 2, 1, 1]);
    runtime.calls[2].answerWith([scalar]);
    runtime.calls[3].answerWith([scalar]);
    await Promise.all(stacked);
    await settle();

    void sut.submit(feeds(1, 3), {});
    const later = [sut.submit(feeds(1, 4), {}), sut.submit(feeds(1, 5), {})];
    runtime.calls[4].answerWith([scalar]);
    await settle();
    expect(runtime.rows()).toEqual([1, 2, 1, 1, 1, 1]);
    runtime.calls[5].answerWith([scalar]);
    await settle();
    runtime.calls[6].answerWith([scalar]);
    await Promise.all(later);
  });

  it('drops a request whose caller went away before its call, and never runs it', async () => {
    const sut = batcher({ maxConcurrent: 1 });
    const running = sut.submit(feeds(1, 0), {});
    const gone = cancellable();
    const abandoned = sut.submit(feeds(1, 1), {}, gone.signal);
    const kept = sut.submit(feeds(1, 2), {});

    gone.cancel();

    await expect(abandoned).rejects.toBeInstanceOf(PredictionCancelledError);
    expect(sut.load.queued).toBe(1);
    runtime.calls[0].answer();
    await running;
    await settle();
    expect(runtime.rows()).toEqual([1, 1]);
    runtime.calls[1].answer();
    expect(values(await kept)).toEqual([20]);
  });

  it('refuses at once a request whose caller is already gone', async () => {
    const sut = batcher();
    const gone = cancellable();
    gone.cancel();

    await expect(sut.submit(feeds(1, 0), {}, gone.signal)).rejects.toBeInstanceOf(
      PredictionCancelledError,
    );
    expect(runtime.calls).toHaveLength(0);
  });

  it('runs the whole queue at once when flushed (shutdown), whatever the delay and concurrency', async () => {
    const sut = batcher({ maxRows: 2, maxDelayMs: 60_000, maxConcurrent: 1 });
    const all = [sut.submit(feeds(1, 0), {})];
    for (let i = 1; i <= 4; i++) all.push(sut.submit(feeds(1, i), {}));
    expect(runtime.rows()).toEqual([1]);

    sut.flush();

    expect(runtime.rows()).toEqual([1, 2, 2]);
    runtime.calls.forEach((c) => c.answer());
    await expect(Promise.all(all)).resolves.toHaveLength(5);
  });

  it('tells the observer every call (rows, requests, waits) and every queue depth', async () => {
    const sut = batcher({ maxConcurrent: 1 });
    const all = [sut.submit(feeds(1, 0), {})];
    jest.advanceTimersByTime(3);
    all.push(sut.submit(feeds(2, 1), {}));
    jest.advanceTimersByTime(2);
    all.push(sut.submit(feeds(1, 2), {}));
    jest.advanceTimersByTime(1);

    runtime.calls[0].answer();
    await settle();
    runtime.calls[1].answer();
    await Promise.all(all);
    await settle();

    expect(observer.calls).toEqual([
      { rows: 1, requests: 1, waitsMs: [0] },
      { rows: 3, requests: 2, waitsMs: [3, 1] },
    ]);
    expect(observer.depths).toEqual([1, 0, 1, 2, 0]);
    expect(observer.idled).toBe(1);
  });
});

/** A gRPC call's cancel signal over a stand-in call the test cancels. */
function cancellable() {
  const call = Object.assign(new EventEmitter(), { cancelled: false });
  return {
    signal: callCancelSignal(call),
    cancel: () => {
      call.cancelled = true;
      call.emit('cancelled');
    },
  };
}
