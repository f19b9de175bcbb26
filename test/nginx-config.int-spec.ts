import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { execFile } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { DEFAULT_MAX_BODY_BYTES } from '../src/config/limits.config';
import { GRPC_LOADER_OPTIONS, PROTO_FILE } from '../src/grpc/grpc.server';
import { Balancing, NGINX, renderNginxConfig, RunningNginx, startNginx } from './support/nginx';

/**
 * The nginx configuration in deployment/nginx/ (rendered by its render.sh)
 * in front of three throwaway HTTP servers standing in for API instances:
 * balancing, retries, TLS and headers. The API itself behind nginx is not
 * under test here.
 */

interface Seen {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  bytes: number;
  sha256: string;
}

/** An "instance": answers every request with its name in X-Modelgate-Instance, and records it. */
class FakeInstance {
  readonly seen: Seen[] = [];
  /** 'unavailable' answers 503 to everything, as the API does to a prediction whose model it could not load. */
  mode: 'ok' | 'unavailable' = 'ok';
  private readonly server: http.Server;

  constructor(readonly name: string) {
    this.server = http.createServer((req, res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        hash.update(chunk);
      });
      req.on('end', () => {
        const seen = {
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          bytes,
          sha256: hash.digest('hex'),
        };
        this.seen.push(seen);
        res.writeHead(this.mode === 'ok' ? 200 : 503, {
          'content-type': 'application/json',
          'x-modelgate-instance': this.name,
        });
        res.end(JSON.stringify({ instance: this.name, bytes, sha256: seen.sha256 }));
      });
    });
  }

  get address(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Gone like a killed process: open connections cut, new ones refused. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request on a connection of its own (no keep-alive), through Node's http or https. */
function send(
  url: string,
  init: {
    method?: string;
    body?: string | Buffer;
    headers?: Record<string, string>;
    ca?: Buffer;
    localAddress?: string;
  } = {},
): Promise<Answer> {
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      target,
      {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        agent: false,
        ca: init.ca,
        localAddress: init.localAddress,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    request.on('error', reject);
    request.end(init.body);
  });
}

/** `count` requests, at most `concurrency` at a time. */
async function sendMany(
  count: number,
  concurrency: number,
  one: (i: number) => Promise<Answer>,
): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) answers.push(await one(next++));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

function tally(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const { headers } of answers) {
    const name = String(headers['x-modelgate-instance'] ?? 'none');
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

const PREDICTION = JSON.stringify({ dataframe_split: { columns: ['x'], data: [[1]] } });

describe('nginx in front of several instances (deployment/nginx)', () => {
  let instances: FakeInstance[];
  let nginx: RunningNginx | undefined;
  let ca: Buffer;

  const start = async (balancing?: Balancing) => {
    nginx = await startNginx({ upstreams: instances.map((i) => i.address), balancing });
    ca = readFileSync(nginx.caCertPath);
    return nginx;
  };
  const predict = (url: string, body = PREDICTION) => send(url, { body, ca });

  beforeEach(async () => {
    instances = await Promise.all(['a', 'b', 'c'].map((name) => new FakeInstance(name).start()));
  });

  afterEach(async () => {
    await nginx?.stop();
    nginx = undefined;
    await Promise.all(instances.map((i) => i.stop()));
  });

  it('round robin spreads requests evenly over every instance', async () => {
    const { httpsUrl } = await start();

    const answers = await sendMany(9, 1, () => send(`${httpsUrl}/v1/models`, { ca }));

    expect(answers.map((a) => a.status)).toEqual(Array(9).fill(200));
    expect(tally(answers)).toEqual({ a: 3, b: 3, c: 3 });
  });

  it('ip-hash keeps a client on one instance and spreads different clients', async () => {
    const { httpsUrl } = await start('ip-hash');

    const one = await sendMany(6, 2, () => send(`${httpsUrl}/v1/models`, { ca }));
    // ip_hash hashes an IPv4 client's first three octets: 127.0.N.1 are
    // different clients (all loopback on Linux).
    const many = await sendMany(8, 2, (i) =>
      send(`${httpsUrl}/v1/models`, { ca, localAddress: `127.0.${i + 1}.1` }),
    );

    expect(Object.keys(tally(one))).toHaveLength(1);
    expect(Object.keys(tally(many)).length).toBeGreaterThan(1);
  });

  it('passes predictions on to live instances when one dies: no client sees a failure', async () => {
    const { httpsUrl } = await start();
    const url = (i: number) => `${httpsUrl}${i % 2 ? '/invocations' : '/v2/models/iris/infer'}`;
    // nginx now holds idle keep-alive connections to every instance.
    const before = await sendMany(9, 3, (i) => predict(url(i)));
    await instances[1].stop();

    const after = await sendMany(100, 4, (i) => predict(url(i)));

    expect(tally(before)).toEqual({ a: 3, b: 3, c: 3 });
    expect(after.filter((a) => a.status !== 200)).toEqual([]);
    expect(tally(after).b).toBeUndefined();
  });

  it('passes a prediction answered 503 on to the next instance', async () => {
    const { httpsUrl } = await start();
    instances[0].mode = 'unavailable';

    const answers = await sendMany(30, 2, () => predict(`${httpsUrl}/v1/models/iris/invocations`));

    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(tally(answers).a).toBeUndefined();
    // It was asked, answered 503, and the prediction went on; after
    // max_fails (3) it is left out for fail_timeout.
    expect(instances[0].seen.length).toBeGreaterThanOrEqual(1);
    expect(instances[0].seen.length).toBeLessThanOrEqual(3);
  });

  it('does not send a non-prediction POST answered 503 to another instance', async () => {
    const { httpsUrl } = await start();
    instances[0].mode = 'unavailable';

    const answers = await sendMany(6, 1, () =>
      send(`${httpsUrl}/v1/models/iris/reload`, { method: 'POST', ca }),
    );

    const unavailable = answers.filter((a) => a.status === 503);
    expect(unavailable.length).toBeGreaterThanOrEqual(1);
    expect(tally(unavailable)).toEqual({ a: unavailable.length });
    expect(instances[0].seen).toHaveLength(unavailable.length);
    // Each reload reached exactly one instance.
    expect(instances.reduce((sum, i) => sum + i.seen.length, 0)).toBe(6);
  });

  it('sends a non-prediction POST to another instance when the first refused the connection', async () => {
    const { httpsUrl } = await start();
    await instances[2].stop();

    const answers = await sendMany(6, 1, () =>
      send(`${httpsUrl}/v1/models/iris/reload`, { method: 'POST', ca }),
    );

    // Nothing of it had reached the dead instance: nginx's default retries it.
    expect(answers.map((a) => a.status)).toEqual(Array(6).fill(200));
  });

  it('passes a body of a few MiB whole, also when the prediction is sent again', async () => {
    const { httpsUrl } = await start();
    instances[0].mode = 'unavailable'; // the first attempt may meet it
    const body = randomBytes(3 * 1024 * 1024).toString('base64'); // 4 MiB
    const sha256 = createHash('sha256').update(body).digest('hex');

    const answers = await sendMany(3, 1, () => predict(`${httpsUrl}/invocations`, body));

    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toMatchObject({ bytes: body.length, sha256 });
    }
    expect(instances[0].seen.length).toBeGreaterThanOrEqual(1);
    expect(instances[0].seen[0]).toMatchObject({ bytes: body.length, sha256 });
  });

  it('serves TLS with the configured certificate and redirects plain HTTP with 308', async () => {
    const { httpsUrl, httpUrl } = await start();

    const secure = await send(`${httpsUrl}/health/ready`, { ca });
    const redirected = await send(`${httpUrl}/invocations?format=json`, { body: PREDICTION });

    expect(secure.status).toBe(200);
    await expect(send(`${httpsUrl}/health/ready`)).rejects.toMatchObject({
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    expect(redirected.status).toBe(308); // a POST stays a POST
    expect(redirected.headers.location).toBe(`${httpsUrl}/invocations?format=json`);
    // nginx answered the redirect itself; only the HTTPS probe reached an instance.
    expect(instances.reduce((sum, i) => sum + i.seen.length, 0)).toBe(1);
  });

  it('forwards X-Request-Id (or makes one) and X-Forwarded-For/Proto, and returns the id', async () => {
    const { httpsUrl } = await start();

    const given = await predict(`${httpsUrl}/invocations`);
    const own = await send(`${httpsUrl}/invocations`, {
      body: PREDICTION,
      ca,
      headers: { 'x-request-id': 'client-id-1' },
    });
    const unsafe = await send(`${httpsUrl}/invocations`, {
      body: PREDICTION,
      ca,
      headers: { 'x-request-id': 'not a token' },
    });

    const seen = instances.flatMap((i) => i.seen);
    const seenId = (answer: Answer) =>
      seen.find((s) => s.headers['x-request-id'] === answer.headers['x-request-id']);
    expect(given.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/); // nginx's $request_id
    expect(seenId(given)).toBeDefined();
    expect(own.headers['x-request-id']).toBe('client-id-1');
    expect(seenId(own)).toBeDefined();
    expect(unsafe.headers['x-request-id']).toMatch(/^[0-9a-f]{32}$/);
    expect(seenId(unsafe)).toBeDefined();
    for (const s of seen) {
      expect(s.headers).toMatchObject({
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'https',
      });
    }
  });

  it('takes a new list of instances on reload', async () => {
    nginx = await startNginx({ upstreams: [instances[0].address] });
    ca = readFileSync(nginx.caCertPath);

    await nginx.reload({ upstreams: instances.map((i) => i.address) });
    const answers = await sendMany(6, 1, () => send(`${nginx!.httpsUrl}/v1/models`, { ca }));

    expect(tally(answers)).toEqual({ a: 2, b: 2, c: 2 });
  });
});

describe('deployment/nginx configuration files', () => {
  const run = promisify(execFile);
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'modelgate-nginx-conf-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['round-robin', 'ip-hash'])(
    'renders a conf.d file (%s) that nginx -t accepts inside an http block',
    async (balancing) => {
      const [cert, key] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
      await run('openssl', [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'],
        ...['-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost'],
      ]);
      const site = path.join(dir, 'modelgate.conf');
      await renderNginxConfig(site, {
        MODELGATE_UPSTREAMS: '127.0.0.1:8001,127.0.0.1:8002,127.0.0.1:8003',
        MODELGATE_GRPC_UPSTREAMS: '127.0.0.1:9001,127.0.0.1:9002,127.0.0.1:9003',
        MODELGATE_GRPC_PORT: '18001',
        MODELGATE_BALANCING: balancing,
        MODELGATE_TLS_CERT: cert,
        MODELGATE_TLS_KEY: key,
        MODELGATE_LISTEN_ADDRESSES: '127.0.0.1',
        MODELGATE_HTTP_PORT: '18080',
        MODELGATE_HTTPS_PORT: '18443',
        // In the prefix: nginx -t opens the logs, and /var/log/nginx may not be ours.
        MODELGATE_ACCESS_LOG: 'access.log',
        MODELGATE_ERROR_LOG: 'error.log',
      });
      // What Debian's /etc/nginx/nginx.conf provides around conf.d/*.conf.
      const main = path.join(dir, 'nginx.conf');
      writeFileSync(
        main,
        [
          'pid nginx.pid;',
          'error_log stderr;',
          'events {}',
          'http {',
          '  client_body_temp_path client_body_temp; proxy_temp_path proxy_temp;',
          '  fastcgi_temp_path fastcgi_temp; uwsgi_temp_path uwsgi_temp; scgi_temp_path scgi_temp;',
          `  include ${site};`,
          '}',
        ].join('\n'),
      );

      const { stderr } = await run(NGINX, ['-t', '-p', `${dir}/`, '-c', main]);

      expect(stderr).toContain('test is successful');
      const rendered = readFileSync(site, 'utf8');
      expect(rendered).toContain(
        balancing === 'ip-hash' ? '    ip_hash;' : "Round robin (nginx's default)",
      );
      expect(rendered).toContain('listen 127.0.0.1:18001 ssl http2;');
      expect(rendered).toContain('server 127.0.0.1:9002 max_fails=3 fail_timeout=10s;');
      expect(rendered).toContain('grpc_pass grpc://modelgate_grpc;');
    },
  );

  it('adds a plain-HTTP listener to the HTTPS server with MODELGATE_PLAIN_HTTP_PORT, on a port of its own', async () => {
    const base = {
      MODELGATE_UPSTREAMS: 'api1:8000,api2:8000',
      MODELGATE_TLS_CERT: 'cert.pem',
      MODELGATE_TLS_KEY: 'key.pem',
      MODELGATE_LISTEN_ADDRESSES: '0.0.0.0',
      MODELGATE_HTTPS_PORT: '8443',
    };
    const site = path.join(dir, 'plain.conf');

    await renderNginxConfig(site, { ...base, MODELGATE_PLAIN_HTTP_PORT: '8000' });
    const clash = renderNginxConfig(site + '.bad', { ...base, MODELGATE_PLAIN_HTTP_PORT: '8443' });

    // In the HTTPS server (its locations, its proxy settings), not the redirecting one.
    const https = readFileSync(site, 'utf8').split('# ---- HTTPS')[1];
    expect(https).toMatch(/listen 0\.0\.0\.0:8443 ssl http2;\n.*\n\s+listen 0\.0\.0\.0:8000;\n/);
    await expect(clash).rejects.toThrow(
      'MODELGATE_PLAIN_HTTP_PORT must differ from MODELGATE_HTTPS_PORT',
    );
  });

  it("limits request bodies to the API's own default limit (API_MAX_BODY_BYTES)", () => {
    const template = readFileSync(
      path.resolve(__dirname, '../deployment/nginx/modelgate-lb.conf.template'),
      'utf8',
    );

    const [, mebibytes] = /client_max_body_size (\d+)m;/.exec(template) ?? [];

    expect(Number(mebibytes) * 1024 * 1024).toBe(DEFAULT_MAX_BODY_BYTES);
  });

  it('keeps the committed three-instance example equal to what render.sh writes', async () => {
    const example = path.resolve(__dirname, '../deployment/nginx/modelgate-lb.example.conf');
    const rendered = path.join(dir, 'example.conf');

    await renderNginxConfig(rendered, EXAMPLE_VARIABLES);

    expect(readFileSync(rendered, 'utf8')).toBe(readFileSync(example, 'utf8'));
  });
});

/** The variables deployment/README.md gives for modelgate-lb.example.conf. */
const EXAMPLE_VARIABLES = {
  MODELGATE_UPSTREAMS: '10.0.0.11:8000,10.0.0.12:8000,10.0.0.13:8000',
  MODELGATE_GRPC_UPSTREAMS: '10.0.0.11:8001,10.0.0.12:8001,10.0.0.13:8001',
  MODELGATE_SERVER_NAME: 'api.example.com',
  MODELGATE_TLS_CERT: '/etc/letsencrypt/live/api.example.com/fullchain.pem',
  MODELGATE_TLS_KEY: '/etc/letsencrypt/live/api.example.com/privkey.pem',
  MODELGATE_BALANCING: 'round-robin',
};

/** An instance's gRPC listener: our .proto's ServerLive, answering with its name in the metadata. */
class FakeGrpcInstance {
  readonly seenRequestIds: string[] = [];
  private readonly server = new grpc.Server();
  port = 0;

  constructor(readonly name: string) {
    const definition = loadSync(PROTO_FILE, GRPC_LOADER_OPTIONS);
    this.server.addService(definition['inference.GRPCInferenceService'] as grpc.ServiceDefinition, {
      ServerLive: (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        this.seenRequestIds.push(String(call.metadata.get('x-request-id')[0] ?? ''));
        const initial = new grpc.Metadata();
        initial.set('x-modelgate-instance', this.name);
        call.sendMetadata(initial);
        callback(null, { live: true });
      },
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) =>
        e ? reject(e) : resolve(port),
      ),
    );
    return this;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

describe('gRPC through nginx (the grpc_pass variant)', () => {
  let instances: FakeGrpcInstance[] = [];
  let nginx: RunningNginx | undefined;

  afterEach(async () => {
    await nginx?.stop();
    nginx = undefined;
    instances.forEach((i) => i.stop());
  });

  it('takes gRPC over TLS and HTTP/2, spreads calls over the instances, forwards the request id', async () => {
    instances = await Promise.all(['a', 'b'].map((name) => new FakeGrpcInstance(name).start()));
    nginx = await startNginx({
      upstreams: ['127.0.0.1:1'],
      grpcUpstreams: instances.map((i) => i.address),
    });
    const definition = loadSync(PROTO_FILE, GRPC_LOADER_OPTIONS);
    const Service = grpc.loadPackageDefinition(definition).inference as grpc.GrpcObject;
    const Client = Service.GRPCInferenceService as grpc.ServiceClientConstructor;
    const client = new Client(
      nginx.grpcTarget,
      grpc.credentials.createSsl(readFileSync(nginx.caCertPath)),
    );
    const live = (id: string) =>
      new Promise<{ live: boolean; instance: string }>((resolve, reject) => {
        const metadata = new grpc.Metadata();
        metadata.set('x-request-id', id);
        let instance = '';
        const call = (
          client as unknown as Record<string, (...args: unknown[]) => grpc.ClientUnaryCall>
        )['ServerLive'];
        const pending = call.call(client, {}, metadata, (error: unknown, answer: unknown) =>
          error ? reject(error as Error) : resolve({ ...(answer as { live: boolean }), instance }),
        );
        pending.on(
          'metadata',
          (m: grpc.Metadata) => (instance = String(m.get('x-modelgate-instance')[0])),
        );
      });

    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await live(`nginx-grpc-${i}`));
    client.close();

    expect(answers.every((a) => a.live)).toBe(true);
    expect(new Set(answers.map((a) => a.instance))).toEqual(new Set(['a', 'b']));
    expect(instances.flatMap((i) => i.seenRequestIds).sort()).toEqual([
      'nginx-grpc-0',
      'nginx-grpc-1',
      'nginx-grpc-2',
      'nginx-grpc-3',
    ]);
  });
});
