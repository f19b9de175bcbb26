import type { DependencyReport, DependencyStatus, FailureKind } from '../health/health.types';
import type { RolloutSide, StatusView } from './status.types';

export interface PageOptions {
  /** Seconds between the page's refreshes. */
  refreshSeconds: number;
  /** Allows the one inline script under the page's Content-Security-Policy. */
  nonce: string;
}

/** One label per kind: a kind without a label does not compile. */
const KIND_LABELS: Record<FailureKind, string> = {
  connection_refused: 'Connection refused',
  connection_reset: 'Connection reset',
  timeout: 'Timed out',
  dns: 'DNS failure',
  tls: 'TLS error',
  network: 'Network unreachable',
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  rejected_host: 'Rejected host header',
  not_found: 'Not found',
  rate_limited: 'Rate limited',
  server_error: 'Server error',
  invalid_response: 'Unexpected answer',
  unhealthy_component: 'Unhealthy component',
  not_checked_yet: 'Not checked yet',
  models_not_ready: 'Models loading',
  model_load_failed: 'Model failed to load',
  draining: 'Draining',
  version_skew: 'Version skew',
  unknown: 'Failed',
};

/** A dependency's pill. */
const STATE_LABELS: Record<DependencyStatus, string> = {
  up: 'UP',
  down: 'DOWN',
  not_configured: 'NOT CONFIGURED',
};

const STATUS_LABELS: Record<string, string> = {
  ok: 'All systems working',
  degraded: 'Serving, with a dependency down',
  starting: 'Starting: models loading',
  unavailable: 'Not ready',
  draining: 'Shutting down',
};

/**
 * The status page: one self-contained HTML document (inline style and script,
 * no external asset) that re-fetches itself every few seconds and swaps its
 * content in, and says so when the API server stops answering.
 */
export function renderStatusPage(view: StatusView, options: PageOptions): string {
  const now = Date.parse(view.generatedAt);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(titleOf(view))}</title>
<noscript><meta http-equiv="refresh" content="${options.refreshSeconds}"></noscript>
<style>${STYLE}</style>
</head>
<body data-status="${esc(view.status)}">
<div id="stale" class="stale" hidden>This page cannot reach the API server since <span></span>: what follows is from then.</div>
${renderMain(view, now)}
<footer>Refreshes every ${options.refreshSeconds} s · <a href="/health/topology">/health/topology</a> · <a href="/v1/models">/v1/models</a> · <a href="/metrics">/metrics</a> · <a href="/docs">/docs</a></footer>
<script nonce="${esc(options.nonce)}">${script(options.refreshSeconds)}</script>
</body>
</html>
`;
}

function titleOf(view: StatusView): string {
  return `${view.status === 'ok' ? '●' : '▲'} ${view.service} — ${view.status}`;
}

function renderMain(view: StatusView, now: number): string {
  return `<main>
<header class="banner ${esc(view.status)}">
  <div>
    <h1>${esc(view.service)} <span class="muted">${esc(view.version)}</span></h1>
    <p class="headline">${esc(STATUS_LABELS[view.status] ?? view.status)}</p>
  </div>
  <div class="right">
    <span class="pill ${view.ready ? 'up' : 'down'}">${view.ready ? 'READY' : 'NOT READY'}</span>
    <p class="muted small">as of <time datetime="${esc(view.generatedAt)}">${esc(clock(view.generatedAt))}</time></p>
  </div>
</header>
<section>
<h2>Servers</h2>
<div class="servers">
${view.servers.map((s) => renderServer(s, now)).join('\n')}
</div>
</section>
<section>
<h2>Models <span class="muted">(${view.models.length})</span></h2>
${renderModels(view)}
</section>
${renderRollouts(view)}<section>
<h2>Recent reloads</h2>
${renderReloads(view, now)}
</section>
</main>`;
}

function renderServer(server: DependencyReport, now: number): string {
  const facts: [string, string][] = [['Target', server.target]];
  if (server.latencyMs !== undefined) facts.push(['Latency', `${server.latencyMs} ms`]);
  if (server.checkedAt && server.name !== 'api')
    facts.push(['Checked', ago(server.checkedAt, now)]);
  facts.push(...serverFacts(server));
  if (server.name !== 'api') {
    facts.push(['Last success', server.lastSuccess ? ago(server.lastSuccess, now) : 'never']);
  }
  const failure = server.failure
    ? `<div class="failure">
  <p class="kind">${esc(KIND_LABELS[server.failure.kind] ?? server.failure.kind)}</p>
  <p class="hint">${esc(server.failure.hint)}</p>
  <p class="error">${esc(server.failure.message)}</p>
</div>`
    : '';
  return `<article class="server ${server.status}" data-server="${esc(server.name)}" data-state="${server.status}">
  <div class="server-head">
    <h3>${esc(server.displayName)}</h3>
    <span class="pill ${server.status}">${STATE_LABELS[server.status]}</span>
  </div>
  <dl>${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>
  ${failure}
</article>`;
}

/** `off`, or the gRPC listener's state and port (`listening on :8001, TLS on`). */
function grpcFact(grpc: unknown): string {
  if (typeof grpc === 'string') return grpc;
  if (!grpc || typeof grpc !== 'object') return 'off';
  const { state, port, tls } = grpc as { state?: string; port?: number; tls?: string };
  return `${state ?? 'unknown'} on :${port ?? '?'}${tls ? `, TLS ${tls}` : ''}`;
}

/** What each server's check saw, in a line or two. */
function serverFacts(server: DependencyReport): [string, string][] {
  const d = server.details;
  const text = (value: unknown): string =>
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
      ? String(value)
      : '';
  const facts: [string, string][] = [];
  if (server.name === 'api') {
    const models = (d.models as { version?: string }[] | undefined) ?? [];
    facts.push(['Version', text(d.version)]);
    facts.push(['Models serving', `${models.filter((m) => m.version).length} of ${models.length}`]);
    facts.push(['Requests in flight', text(d.inFlightRequests ?? 0)]);
    facts.push(['Up for', duration(Number(d.uptimeSeconds ?? 0))]);
    facts.push(['gRPC', grpcFact(d.grpc)]);
  }
  if (server.name === 'mlflow') {
    if (d.version) facts.push(['Version', text(d.version)]);
    if (d.health !== undefined) facts.push(['/health', text(d.health)]);
    if (d.registry !== undefined) facts.push(['Registry', text(d.registry)]);
  }
  if (server.name === 'airflow') {
    const components = (d.components ?? {}) as Record<string, { status: string }>;
    for (const [name, c] of Object.entries(components)) facts.push([name, c.status]);
    if (d.authenticated) facts.push(['API login', 'ok']);
  }
  return facts;
}

function renderModels(view: StatusView): string {
  if (view.models.length === 0)
    return '<p class="muted">No model is loaded or configured (MODELS is empty).</p>';
  const rows = view.models.map(
    (m) => `<tr data-model="${esc(m.reference)}">
  <td><code>${esc(m.reference)}</code>${m.pinned ? ' <span class="tag">MODELS</span>' : ''}${m.challenger ? ' <span class="tag">challenger</span>' : ''}</td>
  <td><span class="pill small ${m.state === 'ready' ? 'up' : m.state === 'failed' ? 'down' : 'wait'}">${esc(m.state)}</span></td>
  <td>${m.version ? `v${esc(m.version)}` : '—'}${m.veto ? `<div class="error small">v${esc(m.veto.version)} vetoed: ${esc(m.veto.reason)}</div>` : ''}</td>
  <td>${esc([m.flavor, m.runtime].filter(Boolean).join(' / ') || '—')}${m.runtimeReason ? `<div class="muted small">${esc(m.runtimeReason)}</div>` : ''}</td>
  <td class="num">${m.requests ?? '—'}</td>
  <td>${m.loadedAt ? esc(clock(m.loadedAt)) : '—'}</td>
  <td>${renderLineage(m.lineage)}</td>
  <td class="error">${m.error && m.state !== 'ready' ? esc(m.error) : ''}</td>
</tr>`,
  );
  return `<table><thead><tr><th>Reference</th><th>State</th><th>Version</th><th>Flavor / runtime</th><th class="num">Requests</th><th>Loaded</th><th>Trained by</th><th>Last error</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

/** Champion and challenger side by side, with the share the challenger gets; nothing when no model has a rollout. */
function renderRollouts(view: StatusView): string {
  const rollouts = view.rollouts ?? [];
  if (rollouts.length === 0) return '';
  const side = (s: RolloutSide) =>
    `<code>@${esc(s.alias)}</code> ${s.version ? `v${esc(s.version)}` : '—'}` +
    (s.state && s.state !== 'ready'
      ? ` <span class="pill small ${s.state === 'failed' ? 'down' : 'wait'}">${esc(s.state)}</span>`
      : '') +
    (s.error && s.state !== 'ready' ? `<div class="error small">${esc(s.error)}</div>` : '');
  const rows = rollouts.map(
    (r) => `<tr data-rollout="${esc(r.name)}">
  <td><code>${esc(r.name)}</code></td>
  <td>${esc(r.mode)}</td>
  <td>${side(r.champion)}</td>
  <td>${side(r.challenger)}</td>
  <td class="num">${r.mode === 'canary' ? `${esc(r.percent)}%` : 'copy only'}</td>
  <td>${esc(r.source)}${r.problems.map((p) => `<div class="error small">${esc(p)}</div>`).join('')}</td>
</tr>`,
  );
  return `<section>
<h2>Rollouts <span class="muted">(${rollouts.length})</span></h2>
<table><thead><tr><th>Model</th><th>Mode</th><th>Champion</th><th>Challenger</th><th class="num">Challenger answers</th><th>From</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>
</section>
`;
}

/** Links to the version's run in MLflow and to the DAG run in Airflow that trained it. */
function renderLineage(lineage: StatusView['models'][number]['lineage']): string {
  if (!lineage?.runId) return '—';
  const link = (url: string | undefined, label: string, kind: string) =>
    url && /^https?:\/\//.test(url)
      ? `<a data-link="${kind}" href="${esc(url)}">${esc(label)}</a>`
      : esc(label);
  const run = link(lineage.mlflowRunUrl, `run ${lineage.runId.slice(0, 8)}`, 'mlflow-run');
  const dag = lineage.dagRunId
    ? ` · ${link(lineage.airflowRunUrl, `DAG run ${lineage.dagRunId}`, 'airflow-run')}`
    : '';
  return run + dag;
}

function renderReloads(view: StatusView, now: number): string {
  if (view.reloads.length === 0) return '<p class="muted">No reload yet.</p>';
  const rows = view.reloads.map(
    (r) => `<tr>
  <td title="${esc(r.at)}">${esc(ago(r.at, now))}</td>
  <td><code>${esc(r.reference)}</code></td>
  <td><span class="pill small ${r.status === 'failed' ? 'down' : 'up'}">${esc(r.status)}</span></td>
  <td>${esc(versions(r.from, r.to))}</td>
  <td>${esc(r.trigger)}</td>
  <td class="error">${r.error ? esc(r.error) : ''}</td>
</tr>`,
  );
  return `<table><thead><tr><th>When</th><th>Reference</th><th>Outcome</th><th>Version</th><th>Trigger</th><th>Error</th></tr></thead>
<tbody>${rows.join('\n')}</tbody></table>`;
}

function versions(from?: string, to?: string): string {
  if (from && to && from !== to) return `v${from} → v${to}`;
  if (to) return `v${to}`;
  return from ? `v${from}` : '—';
}

function ago(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return seconds < 2 ? 'just now' : `${duration(seconds)} ago`;
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  if (seconds < 86400)
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  return `${Math.floor(seconds / 86400)} d ${Math.floor((seconds % 86400) / 3600)} h`;
}

/** HH:MM:SS UTC, or the date too when not today. */
function clock(iso: string): string {
  return `${iso.slice(0, 19).replace('T', ' ')} UTC`;
}

/** HTML-escapes text and attribute values. */
export function esc(value: string | number | undefined): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Re-fetches the page and swaps <main>; marks the page stale when the server does not answer. */
function script(refreshSeconds: number): string {
  return `(function () {
  var every = ${Math.max(1, refreshSeconds) * 1000};
  var stale = document.getElementById('stale');
  var lostAt = null;
  function tick() {
    fetch(location.pathname, { cache: 'no-store', headers: { accept: 'text/html' } })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, 'text/html');
        var main = next.querySelector('main');
        if (!main) throw new Error('no main');
        document.querySelector('main').replaceWith(document.adoptNode(main));
        document.title = next.title;
        document.body.dataset.status = next.body.dataset.status;
        lostAt = null;
        stale.hidden = true;
      })
      .catch(function () {
        lostAt = lostAt || new Date();
        stale.querySelector('span').textContent = lostAt.toLocaleTimeString();
        stale.hidden = false;
      })
      .finally(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();`;
}

const STYLE = `
:root { --up:#1a7f37; --down:#cf222e; --warn:#9a6700; --wait:#6e7781; --line:#d0d7de; --bg:#f6f8fa; --ink:#1f2328; --muted:#656d76; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif; color:var(--ink); background:var(--bg); }
main { max-width:1200px; margin:0 auto; padding:20px; }
h1 { font-size:22px; margin:0; } h2 { font-size:16px; margin:24px 0 10px; } h3 { font-size:15px; margin:0; }
.muted { color:var(--muted); font-weight:normal; } .small { font-size:12px; }
.banner { display:flex; justify-content:space-between; align-items:center; padding:16px 20px; border-radius:8px; color:#fff; background:var(--up); }
.banner.degraded { background:var(--warn); } .banner.unavailable, .banner.draining { background:var(--down); } .banner.starting { background:var(--wait); }
.banner .muted { color:rgba(255,255,255,.8); } .banner .headline { margin:4px 0 0; font-size:16px; }
.banner .right { text-align:right; } .banner .right p { margin:6px 0 0; }
.banner .pill.up, .banner .pill.down { background:#fff; } .banner .pill.up { color:var(--up); } .banner .pill.down { color:var(--down); }
.pill { display:inline-block; padding:2px 10px; border-radius:999px; font-weight:600; font-size:12px; letter-spacing:.04em; color:#fff; }
.pill.up { background:var(--up); } .pill.down { background:var(--down); } .pill.wait { background:var(--wait); } .pill.small { padding:1px 8px; font-size:11px; }
.servers { display:grid; grid-template-columns:repeat(auto-fit,minmax(320px,1fr)); gap:14px; align-items:start; }
.server { background:#fff; border:1px solid var(--line); border-top:4px solid var(--up); border-radius:8px; padding:14px 16px; }
.server.down { border-top-color:var(--down); }
.server-head { display:flex; justify-content:space-between; align-items:center; margin-bottom:8px; }
dl { display:grid; grid-template-columns:max-content 1fr; gap:3px 12px; margin:0; }
dt { color:var(--muted); } dd { margin:0; overflow-wrap:anywhere; }
.failure { margin-top:10px; padding:10px 12px; background:#fff1f0; border:1px solid #ffcecb; border-radius:6px; }
.failure p { margin:0 0 4px; } .failure .kind { font-weight:700; color:var(--down); }
.failure .error { font-family:ui-monospace,"DejaVu Sans Mono",monospace; font-size:12px; color:var(--muted); overflow-wrap:anywhere; margin:0; }
table { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:8px; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); vertical-align:top; }
th { background:#f0f3f6; font-weight:600; } .num { text-align:right; }
td.error { color:var(--down); font-size:12px; max-width:360px; overflow-wrap:anywhere; }
code { font-family:ui-monospace,"DejaVu Sans Mono",monospace; font-size:13px; }
.tag { font-size:10px; padding:1px 5px; border:1px solid var(--line); border-radius:4px; color:var(--muted); }
.stale { background:#fff8c5; border-bottom:1px solid #d4a72c; padding:8px 20px; text-align:center; font-weight:600; }
footer { max-width:1200px; margin:0 auto; padding:0 20px 30px; color:var(--muted); font-size:12px; }
a { color:#0969da; }
`;
