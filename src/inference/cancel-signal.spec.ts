import { createServer, request as httpRequest, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { CancelSignal, responseCancelSignal } from './cancel-signal';

/** A real HTTP server whose handler hands each response's signal to the test, answering only when told. */
async function server(): Promise<{
  url: string;
  next: () => Promise<{ signal: CancelSignal; response: ServerResponse }>;
  close: () => Promise<void>;
}> {
  const waiting: ((r: { signal: CancelSignal; response: ServerResponse }) => void)[] = [];
  const http: Server = createServer((_request, response) => {
    waiting.shift()?.({ signal: responseCancelSignal(response), response });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    next: () => new Promise((resolve) => waiting.push(resolve)),
    close: () => new Promise((resolve) => http.close(() => resolve())),
  };
}

describe('responseCancelSignal', () => {
  let sut: Awaited<ReturnType<typeof server>>;

  beforeEach(async () => {
    sut = await server();
  });

  afterEach(() => sut.close());

  it('aborts, and tells its listener, when the client leaves before the answer', async () => {
    const served = sut.next();
    const client = httpRequest(sut.url);
    client.on('error', () => undefined);
    client.end();
    const { signal } = await served;
    expect(signal.aborted).toBe(false);
    const told = new Promise<void>((resolve) => signal.onAbort(resolve));

    client.destroy();

    await told;
    expect(signal.aborted).toBe(true);
  });

  it('never aborts a request that was answered, and a listener it stopped is not told', async () => {
    const served = sut.next();
    const answered = new Promise<number | undefined>((resolve) =>
      httpRequest(sut.url, { agent: false }, (res) => resolve(res.resume().statusCode)).end(),
    );
    const { signal, response } = await served;
    const told: string[] = [];
    signal.onAbort(() => told.push('kept'));
    const stop = signal.onAbort(() => told.push('stopped'));
    stop();

    const closed = new Promise((resolve) => response.once('close', resolve));
    response.end('ok');
    expect(await answered).toBe(200);
    await closed;

    expect(signal.aborted).toBe(false);
    expect(told).toEqual([]);
  });
});
