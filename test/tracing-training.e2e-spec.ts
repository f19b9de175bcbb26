import { randomBytes } from 'node:crypto';
import { stackEnv } from './support/app';
import { CountingProxy } from './support/counting-proxy';
import { request, waitFor } from './support/http';
import { Instance, startInstance } from './support/instances';
import { OtlpReceiver, ReceivedSpan } from './support/otlp-receiver';
import { freePort } from './support/ports';
import { TrainingStack, startTrainingStack } from './support/training-stack';

const MODEL = 'iris-classifier';
const DAG = 'modelgate_retrain';
const TOKEN = 'tracing-training-callback-token-0123456789';

interface RunView {
  runId: string;
  state: string;
  conf?: Record<string, unknown>;
}

function one(spans: ReceivedSpan[], name: string): ReceivedSpan {
  const named = spans.filter((span) => span.name === name);
  expect(named.map((span) => span.name)).toEqual([name]);
  return named[0];
}

/**
 * One trace across a real DAG run: a caller's traceparent on the training
 * trigger, the run's conf carrying the trigger span's context into a real
 * Airflow, and the DAG's callback continuing that trace in the instance.
 * The instance is `node dist/main.js` (the OTLP exporter's dynamic import()
 * does not run in jest's VM), listening on all interfaces so Airflow reaches
 * it through host.containers.internal, and calling Airflow through a counting
 * proxy that shows what its REST requests carried.
 */
describe('One trace from a training trigger through a real DAG run to its callback', () => {
  let stack: TrainingStack;
  let receiver: OtlpReceiver;
  let proxy: CountingProxy;
  let instance: Instance;

  beforeAll(async () => {
    const apiPort = await freePort();
    stack = await startTrainingStack({ apiPort, callbackToken: TOKEN });
    receiver = new OtlpReceiver();
    const collector = await receiver.start();
    proxy = new CountingProxy(stack.airflowUrl);
    const airflow = await proxy.start();
    instance = await startInstance(
      'traced-training',
      {
        ...stackEnv({ mlflowUrl: stack.mlflowUrl, airflowUrl: airflow }),
        API_CALLBACK_TOKEN: TOKEN,
        TRAINING_DAG_ID: DAG,
        MODELS: `models:/${MODEL}@champion`,
        // Only the callback may bring the new version in: no polling here.
        MODEL_REFRESH_INTERVAL: '0',
        OTEL_TRACES_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'modelgate-e2e',
        // Exports every 100 ms: a test waits for its spans, not for the 5 s default.
        OTEL_BSP_SCHEDULE_DELAY: '100',
      },
      { host: '0.0.0.0', port: apiPort },
    );
    // Airflow's first start can exceed jest's 300 s default on a busy machine.
  }, 600_000);

  afterAll(async () => {
    await instance?.stop();
    await proxy?.stop();
    await receiver?.stop();
    await stack?.stop();
  });

  it('training.trigger is under the caller’s span; the DAG’s callback continues its trace; Airflow’s REST calls carried it', async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const sentBefore = proxy.count;

    const triggered = await request<RunView>(`${instance.url}/v1/training/runs`, {
      body: { conf: { C: 1.0 } },
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });

    expect(triggered.status).toBe(201);
    const run = await waitFor(
      async () =>
        (await request<RunView>(`${instance.url}/v1/training/runs/${DAG}/${triggered.body.runId}`))
          .body,
      (view) => view.state === 'success' || view.state === 'failed',
      240_000,
    );
    expect(run.state).toBe('success');
    const spans = await receiver.waitForSpans(traceId, [
      'POST /v1/training/runs',
      'training.trigger',
      'POST /v1/hooks/airflow',
      'airflow.callback',
    ]);
    const server = one(spans, 'POST /v1/training/runs');
    expect(server.parentSpanId).toBe(callerSpanId);
    const trigger = one(spans, 'training.trigger');
    expect(trigger.parentSpanId).toBe(server.spanId);
    expect(trigger.attributes['modelgate.dag.run_id']).toBe(triggered.body.runId);
    // The conf Airflow kept holds the trigger span's context, and the DAG sent it back.
    expect(run.conf?.traceparent).toBe(`00-${traceId}-${trigger.spanId}-01`);
    const hook = one(spans, 'POST /v1/hooks/airflow');
    expect(hook.parentSpanId).toBe(trigger.spanId);
    expect(one(spans, 'airflow.callback').parentSpanId).toBe(hook.spanId);
    expect(receiver.rejected).toEqual([]);

    // What the trigger asked Airflow carried its trace, one of its spans the parent.
    const sent = proxy.paths
      .slice(sentBefore)
      .map((path, i) => ({ path, traceparent: proxy.headers[sentBefore + i].traceparent }));
    const posts = sent.filter((r) => r.path === `POST /api/v2/dags/${DAG}/dagRuns`);
    expect(posts).toHaveLength(1);
    const spanIds = new Set(spans.map((span) => span.spanId));
    const [, postTrace, postParent] = String(posts[0].traceparent).split('-');
    expect(postTrace).toBe(traceId);
    expect(spanIds.has(postParent)).toBe(true);
  });
});
