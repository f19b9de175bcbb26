import { Logger } from '@nestjs/common';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ModelInputRejectedError, ModelUnavailableError } from '../model.errors';
import { ModelSignature } from '../model-signature.types';
import { ScoringServerRuntime } from './scoring-server.runtime';

/** What `infer_signature(iris_frame, model.predict(iris_frame))` gives an sklearn classifier. */
const SIGNATURE: ModelSignature = {
  inputs: [
    { kind: 'column', name: 'sepal_length', type: 'double', required: true },
    { kind: 'column', name: 'sepal_width', type: 'double', required: true },
  ],
  outputs: [{ kind: 'tensor', dtype: 'int64', datatype: 'INT64', shape: [-1] }],
  params: [],
};

type Handler = (body: unknown, reply: ServerResponse) => void;

/** A stand-in for `mlflow models serve`: /ping answers, /invocations does what the test says. */
async function scoringServer(
  invocations: Handler,
): Promise<{ url: string; server: Server; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  const server = createServer((request: IncomingMessage, reply: ServerResponse) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/ping') return void reply.end('\n');
      const body: unknown = JSON.parse(text);
      bodies.push(body);
      invocations(body, reply);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, server, bodies };
}

function json(reply: ServerResponse, status: number, body: unknown): void {
  reply.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

const FEEDS = [
  {
    name: 'sepal_length',
    datatype: 'FP64' as const,
    shape: [2],
    data: Float64Array.from([5.1, 6.7]),
  },
  {
    name: 'sepal_width',
    datatype: 'FP64' as const,
    shape: [2],
    data: Float64Array.from([3.5, 3.0]),
  },
];

describe(`${ScoringServerRuntime.name} predictions`, () => {
  const servers: Server[] = [];
  let sut: ScoringServerRuntime | undefined;

  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  afterEach(async () => {
    await sut?.dispose();
    sut = undefined;
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  async function runtimeOver(
    ...handlers: Handler[]
  ): Promise<{ sut: ScoringServerRuntime; bodies: unknown[][] }> {
    const started = await Promise.all(handlers.map(scoringServer));
    servers.push(...started.map((s) => s.server));
    sut = await ScoringServerRuntime.load(SIGNATURE, {
      flavor: 'sklearn',
      urls: started.map((s) => s.url),
      timeoutMs: 5_000,
      coolDownMs: 60_000,
    });
    return { sut, bodies: started.map((s) => s.bodies) };
  }

  it('sends a data frame, and answers the server’s predictions typed by the output signature', async () => {
    const { sut, bodies } = await runtimeOver((_body, reply) =>
      json(reply, 200, { predictions: [0, 2] }),
    );

    const answer = await sut.predict(FEEDS);

    expect(bodies[0]).toEqual([
      {
        dataframe_split: {
          columns: ['sepal_length', 'sepal_width'],
          data: [
            [5.1, 3.5],
            [6.7, 3],
          ],
        },
      },
    ]);
    expect(answer).toEqual({
      outputs: [
        { name: 'predictions', datatype: 'INT64', shape: [2], data: BigInt64Array.from([0n, 2n]) },
      ],
      extras: { mlflowPredictions: [0, 2] },
    });
    expect(sut.platform).toBe('mlflow_sklearn');
  });

  it('sends the params in the body, for the model’s predict(..., params=...)', async () => {
    const { sut, bodies } = await runtimeOver((_body, reply) =>
      json(reply, 200, { predictions: [1, 1] }),
    );

    await sut.predict(FEEDS, { params: { threshold: 0.9, labels: ['a'] } });
    await sut.predict(FEEDS, {});

    expect(bodies[0].map((b) => (b as { params?: unknown }).params)).toEqual([
      { threshold: 0.9, labels: ['a'] },
      undefined,
    ]);
    expect(Object.keys(bodies[0][1] as object)).toEqual(['dataframe_split']);
  });

  it('reports the server’s 4xx as an input fault, keeping the server’s message', async () => {
    const { sut } = await runtimeOver((_body, reply) =>
      json(reply, 400, { error_code: 'BAD_REQUEST', message: 'Incompatible input types' }),
    );

    const error = await sut.predict(FEEDS).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelInputRejectedError);
    expect((error as ModelInputRejectedError).upstreamMessage).toBe('Incompatible input types');
  });

  it('fails over past a server that answers 5xx, and reports a retryable fault when none answers', async () => {
    const failing: Handler = (_body, reply) => json(reply, 500, { message: 'worker died' });
    const { sut, bodies } = await runtimeOver(failing, (_body, reply) =>
      json(reply, 200, { predictions: [1, 1] }),
    );

    const first = await sut.predict(FEEDS);
    const second = await sut.predict(FEEDS);

    expect(first.outputs[0].data).toEqual(BigInt64Array.from([1n, 1n]));
    expect(second.outputs[0].data).toEqual(BigInt64Array.from([1n, 1n]));
    expect(bodies[0]).toHaveLength(1);

    await sut.dispose();
    const down = await runtimeOver(failing);
    const error = await down.sut.predict(FEEDS).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect((error as ModelUnavailableError).retryable).toBe(true);
    expect((error as ModelUnavailableError).message).toContain('no scoring server answered');
  });
});
