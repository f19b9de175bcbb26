import { renderStatusPage } from './status.page';
import { StatusView } from './status.types';

const NOW = '2025-03-01T12:00:00.000Z';

function view(overrides: Partial<StatusView> = {}): StatusView {
  return {
    service: 'modelgate',
    version: '1.2.3',
    status: 'degraded',
    ready: true,
    generatedAt: NOW,
    servers: [
      {
        name: 'api',
        displayName: 'API server',
        target: 'this process',
        status: 'up',
        consecutiveFailures: 0,
        details: {
          version: '1.2.3',
          uptimeSeconds: 75,
          inFlightRequests: 1,
          models: [{ version: '3' }],
          grpc: { state: 'listening', host: '0.0.0.0', port: 8001, tls: 'on' },
        },
      },
      {
        name: 'airflow',
        displayName: 'Airflow',
        target: 'http://airflow:8080',
        status: 'down',
        checkedAt: '2025-03-01T11:59:55.000Z',
        latencyMs: 3.2,
        consecutiveFailures: 4,
        details: {},
        failure: {
          kind: 'connection_refused',
          hint: 'Airflow is not running on airflow:8080',
          message: 'airflow: GET /api/v2/version: connection refused (ECONNREFUSED)',
        },
      },
    ],
    models: [
      {
        reference: 'iris@champion',
        pinned: true,
        state: 'ready',
        version: '3',
        runtime: 'onnx',
        flavor: 'onnx',
        requests: 12,
        loadedAt: '2025-03-01T11:58:00.000Z',
      },
    ],
    reloads: [
      {
        at: '2025-03-01T11:59:00.000Z',
        reference: 'iris@champion',
        status: 'swapped',
        from: '2',
        to: '3',
        trigger: 'airflow callback',
      },
    ],
    ...overrides,
  };
}

describe('renderStatusPage', () => {
  const options = { refreshSeconds: 5, nonce: 'n0nce' };

  it('shows each server with its state, the failure kind and hint', () => {
    const html = renderStatusPage(view(), options);

    expect(html).toContain('data-server="airflow" data-state="down"');
    expect(html).toContain('Connection refused');
    expect(html).toContain('Airflow is not running on airflow:8080');
    expect(html).toContain('3.2 ms');
    expect(html).toContain('5 s ago');
    expect(html).toContain('Serving, with a dependency down');
    expect(html).toContain('listening on :8001, TLS on');
  });

  it('lists loaded models and recent reloads', () => {
    const html = renderStatusPage(view(), options);

    expect(html).toContain('data-model="iris@champion"');
    expect(html).toContain('v2 → v3');
    expect(html).toContain('airflow callback');
  });

  it('shows a version the rollout watch vetoed, and why, beside the version that serves', () => {
    const html = renderStatusPage(
      view({
        models: [
          {
            reference: 'iris@champion',
            pinned: true,
            state: 'ready',
            version: '3',
            veto: { version: '4', reason: 'error rate 1.000 <against> 0.000 before' },
          },
        ],
      }),
      options,
    );

    expect(html).toContain('v4 vetoed: error rate 1.000 &lt;against&gt; 0.000 before');
  });

  it('links a served version to its MLflow run and the Airflow DAG run that trained it', () => {
    const html = renderStatusPage(
      view({
        models: [
          {
            reference: 'iris@champion',
            pinned: true,
            state: 'ready',
            version: '3',
            lineage: {
              runId: 'abcdef0123456789',
              mlflowRunUrl: 'http://mlflow:5000/#/experiments/1/runs/abcdef0123456789',
              dagRunId: 'manual__1',
              airflowRunUrl: 'http://airflow:8080/dags/modelgate_retrain/runs/manual__1',
            },
          },
        ],
      }),
      options,
    );

    expect(html).toContain(
      '<a data-link="mlflow-run" href="http://mlflow:5000/#/experiments/1/runs/abcdef0123456789">run abcdef01</a>',
    );
    expect(html).toContain(
      '<a data-link="airflow-run" href="http://airflow:8080/dags/modelgate_retrain/runs/manual__1">DAG run manual__1</a>',
    );
  });

  it('does not link a URL that is not http(s)', () => {
    const html = renderStatusPage(
      view({
        models: [
          {
            reference: 'iris@champion',
            pinned: true,
            state: 'ready',
            lineage: { runId: 'r1', mlflowRunUrl: 'javascript:alert(1)' },
          },
        ],
      }),
      options,
    );

    expect(html).not.toContain('javascript:');
    expect(html).toContain('run r1');
  });

  it('has no external asset and one inline script, allowed by its nonce', () => {
    const html = renderStatusPage(view(), options);

    expect(html).not.toMatch(/<(link|img|iframe)\b/);
    expect(html).not.toMatch(/src="/);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain('<script nonce="n0nce">');
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
  });

  it('escapes text that comes from outside', () => {
    const html = renderStatusPage(
      view({
        models: [
          {
            reference: '<img src=x onerror=alert(1)>',
            pinned: false,
            state: 'failed',
            error: '"><b>',
          },
        ],
      }),
      options,
    );

    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&quot;&gt;&lt;b&gt;');
  });

  it('says when there is nothing to show', () => {
    const html = renderStatusPage(view({ models: [], reloads: [] }), options);

    expect(html).toContain('No model is loaded');
    expect(html).toContain('No reload yet.');
  });

  it('shows each rollout: both sides with their versions, and the share the challenger answers', () => {
    const html = renderStatusPage(
      view({
        rollouts: [
          {
            name: 'iris',
            mode: 'canary',
            percent: 25,
            source: 'settings+tags',
            champion: {
              alias: 'champion',
              reference: 'iris@champion',
              version: '3',
              state: 'ready',
            },
            challenger: {
              alias: 'challenger',
              reference: 'iris@challenger',
              state: 'failed',
              error: 'alias not found',
            },
            problems: ['modelgate.shadow="maybe" is neither true nor false'],
          },
          {
            name: 'fraud',
            mode: 'shadow',
            percent: 10,
            source: 'tags',
            champion: {
              alias: 'champion',
              reference: 'fraud@champion',
              version: '1',
              state: 'ready',
            },
            challenger: { alias: 'next', reference: 'fraud@next', version: '2', state: 'ready' },
            problems: [],
          },
        ],
      }),
      options,
    );

    expect(html).toContain('Rollouts <span class="muted">(2)</span>');
    const iris = html.slice(
      html.indexOf('data-rollout="iris"'),
      html.indexOf('data-rollout="fraud"'),
    );
    expect(iris).toContain('<code>@champion</code> v3');
    expect(iris).toContain('alias not found');
    expect(iris).toContain('25%');
    expect(iris).toContain('modelgate.shadow=&quot;maybe&quot;');
    expect(html.slice(html.indexOf('data-rollout="fraud"'))).toContain('copy only');
  });

  it('has no rollouts section when no model has one', () => {
    expect(renderStatusPage(view({ rollouts: [] }), options)).not.toContain('Rollouts');
  });
});
