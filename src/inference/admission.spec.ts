import type { ArgumentsHost } from '@nestjs/common';
import {
  MlflowScoringExceptionFilter,
  OpenInferenceExceptionFilter,
} from '../common/errors/error-filters';
import { describeError } from '../common/errors/error-describer';
import { INFERENCE_ERROR_MAP } from './inference.error-map';
import { Admission, ModelBusyError } from './admission';

/** A fake model run that finishes when the test says so. */
class FakeRun {
  private finish!: (value: string) => void;
  readonly done = new Promise<string>((resolve) => (this.finish = resolve));
  started = false;

  readonly work = (): Promise<string> => {
    this.started = true;
    return this.done;
  };

  end(value = 'ok'): void {
    this.finish(value);
  }
}

function admission(maxConcurrent: number, maxQueued: number): Admission {
  return new Admission({ admission: { maxConcurrent, maxQueued } });
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe(Admission.name, () => {
  it('runs up to the concurrency bound at once and queues the next ones in order', async () => {
    const sut = admission(2, 2);
    const runs = Array.from({ length: 4 }, () => new FakeRun());
    const answers = runs.map((run) => sut.run('iris/1', run.work));
    await flush();

    expect(runs.map((r) => r.started)).toEqual([true, true, false, false]);
    expect(sut.load('iris/1')).toEqual({ running: 2, waiting: 2 });

    runs[1].end();
    await flush();
    expect(runs.map((r) => r.started)).toEqual([true, true, true, false]);

    runs[0].end();
    runs[2].end();
    await flush();
    runs[3].end();
    await expect(Promise.all(answers)).resolves.toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(sut.load('iris/1')).toEqual({ running: 0, waiting: 0 });
  });

  it('refuses with ModelBusyError once the model runs and queues all it may', async () => {
    const sut = admission(1, 1);
    const [running, queued] = [new FakeRun(), new FakeRun()];
    const first = sut.run('iris/1', running.work);
    const second = sut.run('iris/1', queued.work);

    const refused = sut.run('iris/1', () => Promise.resolve('never'));

    await expect(refused).rejects.toBeInstanceOf(ModelBusyError);
    await expect(refused).rejects.toThrow(/iris\/1 is busy: 1 predictions running and 1 waiting/);
    running.end();
    await flush();
    queued.end();
    await expect(Promise.all([first, second])).resolves.toEqual(['ok', 'ok']);
  });

  it('bounds each model on its own: a saturated model leaves others their slots', async () => {
    const sut = admission(1, 0);
    const slow = new FakeRun();
    const busy = sut.run('slow/1', slow.work);

    await expect(sut.run('slow/1', () => Promise.resolve('x'))).rejects.toBeInstanceOf(
      ModelBusyError,
    );
    await expect(sut.run('fast/1', () => Promise.resolve('fast'))).resolves.toBe('fast');
    slow.end();
    await busy;
  });

  it('frees the slot of a prediction that fails, for the next in line', async () => {
    const sut = admission(1, 1);
    const failing = new FakeRun();
    const next = new FakeRun();
    const first = sut.run('iris/1', () =>
      failing.work().then(() => Promise.reject(new Error('bad input'))),
    );
    const second = sut.run('iris/1', next.work);

    failing.end();
    await expect(first).rejects.toThrow('bad input');
    await flush();
    expect(next.started).toBe(true);
    next.end();
    await expect(second).resolves.toBe('ok');
    expect(sut.load('iris/1')).toEqual({ running: 0, waiting: 0 });
  });

  it('is answered as 503 TEMPORARILY_UNAVAILABLE with a Retry-After', async () => {
    const sut = admission(1, 0);
    const running = new FakeRun();
    const first = sut.run('iris/1', running.work);
    const error = await sut.run('iris/1', () => Promise.resolve('x')).catch((e: unknown) => e);

    expect(describeError(error, INFERENCE_ERROR_MAP)).toMatchObject({
      status: 503,
      code: 'TEMPORARILY_UNAVAILABLE',
      retryAfterSeconds: 1,
    });
    running.end();
    await first;
  });

  it.each([
    [
      'MLflow scoring',
      new MlflowScoringExceptionFilter(INFERENCE_ERROR_MAP),
      { error_code: 'TEMPORARILY_UNAVAILABLE' },
    ],
    [
      'Open Inference',
      new OpenInferenceExceptionFilter(INFERENCE_ERROR_MAP),
      { error: expect.stringMatching(/busy/) },
    ],
  ])('is answered by the %s filter as a 503 with Retry-After', async (_protocol, filter, body) => {
    const sut = admission(1, 0);
    const running = new FakeRun();
    const first = sut.run('iris/1', running.work);
    const error = await sut.run('iris/1', () => Promise.resolve('x')).catch((e: unknown) => e);
    const reply = new RecordingReply();

    filter.catch(error, hostFor(reply));

    expect(reply.statusCode).toBe(503);
    expect(reply.headers['retry-after']).toBe(1);
    expect(reply.body).toMatchObject(body);
    running.end();
    await first;
  });
});

/** The part of a Fastify reply the exception filters use, recording what they did. */
class RecordingReply {
  statusCode = 0;
  headers: Record<string, unknown> = {};
  body: unknown;

  header(name: string, value: unknown): this {
    this.headers[name.toLowerCase()] = value;
    return this;
  }

  getHeader(name: string): unknown {
    return this.headers[name.toLowerCase()];
  }

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  type(contentType: string): this {
    this.headers['content-type'] = contentType;
    return this;
  }

  send(body: unknown): this {
    this.body = body;
    return this;
  }
}

function hostFor(reply: RecordingReply): ArgumentsHost {
  const http = {
    getRequest: () => ({ method: 'POST', url: '/invocations' }),
    getResponse: () => reply,
  };
  return { switchToHttp: () => http } as unknown as ArgumentsHost;
}
