import { EventEmitter2 } from '@nestjs/event-emitter';
import { Logger } from '@nestjs/common';
import { eventBus, recordEvents } from '../models/testing/model-fakes';
import { InferenceResult } from './inference.types';
import { ShadowCopies } from './shadow-copies';

function result(version: string, label: number, score: number): InferenceResult {
  return {
    modelName: 'iris',
    modelVersion: version,
    rows: 1,
    outputs: [
      { name: 'label', datatype: 'INT64', shape: [1], data: BigInt64Array.from([BigInt(label)]) },
      {
        name: 'probabilities',
        datatype: 'FP32',
        shape: [1, 2],
        data: Float32Array.from([score, 1 - score]),
      },
    ],
  };
}

describe(ShadowCopies.name, () => {
  const champion = result('3', 1, 0.75);
  let emitter: EventEmitter2;
  let sut: ShadowCopies;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  beforeEach(() => {
    emitter = new EventEmitter2();
    sut = new ShadowCopies({ shadowMaxInFlight: 2 }, eventBus(emitter));
  });

  /** A copy that answers when the test says so. */
  function heldCopy() {
    let answer!: (r: InferenceResult) => void;
    const copy = new Promise<InferenceResult>((resolve) => (answer = resolve));
    return { predict: () => copy, answer };
  }

  it('drops and counts a copy beyond the bound instead of queueing it', async () => {
    const seen = recordEvents(emitter, 'rollout.shadowed');
    const first = heldCopy();
    const second = heldCopy();
    const third = jest.fn(() => Promise.resolve(result('4', 1, 0.75)));

    const running = [sut.send(champion, first.predict), sut.send(champion, second.predict)];
    await sut.send(champion, third);

    expect(third).not.toHaveBeenCalled();
    expect(sut.running).toBe(2);
    expect(seen.map((e) => e.payload.outcome)).toEqual(['dropped']);

    first.answer(result('4', 1, 0.75));
    second.answer(result('4', 1, 0.75));
    await Promise.all(running);

    expect(sut.running).toBe(0);
    expect(seen.map((e) => e.payload.outcome)).toEqual(['dropped', 'compared', 'compared']);
  });

  it('takes copies again once the running ones are done', async () => {
    const seen = recordEvents(emitter, 'rollout.shadowed');
    const held = [heldCopy(), heldCopy()];
    const running = held.map((h) => sut.send(champion, h.predict));
    held.forEach((h) => h.answer(result('4', 1, 0.75)));
    await Promise.all(running);

    await sut.send(champion, () => Promise.resolve(result('4', 1, 0.75)));

    expect(seen.map((e) => e.payload.outcome)).toEqual(['compared', 'compared', 'compared']);
  });

  it('tells how far the pair is apart: labels and the largest score difference', async () => {
    const seen = recordEvents(emitter, 'rollout.shadowed');

    await sut.send(champion, () => Promise.resolve(result('4', 0, 0.5)));

    expect(seen[0].payload).toEqual({
      name: 'iris',
      championVersion: '3',
      challengerVersion: '4',
      outcome: 'compared',
      labelsEqual: false,
      scoreDifference: 0.25,
    });
  });

  it('counts a copy that fails, and never rejects', async () => {
    const seen = recordEvents(emitter, 'rollout.shadowed');

    await expect(
      sut.send(champion, () => Promise.reject(new Error('boom'))),
    ).resolves.toBeUndefined();

    expect(seen.map((e) => e.payload)).toEqual([
      { name: 'iris', championVersion: '3', outcome: 'failed' },
    ]);
    expect(sut.running).toBe(0);
  });

  it('sends nothing at all with a bound of 0', async () => {
    sut = new ShadowCopies({ shadowMaxInFlight: 0 }, eventBus(emitter));
    const predict = jest.fn(() => Promise.resolve(result('4', 1, 0.75)));

    await sut.send(champion, predict);

    expect(predict).not.toHaveBeenCalled();
  });
});
