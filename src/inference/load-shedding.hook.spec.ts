import Fastify, { FastifyInstance } from 'fastify';
import { isPredictionRoute, registerLoadShedding } from './load-shedding.hook';

/** Keeps the event loop busy for `ms`: what a pathological request does to it. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

/** Lets under-pressure's sampling timer run after the block, as it would between requests. */
const nextTurn = () => new Promise((resolve) => setTimeout(resolve, 50));

describe(registerLoadShedding.name, () => {
  let sut: FastifyInstance;

  beforeEach(async () => {
    sut = Fastify();
    registerLoadShedding(sut, 100);
    for (const url of ['/invocations', '/v2/models/:name/infer', '/health/live', '/v1/models'])
      sut.all(url, () => ({ ok: true }));
    await sut.ready();
  });

  afterEach(() => sut.close());

  it('sheds predictions with 503 and Retry-After while the loop lags, and answers probes', async () => {
    // under-pressure samples the loop once a second: block until a sample has seen the lag.
    for (let attempt = 0; attempt < 5 && sut.memoryUsage().eventLoopDelay <= 100; attempt++) {
      blockEventLoop(1500);
      await nextTurn();
    }
    const mlflow = await sut.inject({ method: 'POST', url: '/invocations', payload: {} });
    const oip = await sut.inject({ method: 'POST', url: '/v2/models/iris/infer', payload: {} });
    const live = await sut.inject({ url: '/health/live' });
    const api = await sut.inject({ url: '/v1/models' });

    expect(mlflow.statusCode).toBe(503);
    expect(mlflow.headers['retry-after']).toBe('1');
    expect(mlflow.json()).toMatchObject({ error_code: 'TEMPORARILY_UNAVAILABLE' });
    expect(oip.statusCode).toBe(503);
    expect(oip.json().error).toMatch(/event loop lags/);
    expect(live.statusCode).toBe(200);
    expect(api.statusCode).toBe(200);
  }, 30_000);

  it('lets predictions through while the loop keeps up', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100));

    const reply = await sut.inject({ method: 'POST', url: '/invocations', payload: {} });

    expect(reply.statusCode).toBe(200);
  });
});

describe(isPredictionRoute.name, () => {
  it.each([
    '/invocations',
    '/v1/models/iris@champion/invocations',
    '/v2/models/iris/infer',
    '/v2/models/iris/versions/3/infer?x=1',
  ])('counts %s as a prediction', (url) => expect(isPredictionRoute(url)).toBe(true));

  it.each([
    '/health/live',
    '/ping',
    '/v2/health/ready',
    '/v2/models/iris',
    '/v1/models/iris',
    '/metrics',
  ])('does not count %s', (url) => expect(isPredictionRoute(url)).toBe(false));
});
