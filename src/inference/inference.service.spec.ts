import { CancelSignal } from './cancel-signal';
import { Logger } from '@nestjs/common';
import { ModelReference, parseModelReference } from '../common/model-reference';
import { LoadedModel } from '../models/loaded-model';
import {
  ModelInputRejectedError,
  ModelNotFoundError,
  ModelRuntimeError,
  ModelUnavailableError,
} from '../models/model.errors';
import { AcquiredModel, ModelRegistry } from '../models/model-registry.service';
import { ModelSignature } from '../models/model-signature.types';
import { ModelRuntime, PredictOptions, RuntimeAnswer } from '../models/runtimes/model-runtime';
import { Tensor, TensorSpec } from '../models/tensor.types';
import { InvalidInputError, PredictionCancelledError } from './inference.error';
import { InferenceInput } from './inference.types';
import { Admission } from './admission';
import { Batcher } from './batching/batcher.service';
import { InferenceService } from './inference.service';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { HotListeners } from '../common/events/hot-listeners';
import { eventBus, recordHotEvents } from '../models/testing/model-fakes';
import { RolloutRoute, Rollouts } from '../models/rollouts/rollouts.service';
import { ShadowCopies } from './shadow-copies';
import { EventBus } from '../common/events/event-bus';

const LABEL: Tensor = {
  name: 'label',
  datatype: 'INT64',
  shape: [2],
  data: BigInt64Array.from([0n, 2n]),
};
const PROBABILITIES: Tensor = {
  name: 'probabilities',
  datatype: 'FP32',
  shape: [2, 2],
  data: Float32Array.from([0.5, 0.5, 0, 1]),
};

/** A runtime that answers what it is told and remembers what it was asked. */
class FakeRuntime implements ModelRuntime {
  readonly kind = 'onnx';
  readonly platform = 'onnxruntime_onnx';
  readonly inputs: readonly TensorSpec[] = [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }];
  readonly calls: {
    feeds: readonly Tensor[];
    outputNames?: readonly string[];
    params?: PredictOptions['params'];
  }[] = [];
  answer: RuntimeAnswer = { outputs: [LABEL, PROBABILITIES] };
  failure?: Error;

  constructor(
    readonly outputs: readonly TensorSpec[] = [
      { name: 'label', datatype: 'INT64', shape: [-1] },
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
    ],
  ) {}

  predict(feeds: readonly Tensor[], options: PredictOptions = {}): Promise<RuntimeAnswer> {
    const outputNames = options.outputs;
    this.calls.push({ feeds, outputNames, params: options.params });
    if (this.failure) return Promise.reject(this.failure);
    // A delegated model (no declared outputs) cannot choose: it answers them all.
    const chooses = outputNames !== undefined && this.outputs.length > 0;
    const names = chooses ? outputNames : this.answer.outputs.map((o) => o.name);
    return Promise.resolve({
      ...this.answer,
      outputs: this.answer.outputs.filter((o) => names.includes(o.name)),
    });
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** The registry members the inference service uses; its version is loaded (no promise). */
class FakeRegistry implements Pick<
  ModelRegistry,
  'acquire' | 'acquireLoaded' | 'defaultReference'
> {
  defaultReference: ModelReference | undefined = parseModelReference('iris');
  released = 0;

  constructor(readonly model: LoadedModel) {}

  acquireLoaded(): AcquiredModel {
    return { model: this.model, release: () => void this.released++ };
  }

  acquire(): Promise<AcquiredModel> {
    return Promise.resolve(this.acquireLoaded());
  }
}

const SIGNATURE: ModelSignature = {
  inputs: [{ kind: 'tensor', dtype: 'float32', datatype: 'FP32', shape: [-1, 2] }],
  outputs: [],
  params: [],
};

const ROWS: InferenceInput = {
  kind: 'tensors',
  tensors: [
    {
      data: [
        [1, 2],
        [3, 4],
      ],
    },
  ],
};

function loaded(runtime: FakeRuntime, signature = SIGNATURE, version = '3'): LoadedModel {
  return new LoadedModel({
    name: 'iris',
    version,
    flavor: 'onnx',
    runtime,
    signature,
    directory: '/tmp/iris/3',
    sizeBytes: 1_000,
    fromCache: true,
    loadDurationMs: 1,
  });
}

/** The real batcher, as the app wires it: batching on by default, the admission queue for the others. */
function batcher(): Batcher {
  const admission = { maxConcurrent: 4, maxQueued: 64 };
  return new Batcher(
    { admission, batching: { maxRows: 256, maxDelayMs: 2, maxQueued: 256, models: {} } },
    new Admission({ admission }),
    eventBus(),
  );
}

/** Routes as told: no rollout unless a test sets `next`; remembers the caller keys it asked for. */
class FakeRollouts implements Pick<Rollouts, 'route'> {
  next?: RolloutRoute;
  readonly keys: string[] = [];

  route(_ref: ModelReference, callerKey: () => string): RolloutRoute | undefined {
    if (this.next) this.keys.push(callerKey());
    return this.next;
  }
}

function subject(
  registry: unknown,
  events: EventBus = eventBus(),
  rollouts = new FakeRollouts(),
): InferenceService {
  return new InferenceService(
    registry as ModelRegistry,
    events,
    batcher(),
    rollouts as unknown as Rollouts,
    new ShadowCopies({ shadowMaxInFlight: 8 }, events),
    { stickyHeader: 'x-modelgate-caller' },
  );
}

describe(InferenceService.name, () => {
  const ref = parseModelReference('iris');
  let runtime: FakeRuntime;
  let registry: FakeRegistry;
  let sut: InferenceService;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    runtime = new FakeRuntime();
    registry = new FakeRegistry(loaded(runtime));
    sut = subject(registry, eventBus());
  });

  /** Rebuilds the subject on a bus that records every `prediction.finished`. */
  function recordFinished() {
    const hot = new HotListeners();
    const seen = recordHotEvents(hot, 'prediction.finished');
    sut = subject(registry, eventBus(new EventEmitter2(), hot));
    return seen;
  }

  describe('params', () => {
    const WITH_PARAMS: ModelSignature = {
      ...SIGNATURE,
      params: [
        { name: 'threshold', type: 'double', default: 0.5 },
        { name: 'labels', type: 'string', default: ['a', 'b'], shape: [-1] },
      ],
    };

    it('passes the params given, and the defaults of the others, to the runtime', async () => {
      registry = new FakeRegistry(loaded(runtime, WITH_PARAMS));
      sut = subject(registry, eventBus());

      await sut.infer(ref, ROWS, { params: { threshold: 0.9 } });

      expect(runtime.calls[0].params).toEqual({ threshold: 0.9, labels: ['a', 'b'] });
    });

    it('refuses a param the model does not declare before running it', async () => {
      registry = new FakeRegistry(loaded(runtime, WITH_PARAMS));
      sut = subject(registry, eventBus());

      await expect(sut.infer(ref, ROWS, { params: { treshold: 0.9 } })).rejects.toThrow(
        "unknown param 'treshold'",
      );
      expect(runtime.calls).toEqual([]);
      expect(registry.released).toBe(1);
    });

    it('ignores params sent to a model that declares none, warning once per version', async () => {
      const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);

      await sut.infer(ref, ROWS, { params: { threshold: 0.9 } });
      await sut.infer(ref, ROWS, { params: { threshold: 0.8 } });
      (registry as { model: LoadedModel }).model = loaded(runtime, SIGNATURE, '4');
      await sut.infer(ref, ROWS, { params: { threshold: 0.7 } });

      expect(runtime.calls.map((c) => c.params)).toEqual([undefined, undefined, undefined]);
      const warnings = warn.mock.calls.map(([text]) => String(text));
      expect(warnings).toEqual([
        "iris/3 declares no params in its signature: ignoring 'threshold' (logged once for this version)",
        "iris/4 declares no params in its signature: ignoring 'threshold' (logged once for this version)",
      ]);
      warn.mockRestore();
    });
  });

  describe('the run path', () => {
    it('binds the input to the model’s feeds and answers every output, with the version', async () => {
      const result = await sut.infer(ref, ROWS);

      expect(runtime.calls).toEqual([
        {
          feeds: [
            { name: 'x', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
          ],
          outputNames: undefined,
        },
      ]);
      expect(result).toEqual({
        modelName: 'iris',
        modelVersion: '3',
        signature: SIGNATURE,
        outputs: [LABEL, PROBABILITIES],
        rows: 2,
        extras: undefined,
      });
      expect(registry.released).toBe(1);
    });

    it('passes the runtime’s extras through for the protocol that wants them', async () => {
      runtime.answer = { outputs: [LABEL], extras: { mlflowPredictions: [0, 2] } };

      const result = await sut.infer(ref, ROWS);

      expect(result.extras).toEqual({ mlflowPredictions: [0, 2] });
    });

    it('returns 400 naming the input before the model runs when it does not fit the signature', async () => {
      const error = await sut
        .infer(ref, { kind: 'tensors', tensors: [{ data: [[1, 2, 3]] }] })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidInputError);
      expect(runtime.calls).toEqual([]);
    });

    it('names the default reference, or says there is none', () => {
      expect(sut.defaultReference()).toEqual(ref);

      registry.defaultReference = undefined;

      expect(() => sut.defaultReference()).toThrow(ModelNotFoundError);
    });
  });

  describe('requested outputs', () => {
    it('answers only the requested outputs, in the order asked', async () => {
      const result = await sut.infer(ref, ROWS, { outputs: ['probabilities'] });

      expect(result.outputs.map((o) => o.name)).toEqual(['probabilities']);
      expect(runtime.calls[0].outputNames).toEqual(['probabilities']);
    });

    it('keeps the order asked when it differs from the model’s', async () => {
      const result = await sut.infer(ref, ROWS, { outputs: ['probabilities', 'label'] });

      expect(result.outputs.map((o) => o.name)).toEqual(['probabilities', 'label']);
    });

    it('returns 400 naming an unknown requested output, before the model runs', async () => {
      const run = sut.infer(ref, ROWS, { outputs: ['score'] });

      await expect(run).rejects.toThrow(InvalidInputError);
      await expect(run).rejects.toThrow(
        `unknown output 'score'; the model's outputs are 'label', 'probabilities'`,
      );
      expect(runtime.calls).toEqual([]);
    });

    it('returns 400 naming an output requested twice', async () => {
      const error = await sut
        .infer(ref, ROWS, { outputs: ['label', 'label'] })
        .catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).message).toBe(`output 'label' is requested twice`);
      expect((error as InvalidInputError).field).toBe('label');
    });

    it('checks a delegated model’s requested outputs against its answer', async () => {
      runtime = new FakeRuntime([]);
      runtime.answer = { outputs: [{ ...LABEL, name: 'predictions' }] };
      sut = subject(new FakeRegistry(loaded(runtime)), eventBus());

      const found = await sut.infer(ref, ROWS, { outputs: ['predictions'] });
      const missing = sut.infer(ref, ROWS, { outputs: ['label'] });

      expect(found.outputs.map((o) => o.name)).toEqual(['predictions']);
      await expect(missing).rejects.toThrow(
        `unknown output 'label'; the model's outputs are 'predictions'`,
      );
    });
  });

  describe('runtime errors', () => {
    it.each([
      [
        'an input the runtime refuses (an input fault)',
        new ModelInputRejectedError('bad rank', 'x'),
      ],
      [
        'a model that fails on accepted input (a model fault)',
        new ModelRuntimeError('kernel failed'),
      ],
      [
        'a delegated server that cannot answer (retryable)',
        new ModelUnavailableError('no scoring server answered'),
      ],
    ])(
      'passes %s through as the runtime typed it, and counts the failure',
      async (_case, failure) => {
        runtime.failure = failure;

        const error = await sut.infer(ref, ROWS).catch((e: unknown) => e);

        expect(error).toBe(failure);
        expect(registry.model.failures).toBe(1);
        expect(registry.released).toBe(1);
      },
    );

    it("does not count a request whose caller left before its turn as the model's failure", async () => {
      const error = await sut.infer(ref, ROWS, { signal: GONE }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(PredictionCancelledError);
      expect(runtime.calls).toHaveLength(0);
      expect(registry.model.failures).toBe(0);
      expect(registry.released).toBe(1);
    });

    it.each([
      ['ok', undefined, 2],
      ['failed', new ModelRuntimeError('kernel failed'), undefined],
      ['failed', new ModelUnavailableError('no scoring server answered'), undefined],
      ['rejected', new ModelInputRejectedError('bad rank', 'x'), undefined],
    ] as const)(
      'tells the prediction ended %s, with its version and duration',
      async (outcome, failure, rows) => {
        const seen = recordFinished();
        runtime.failure = failure;

        await sut.infer(ref, ROWS).catch(() => undefined);

        expect(seen).toHaveLength(1);
        expect(seen[0].payload).toMatchObject({ name: 'iris', version: '3', outcome, rows });
        expect(seen[0].payload.durationMs).toBeGreaterThanOrEqual(0);
      },
    );

    it.each([
      ['an input that does not fit the signature', 'rejected', { kind: 'tensors', tensors: [] }],
      ['a caller gone before its turn', 'refused', ROWS],
    ] as const)('tells %s apart from a failure of the model', async (_case, outcome, input) => {
      const seen = recordFinished();

      await sut
        .infer(ref, input as InferenceInput, {
          signal: outcome === 'refused' ? GONE : undefined,
        })
        .catch(() => undefined);

      expect(seen.map((e) => e.payload.outcome)).toEqual([outcome]);
    });

    it('keeps the codes the edge maps to statuses', () => {
      expect(new ModelInputRejectedError('x').code).toBe('MODEL_INPUT_REJECTED');
      expect(new ModelRuntimeError('x').code).toBe('MODEL_RUNTIME_FAILED');
      expect(new ModelUnavailableError('x')).toMatchObject({
        code: 'MODEL_UNAVAILABLE',
        retryable: true,
      });
    });
  });

  describe('rollouts', () => {
    const champion = parseModelReference('iris@champion');
    const challenger = parseModelReference('iris@challenger');
    let rollouts: FakeRollouts;
    let emitter: EventEmitter2;
    let hot: HotListeners;

    /** Two versions: v3 answers the champion's alias, v4 the challenger's; each acquired as if it had to load. */
    class TwoVersions implements Pick<ModelRegistry, 'acquire' | 'acquireLoaded'> {
      readonly byAlias = new Map([
        ['champion', loaded(runtime, SIGNATURE, '3')],
        ['challenger', loaded(new FakeRuntime(), SIGNATURE, '4')],
      ]);

      acquireLoaded(): undefined {
        return undefined;
      }

      acquire(ref: ModelReference): Promise<AcquiredModel> {
        const alias = ref.selector.kind === 'alias' ? ref.selector.alias : 'champion';
        return Promise.resolve({ model: this.byAlias.get(alias)!, release: () => undefined });
      }
    }

    beforeEach(() => {
      rollouts = new FakeRollouts();
      emitter = new EventEmitter2();
      hot = new HotListeners();
      sut = subject(new TwoVersions(), eventBus(emitter, hot), rollouts);
    });

    it('answers from the side the route names and says which it was', async () => {
      const finished = recordHotEvents(hot, 'prediction.finished');
      rollouts.next = { answer: challenger, variant: 'challenger' };

      const result = await sut.infer(champion, ROWS);

      expect(result).toMatchObject({ modelVersion: '4', variant: 'challenger' });
      expect(finished.map((e) => e.payload)).toEqual([
        expect.objectContaining({ version: '4', variant: 'challenger', outcome: 'ok' }),
      ]);
    });

    it('keys the caller by the sticky header, asked of the request only under a rollout', async () => {
      const caller = {
        header: (name: string) => (name === 'x-modelgate-caller' ? 't1' : undefined),
      };

      await sut.infer(champion, ROWS, { caller });
      rollouts.next = { answer: champion, variant: 'champion' };
      await sut.infer(champion, ROWS, { caller });

      expect(rollouts.keys).toEqual(['header:t1']);
    });

    it('in shadow mode answers from the champion, then sends the challenger a copy and compares the pair', async () => {
      const shadowed = new Promise((resolve) => emitter.once('rollout.shadowed', resolve));
      const finished = recordHotEvents(hot, 'prediction.finished');
      rollouts.next = { answer: champion, variant: 'champion', shadow: challenger };

      const result = await sut.infer(champion, ROWS);

      expect(result).toMatchObject({ modelVersion: '3', variant: 'champion' });
      await expect(shadowed).resolves.toEqual({
        name: 'iris',
        championVersion: '3',
        challengerVersion: '4',
        outcome: 'compared',
        labelsEqual: true,
        scoreDifference: 0,
      });
      expect(finished.map((e) => [e.payload.version, e.payload.variant])).toEqual([
        ['3', 'champion'],
        ['4', 'shadow'],
      ]);
    });

    it('answers no variant when the model has no rollout', async () => {
      const result = await sut.infer(champion, ROWS);

      expect(result.variant).toBeUndefined();
    });
  });
});

/** A caller that left before its request was served. */
const GONE: CancelSignal = { aborted: true, onAbort: () => () => undefined };
