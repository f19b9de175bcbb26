import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stackEnv } from './support/app';
import { CountingProxy } from './support/counting-proxy';
import { TestGrpcClient } from './support/grpc-client';
import { request, waitFor } from './support/http';
import { Instance, startInstance } from './support/instances';
import { OtlpReceiver, ReceivedSpan } from './support/otlp-receiver';
import { registerDemoModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

/** OTLP's SpanKind.SERVER. */
const SERVER = 2;
const CALLBACK_TOKEN = 'tracing-e2e-callback-token-0123456789';
const ROW = [5.1, 3.5, 1.4, 0.2];

/** A caller's span: a W3C traceparent with fresh ids, sampled. */
function callerSpan(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const named = spans.filter((span) => span.name === name);
  expect(named.map((span) => span.name)).toEqual([name]);
  return named[0];
}

/** The names of `parent`'s children, sorted. */
function childrenOf(spans: ReceivedSpan[], parent: ReceivedSpan): string[] {
  return spans
    .filter((span) => span.parentSpanId === parent.spanId)
    .map((span) => span.name)
    .sort();
}

/**
 * Tracing end to end: a real instance (`node dist/main.js`: the OTLP
 * exporter's dynamic import() does not run in jest's VM) with
 * OTEL_TRACES_EXPORTER=otlp, posting to an OTLP/HTTP receiver this test
 * runs, the shared real MLflow behind a counting proxy that sees what the
 * instance sends it. Every trace is started by the test as a caller would,
 * with its own traceparent.
 */
describe('OpenTelemetry traces of predictions, reloads and the DAG callback', () => {
  const MODEL = `traced-${Date.now()}`;
  let stack: StackInfo;
  let receiver: OtlpReceiver;
  let proxy: CountingProxy;
  let instance: Instance;
  let dir: string;
  let grpc: TestGrpcClient;
  let versions: string[];

  const setAlias = async (version: string) => {
    const reply = await request(`${stack.mlflowUrl}/api/2.0/mlflow/registered-models/alias`, {
      body: { name: MODEL, alias: 'champion', version },
    });
    expect(reply.status).toBe(200);
  };

  beforeAll(async () => {
    stack = sharedStack();
    versions = [
      (
        await registerDemoModel(stack.mlflowUrl, {
          name: MODEL,
          signature: 'tensor',
          alias: 'champion',
        })
      ).version,
      (
        await registerDemoModel(stack.mlflowUrl, {
          name: MODEL,
          signature: 'tensor',
          c: 0.1,
          alias: null,
        })
      ).version,
    ];
    receiver = new OtlpReceiver();
    const collector = await receiver.start();
    proxy = new CountingProxy(stack.mlflowUrl);
    const mlflow = await proxy.start();
    dir = await mkdtemp(path.join(tmpdir(), 'mg-tracing-'));
    instance = await startInstance('traced-1', {
      ...stackEnv(stack),
      MLFLOW_TRACKING_URI: mlflow,
      MODELS: `models:/${MODEL}@champion`,
      MODEL_CACHE_DIR: dir,
      MODEL_REFRESH_INTERVAL: '3600',
      MODEL_DRAIN_TIMEOUT: '2',
      API_CALLBACK_TOKEN: CALLBACK_TOKEN,
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'modelgate-e2e',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=e2e',
      // Exports every 100 ms: a test waits for its spans, not for the 5 s default.
      OTEL_BSP_SCHEDULE_DELAY: '100',
      LOG_LEVEL: 'log',
    });
    await waitFor(
      () => request(`${instance.url}/v2/health/ready`),
      (r) => r.status === 200,
      120_000,
    );
    grpc = new TestGrpcClient(`127.0.0.1:${instance.grpcPort}`);
  });

  afterAll(async () => {
    grpc?.close();
    await instance?.stop();
    await proxy?.stop();
    await receiver?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  afterEach(() => {
    expect(receiver.rejected).toEqual([]);
  });

  const PROTOCOLS = [
    {
      protocol: 'open-inference-rest',
      route: 'POST /v2/models/:name/infer',
      send: (traceparent: string) =>
        request(`${instance.url}/v2/models/${MODEL}/infer`, {
          body: { inputs: [{ name: 'float_input', shape: [1, 4], datatype: 'FP32', data: ROW }] },
          headers: { traceparent },
        }),
    },
    {
      protocol: 'mlflow-scoring',
      route: 'POST /v1/models/:ref/invocations',
      send: (traceparent: string) =>
        request(`${instance.url}/v1/models/${MODEL}/invocations`, {
          body: { inputs: [ROW] },
          headers: { traceparent },
        }),
    },
  ];

  it.each(PROTOCOLS)(
    '$protocol: a prediction is a server span under the caller’s, with predict and its decode, queue, run and encode',
    async ({ protocol, route, send }) => {
      const caller = callerSpan();

      const reply = await send(caller.traceparent);

      expect(reply.status).toBe(200);
      const spans = await receiver.waitForSpans(caller.traceId, [
        route,
        'predict',
        'decode',
        'queue',
        'run',
        'encode',
      ]);
      const server = one(spans, route);
      expect(server.parentSpanId).toBe(caller.spanId);
      expect(server.kind).toBe(SERVER);
      expect(server.attributes['http.response.status_code']).toBe(200);
      expect(server.resource['service.name']).toBe('modelgate-e2e');
      expect(server.resource['deployment.environment.name']).toBe('e2e');
      const predict = one(spans, 'predict');
      expect(predict.parentSpanId).toBe(server.spanId);
      expect(predict.attributes).toMatchObject({
        'modelgate.protocol': protocol,
        'modelgate.model.name': MODEL,
        'modelgate.model.version': versions[0],
      });
      expect(childrenOf(spans, predict)).toEqual(['decode', 'encode', 'queue', 'run']);
      expect(one(spans, 'run').attributes['modelgate.batch.requests']).toBe(1);
    },
  );

  it('a gRPC ModelInfer is a server span under the caller’s traceparent metadata, with predict and its children', async () => {
    const caller = callerSpan();

    const outcome = await grpc.call(
      'ModelInfer',
      {
        model_name: MODEL,
        inputs: [
          {
            name: 'float_input',
            datatype: 'FP32',
            shape: [1, 4],
            contents: { fp32_contents: ROW },
          },
        ],
      },
      { metadata: { traceparent: caller.traceparent } },
    );

    expect(outcome.error).toBeUndefined();
    const name = 'inference.GRPCInferenceService/ModelInfer';
    const spans = await receiver.waitForSpans(caller.traceId, [name, 'predict', 'run', 'encode']);
    const server = one(spans, name);
    expect(server.parentSpanId).toBe(caller.spanId);
    expect(server.kind).toBe(SERVER);
    expect(server.attributes['rpc.grpc.status_code']).toBe(0);
    const predict = one(spans, 'predict');
    expect(predict.parentSpanId).toBe(server.spanId);
    expect(predict.attributes['modelgate.protocol']).toBe('open-inference-grpc');
    expect(childrenOf(spans, predict)).toEqual(['decode', 'encode', 'queue', 'run']);
  });

  it('a request without traceparent starts a trace of its own, and probes make no spans', async () => {
    const before = receiver.spans.length;

    const reply = await request(`${instance.url}/v2/models/${MODEL}`);
    await request(`${instance.url}/health/ready`);

    expect(reply.status).toBe(200);
    const [server] = await waitFor(
      () =>
        Promise.resolve(
          receiver.spans.slice(before).filter((s) => s.name === 'GET /v2/models/:name'),
        ),
      (found) => found.length === 1,
      20_000,
      100,
    );
    expect(server.parentSpanId).toBe('');
    expect(receiver.spans.some((s) => s.name.includes('/health/'))).toBe(false);
  });

  it('a reload is traced under the caller’s span (resolve, download, load, warm, swap), and its MLflow calls carry the trace', async () => {
    await setAlias(versions[1]);
    const caller = callerSpan();
    const sentBefore = proxy.headers.length;

    const reply = await request<{ outcomes: { status: string; to: string }[] }>(
      `${instance.url}/v1/models/${MODEL}/reload`,
      { method: 'POST', headers: { traceparent: caller.traceparent } },
    );

    expect(reply.status).toBe(200);
    expect(reply.body.outcomes).toEqual([
      expect.objectContaining({ status: 'swapped', to: versions[1] }),
    ]);
    const spans = await receiver.waitForSpans(caller.traceId, [
      'POST /v1/models/:name/reload',
      'reload',
      'resolve',
      'download',
      'load',
      'warm',
      'swap',
    ]);
    const server = one(spans, 'POST /v1/models/:name/reload');
    expect(server.parentSpanId).toBe(caller.spanId);
    const reload = one(spans, 'reload');
    expect(reload.parentSpanId).toBe(server.spanId);
    expect(reload.attributes).toMatchObject({
      'modelgate.reload.status': 'swapped',
      'modelgate.reload.to': versions[1],
    });
    expect(childrenOf(spans, reload)).toEqual(['download', 'load', 'resolve', 'swap', 'warm']);
    for (const name of ['download', 'load', 'warm']) {
      expect(one(spans, name).attributes['modelgate.model.version']).toBe(versions[1]);
    }
    // What the reload asked MLflow carried its trace, with one of its spans as the parent
    // (the background health checks, in no trace, send none).
    const sent = proxy.paths
      .slice(sentBefore)
      .map((path, i) => ({ path, traceparent: proxy.headers[sentBefore + i].traceparent }));
    const resolves = sent.filter((r) => r.path.endsWith('/registered-models/alias'));
    expect(resolves.length).toBeGreaterThan(0);
    const traced = sent.filter((r) => r.traceparent !== undefined);
    expect(traced.length).toBeGreaterThanOrEqual(resolves.length);
    const spanIds = new Set(spans.map((span) => span.spanId));
    for (const { traceparent } of [...resolves, ...traced]) {
      const [, traceId, parentId] = String(traceparent).split('-');
      expect(traceId).toBe(caller.traceId);
      expect(spanIds.has(parentId)).toBe(true);
    }
  });

  it('the DAG’s callback with the run’s traceparent continues that trace: airflow.callback and its reload under it', async () => {
    await setAlias(versions[0]);
    const trigger = callerSpan();

    const reply = await request(`${instance.url}/v1/hooks/airflow`, {
      apiKey: null,
      body: {
        event: 'model_version_ready',
        dag_id: 'modelgate_retrain',
        dag_run_id: `manual__traced-${Date.now()}`,
        model_name: MODEL,
        version: versions[0],
        alias: 'champion',
        promoted: true,
      },
      headers: { authorization: `Bearer ${CALLBACK_TOKEN}`, traceparent: trigger.traceparent },
    });

    expect(reply.status).toBeLessThan(300);
    const spans = await receiver.waitForSpans(trigger.traceId, [
      'POST /v1/hooks/airflow',
      'airflow.callback',
      'reload',
      'swap',
    ]);
    const server = one(spans, 'POST /v1/hooks/airflow');
    expect(server.parentSpanId).toBe(trigger.spanId);
    const callback = one(spans, 'airflow.callback');
    expect(callback.parentSpanId).toBe(server.spanId);
    expect(one(spans, 'reload').parentSpanId).toBe(callback.spanId);
  });
});
