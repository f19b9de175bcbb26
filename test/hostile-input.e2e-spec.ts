import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { RunningServer, startServer, stackEnv } from './support/app';
import { Reply, request, waitFor } from './support/http';
import { registerDemoModel } from './support/python';
import { sharedStack } from './support/shared-stack';

/**
 * Requests built to hurt the service (issue 11, "Why" and item 3), against
 * the real app serving real ONNX models: each gets a 4xx in the route's own
 * format, the process stays live, a normal prediction sent alongside is
 * answered, and the process's memory after the case stays within
 * RSS_BOUND_MB of before (before the fixes, the records case alone took the
 * process from 262 MB to 3.4 GB). Times are never asserted.
 */

/** What a case may leave behind in resident memory (the test and the server share the process). */
const RSS_BOUND_MB = 150;
const FIGURES_FILE = path.resolve(__dirname, '../.cache/hostile-figures.json');
const COLUMNS = ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'];
const ROW = [5.1, 3.5, 1.4, 0.2];
const NORMAL = { dataframe_split: { columns: COLUMNS, data: [ROW] } };
const MIB = 1024 * 1024;
/** The test server's headers timeout: short, so the slow-loris case ends soon. */
const HEADERS_TIMEOUT_MS = 2000;

interface Figure {
  case: string;
  status: number;
  rssBeforeMb: number;
  rssAfterMb: number;
}

interface MlflowError {
  error_code: string;
  message: string;
}

interface OpenInferenceError {
  error: string;
}

function rssMb(): number {
  return Math.round(process.memoryUsage().rss / MIB);
}

/** `[{"k0": 1}, {"k1": 1}, …]` as JSON text: every record brings a key of its own. */
function recordsWithDifferingKeys(count: number): string {
  const records = new Array<string>(count);
  for (let i = 0; i < count; i++) records[i] = `{"k${i}": 1}`;
  return `{"dataframe_records": [${records.join(', ')}]}`;
}

/** Enough such records for a body of at least `bytes`. */
function recordsBodyOfSize(bytes: number): string {
  let count = Math.ceil(bytes / 12);
  let body = recordsWithDifferingKeys(count);
  while (body.length < bytes) {
    count += 1000;
    body = recordsWithDifferingKeys(count);
  }
  return body;
}

function deepList(depth: number): string {
  return `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

function csvWithCell(cell: string): string {
  return `${COLUMNS.join(',')}\n${cell},3.5,1.4,0.2\n`;
}

/** A body sent in chunks without Content-Length. */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(MIB).fill(0x20);
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= bytes) {
        controller.close();
        return;
      }
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
}

/** Sends request headers a byte at a time, never finishing them; resolves with what the server answered once it closes. */
function trickleHeaders(url: string, everyMs: number): Promise<string> {
  const { hostname, port } = new URL(url);
  const head = 'POST /invocations HTTP/1.1\r\nHost: modelgate\r\nX-Slow: ';
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    let i = 0;
    const timer = setInterval(() => {
      if (!socket.writable) return;
      socket.write(i < head.length ? head[i] : 'a');
      i++;
    }, everyMs);
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (answer += data));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve(answer);
    });
    // Bounds the test, not the server: 15× the server's headers timeout.
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the server kept a connection whose headers never ended'));
    }, HEADERS_TIMEOUT_MS * 15).unref();
  });
}

describe('Hostile input: bounded work before any model is looked up', () => {
  const suffix = Date.now();
  const CLASSIFIER = `hostile-columns-${suffix}`;
  const TENSOR = `hostile-tensor-${suffix}`;
  const figures: Figure[] = [];
  let cacheDir: string;
  let server: RunningServer;

  const url = (p: string) => `${server.url}${p}`;

  /**
   * Runs one hostile request beside a normal prediction, then checks the
   * process: live, the normal request answered, memory within the bound.
   * Bodies are built by the caller first, so they are in both measurements.
   */
  async function hostile<T>(name: string, send: () => Promise<Reply<T>>): Promise<Reply<T>> {
    const rssBeforeMb = rssMb();
    const [reply, normal] = await Promise.all([
      send(),
      request(url('/invocations'), { body: NORMAL }),
    ]);
    const live = await request(url('/health/live'));
    const rssAfterMb = rssMb();
    figures.push({ case: name, status: reply.status, rssBeforeMb, rssAfterMb });

    expect(normal.status).toBe(200);
    expect(live.status).toBe(200);
    expect(rssAfterMb - rssBeforeMb).toBeLessThan(RSS_BOUND_MB);
    return reply;
  }

  beforeAll(async () => {
    const stack = sharedStack();
    await registerDemoModel(stack.mlflowUrl, { name: CLASSIFIER, alias: 'champion' });
    await registerDemoModel(stack.mlflowUrl, {
      name: TENSOR,
      signature: 'tensor',
      alias: 'champion',
    });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-hostile-'));
    server = await startServer({
      ...stackEnv(stack),
      MODELS: `models:/${CLASSIFIER}@champion,models:/${TENSOR}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
      API_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      // No load shedding: this server shares its event loop with jest, which
      // builds the hostile bodies and, late in a whole-suite run, collects a
      // heap of several hundred MB; that lag shed the normal requests with 503
      // in CI (the file passes alone). What is checked here is each answer and
      // the memory bound; shedding is src/inference/load-shedding.hook.spec.ts's.
      API_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    await waitFor(
      () => request(url('/ping')),
      (r) => r.status === 200,
      120_000,
    );
  });

  afterAll(async () => {
    mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
    writeFileSync(
      FIGURES_FILE,
      `${JSON.stringify({ rssBoundMb: RSS_BOUND_MB, cases: figures }, null, 2)}\n`,
    );
    await server?.app.close();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  describe('records whose every record brings another key', () => {
    it('returns 400 naming the element cap for a 329 KB body, before building the table', async () => {
      const body = recordsBodyOfSize(329 * 1024);

      const reply = await hostile('dataframe_records, differing keys, 329 KB', () =>
        request<MlflowError>(url('/invocations'), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.error_code).toBe('BAD_REQUEST');
      expect(reply.body.message).toMatch(/distinct keys\) holds \d+ values.*API_MAX_ELEMENTS/);
    });

    it('returns 400 for 30,000 such records (which used to abort the process)', async () => {
      const body = recordsWithDifferingKeys(30_000);

      const reply = await hostile('dataframe_records, differing keys, 30,000 records', () =>
        request<MlflowError>(url('/invocations'), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(
        /30000 records × 30000 distinct keys\) holds 900000000 values/,
      );
    });

    it('returns 400 naming the cap just above it (API_MAX_ELEMENTS = 2^24)', async () => {
      const body = recordsWithDifferingKeys(4100);

      const reply = await hostile('element cap: 4,100 × 4,100 cells', () =>
        request<MlflowError>(url('/invocations'), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toContain(
        'holds 16810000 values, more than the 16777216 one request may carry (API_MAX_ELEMENTS)',
      );
    });
  });

  describe('CSV', () => {
    it('returns 400 naming the column for a 40,000-digit cell followed by x', async () => {
      const body = csvWithCell(`${'1'.repeat(40_000)}x`);

      const reply = await hostile('CSV, 40,000 digits + x', () =>
        request<MlflowError>(url('/invocations'), { body, contentType: 'text/csv' }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(/^column 'sepal_length' row 0: expected a double/);
    });

    it('returns 400 for a 400 KB CSV of one such cell', async () => {
      const body = csvWithCell(`${'9'.repeat(400 * 1024)}x`);

      const reply = await hostile('CSV, 400 KB', () =>
        request<MlflowError>(url('/invocations'), { body, contentType: 'text/csv' }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(/^column 'sepal_length' row 0/);
    });
  });

  describe('deep nesting', () => {
    it('returns 400 naming the depth limit for 200k-deep Open Inference data', async () => {
      const body = `{"inputs": [{"name": "float_input", "datatype": "FP32", "shape": [1], "data": ${deepList(200_000)}}]}`;

      const reply = await hostile('Open Inference data, 200k deep', () =>
        request<OpenInferenceError>(url(`/v2/models/${TENSOR}/infer`), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe(
        'the JSON body nests deeper than 64 levels of lists and objects (API_MAX_DEPTH=64)',
      );
    });

    it('returns 400 naming the depth limit for 200k-deep MLflow instances', async () => {
      const body = `{"instances": ${deepList(200_000)}}`;

      const reply = await hostile('MLflow instances, 200k deep', () =>
        request<MlflowError>(url(`/v1/models/${TENSOR}/invocations`), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.error_code).toBe('BAD_REQUEST');
      expect(reply.body.message).toMatch(/nests deeper than 64 levels.*API_MAX_DEPTH=64/);
    });

    it('returns 400 for 200k-deep MLflow instances with NaN (the lenient parser)', async () => {
      const body = `{"instances": ${deepList(200_000).replace('1', 'NaN')}}`;

      const reply = await hostile('MLflow instances, 200k deep, with NaN', () =>
        request<MlflowError>(url(`/v1/models/${TENSOR}/invocations`), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(/API_MAX_DEPTH=64/);
    });
  });

  describe('shape claims', () => {
    it('returns 400 naming the shape and both counts for [1000, 1000, 1000, 1000] over 4 values', async () => {
      const body = {
        inputs: [
          { name: 'float_input', datatype: 'FP32', shape: [1000, 1000, 1000, 1000], data: ROW },
        ],
      };

      const reply = await hostile('Open Inference shape [1000,1000,1000,1000]', () =>
        request<OpenInferenceError>(url(`/v2/models/${TENSOR}/infer`), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.error).toBe(
        "input 'float_input': shape [1000, 1000, 1000, 1000] needs 1000000000000 values, got 4",
      );
    });

    it('returns 400 for MLflow inputs whose first row claims a million rows of 4', async () => {
      // Nested lists claim their shape by their first elements: [1000000, 4] here,
      // which used to be allocated before the other rows were found empty.
      const body = `{"inputs": [${JSON.stringify(ROW)}${', []'.repeat(1_000_000)}]}`;

      const reply = await hostile('MLflow inputs claim [1000000, 4]', () =>
        request<MlflowError>(url(`/v1/models/${TENSOR}/invocations`), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toBe(
        'the input is not a regular nested list at [1]: expected a list of 4, got 0',
      );
    });
  });

  describe('body limits', () => {
    it('returns 413 in the MLflow format for a body over API_MAX_BODY_BYTES with Content-Length', async () => {
      const body = ' '.repeat(32 * MIB + 1);

      const reply = await hostile('body over the limit, Content-Length', () =>
        request<MlflowError>(url('/invocations'), { body }),
      );

      expect(reply.status).toBe(413);
      expect(reply.body).toEqual({
        error_code: 'REQUEST_LIMIT_EXCEEDED',
        message:
          "the request body is larger than this route's limit of 33554432 bytes (API_MAX_BODY_BYTES)",
      });
    });

    it('returns 413 in the Open Inference format for a chunked body over the limit', async () => {
      const reply = await hostile('body over the limit, chunked', () =>
        request<OpenInferenceError>(url(`/v2/models/${TENSOR}/infer`), {
          body: chunkedBody(40 * MIB),
        }),
      );

      expect(reply.status).toBe(413);
      expect(reply.body.error).toMatch(/larger than this route's limit of 33554432 bytes/);
    });

    it('returns 413 for a hook body over the few KB hooks take', async () => {
      const body = { padding: 'x'.repeat(20_000) };

      const reply = await hostile('hook body over API_MAX_CONTROL_BODY_BYTES', () =>
        request<{ statusCode: number; message: string }>(url('/v1/hooks/mlflow'), { body }),
      );

      expect(reply.status).toBe(413);
      expect(reply.body.statusCode).toBe(413);
      expect(reply.body.message).toMatch(/limit of 16384 bytes \(API_MAX_CONTROL_BODY_BYTES\)/);
    });
  });

  describe('prototype poisoning', () => {
    it('returns 400 for a __proto__ key in strict JSON (Open Inference)', async () => {
      const body = `{"inputs": [{"name": "float_input", "datatype": "FP32", "shape": [1, 4], "data": ${JSON.stringify(ROW)}}], "__proto__": {"polluted": true}}`;

      const reply = await hostile('__proto__, Open Inference', () =>
        request<OpenInferenceError>(url(`/v2/models/${TENSOR}/infer`), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatch(/'__proto__'.*prototype poisoning/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('returns 400 for constructor.prototype in MLflow JSON', async () => {
      const body = `{"dataframe_split": {"columns": ${JSON.stringify(COLUMNS)}, "data": [${JSON.stringify(ROW)}]}, "constructor": {"prototype": {"polluted": true}}}`;

      const reply = await hostile('constructor.prototype, MLflow', () =>
        request<MlflowError>(url('/invocations'), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(/prototype poisoning/);
    });

    it('returns 400 for a __proto__ key in JSON only the lenient parser takes (NaN)', async () => {
      const body = `{"instances": [[5.1, 3.5, 1.4, NaN]], "\\u005f_proto__": {"polluted": true}}`;

      const reply = await hostile('__proto__ (escaped), MLflow with NaN', () =>
        request<MlflowError>(url(`/v1/models/${TENSOR}/invocations`), { body }),
      );

      expect(reply.status).toBe(400);
      expect(reply.body.message).toMatch(/prototype poisoning/);
    });
  });

  describe('timeouts', () => {
    it('answers 408 and disconnects a client that sends its headers byte by byte', async () => {
      const reply = await hostile('slow headers (slow loris)', async () => {
        const answer = await trickleHeaders(server.url, 100);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
        return { status, headers: new Headers(), body: answer, text: answer };
      });

      expect(reply.status).toBe(408);
    });
  });
});
