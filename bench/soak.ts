/**
 * The soak of issue 15 ("Done when"), run by bench/soak.sh against a running
 * Modelgate (workers and batching on): first the maximum, then a long run at
 * a fraction of it with reloads to a new version at a fixed interval.
 *
 *   node soak.js --url http://127.0.0.1:PORT --pid PID --model NAME \
 *     --tracking-uri URI --versions 1,2 --duration 600 --reload-every 60 \
 *     --window 60 --out-dir bench/results [--dataset rows.json] [--connections 16] \
 *     [--max-seconds 10] [--fraction 0.7] [--sample-every 5] [--meta meta.json]
 *
 * 1. Maximum: autocannon, 1-row MLflow scoring bodies, --connections, for
 *    --max-seconds (the same generator as the soak, so the fraction is of what
 *    it can drive here).
 * 2. Soak: autocannon at --fraction × that maximum (overallRate) for
 *    --duration seconds. Meanwhile, every --reload-every seconds: the alias
 *    `champion` is moved to the next of --versions in MLflow, then
 *    `POST /v1/models/NAME/reload`; the reload counts when it answers
 *    `swapped` to that version and --probes answers [8] on new connections
 *    (spread over the workers) all carry it in `x-model-version` within 30 s. Every
 *    --sample-every seconds: the RSS of the server's process tree (per
 *    process too) and GET /metrics' `nodejs_eventloop_lag_p99_seconds` (the
 *    highest series when there are several; prom-client's cluster aggregator
 *    averages this gauge over workers; prom-client resets its histogram at
 *    each scrape, so a sample is the p99 since the last one).
 * 3. Verdicts: 0 failed requests (non-2xx, errors, timeouts); mean RSS of the
 *    last --window seconds within 10% of the first --window's; every reload
 *    swapped and reached every answer; event-loop delay p99 reported.
 * Results: <out-dir>/soak-<timestamp>.{md,json} and soak-latest.{md,json}.
 */
import autocannon from 'autocannon';
import { request as httpRequestRaw } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from './dataset';
import { httpRequest } from './http-requests';
import { assertLoopback } from './loopback';
import { loadAverageNow, metaText, readMeta } from './machine';
import { roundTo } from './measurement';
import { processTree, treeRssKiB } from './memory';

interface Options {
  url: string;
  pid: number;
  model: string;
  trackingUri: string;
  versions: string[];
  duration: number;
  reloadEvery: number;
  window: number;
  outDir: string;
  dataset?: string;
  connections: number;
  maxSeconds: number;
  fraction: number;
  sampleEvery: number;
  /** Answers on fresh connections that must all carry a new version (≥ 2 per worker). */
  probes: number;
  meta?: string;
}

interface Sample {
  atSec: number;
  rssMiB: number;
  processes: number;
  eventLoopP99Ms?: number;
}

interface Reload {
  atSec: number;
  to: string;
  status: string;
  seconds: number;
  /** Seconds from the reload's answer until every answer carried the new version; null = never (30 s). */
  reachedAllSec: number | null;
  ok: boolean;
  detail?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One POST on a fresh connection (so cluster workers take turns): the answering version. */
function versionOnce(url: URL, body: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = httpRequestRaw(
      {
        host: url.hostname,
        port: url.port,
        path: '/invocations',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 10_000,
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          resolve(res.statusCode === 200 ? (res.headers['x-model-version'] as string) : undefined),
        );
      },
    );
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
    req.end(body);
  });
}

async function eventLoopP99Ms(base: string): Promise<number | undefined> {
  try {
    const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5_000) });
    const text = await r.text();
    const values = text
      .split('\n')
      .filter((l) => l.startsWith('nodejs_eventloop_lag_p99_seconds'))
      .map((l) => Number(l.trim().split(/\s+/).pop()));
    const finite = values.filter(Number.isFinite);
    return finite.length ? roundTo(Math.max(...finite) * 1000, 2) : undefined;
  } catch {
    return undefined;
  }
}

async function moveAlias(options: Options, version: string): Promise<void> {
  const r = await fetch(`${options.trackingUri}/api/2.0/mlflow/registered-models/alias`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: options.model, alias: 'champion', version }),
    signal: AbortSignal.timeout(10_000),
  });
  if (r.status !== 200) throw new Error(`MLflow set alias answered ${r.status}: ${await r.text()}`);
}

async function reload(
  options: Options,
  version: string,
  atSec: number,
  body: string,
): Promise<Reload> {
  const t0 = performance.now();
  try {
    await moveAlias(options, version);
    const r = await fetch(`${options.url}/v1/models/${options.model}/reload`, {
      method: 'POST',
      signal: AbortSignal.timeout(120_000),
    });
    const answer = (await r.json()) as {
      outcomes?: { status: string; to?: string; error?: string }[];
    };
    const seconds = roundTo((performance.now() - t0) / 1000, 2);
    const outcome = answer.outcomes?.find((o) => o.to === version) ?? answer.outcomes?.[0];
    const status = `${r.status} ${outcome?.status ?? 'no outcome'}`;
    if (r.status !== 200 || outcome?.status !== 'swapped' || outcome.to !== version) {
      return {
        atSec,
        to: version,
        status,
        seconds,
        reachedAllSec: null,
        ok: false,
        detail: JSON.stringify(answer),
      };
    }
    // Every answer carries the new version: --probes in a row on fresh connections.
    const url = new URL(options.url);
    const t1 = performance.now();
    while (performance.now() - t1 < 30_000) {
      const seen = await Promise.all(
        Array.from({ length: options.probes }, () => versionOnce(url, body)),
      );
      if (seen.every((v) => v === version)) {
        return {
          atSec,
          to: version,
          status,
          seconds,
          reachedAllSec: roundTo((performance.now() - t1) / 1000, 2),
          ok: true,
        };
      }
      await sleep(250);
    }
    return {
      atSec,
      to: version,
      status,
      seconds,
      reachedAllSec: null,
      ok: false,
      detail: 'answers did not all carry the new version within 30 s',
    };
  } catch (error) {
    return {
      atSec,
      to: version,
      status: 'error',
      seconds: roundTo((performance.now() - t0) / 1000, 2),
      reachedAllSec: null,
      ok: false,
      detail: String(error),
    };
  }
}

function mean(values: number[]): number | null {
  return values.length ? roundTo(values.reduce((a, b) => a + b, 0) / values.length, 1) : null;
}

function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const options = parseOptions();
  const request = httpRequest('mlflow', loadDataset(options.dataset), 1, '');
  const body = request.body as string;
  const target = `${options.url}/invocations`;
  const base = {
    url: target,
    method: 'POST',
    headers: request.headers,
    body,
    connections: options.connections,
    pipelining: 1,
    timeout: 30,
  };

  console.log(`[soak] maximum: ${options.maxSeconds} s at ${options.connections} connections`);
  const max = await autocannon({ ...base, duration: options.maxSeconds });
  const maxRate = max.requests.total / max.duration;
  const rate = Math.max(1, Math.floor(maxRate * options.fraction));
  console.log(
    `[soak] maximum ${roundTo(maxRate, 1)} req/s (non-2xx ${max.non2xx}, errors ${max.errors}); soak at ${rate} req/s for ${options.duration} s, reload every ${options.reloadEvery} s`,
  );

  const started = performance.now();
  const now = () => (performance.now() - started) / 1000;
  const samples: Sample[] = [];
  const reloads: Reload[] = [];
  let running = true;
  const soak = autocannon({ ...base, duration: options.duration, overallRate: rate });
  const sampler = (async () => {
    while (running) {
      samples.push({
        atSec: roundTo(now(), 1),
        rssMiB: roundTo(treeRssKiB(options.pid) / 1024, 1),
        processes: processTree(options.pid).length,
        eventLoopP99Ms: await eventLoopP99Ms(options.url),
      });
      await sleep(options.sampleEvery * 1000);
    }
  })();
  const reloader = (async () => {
    let next = 0;
    for (let at = options.reloadEvery; at < options.duration; at += options.reloadEvery) {
      while (running && now() < at) await sleep(200);
      if (!running) break;
      const version = options.versions[next++ % options.versions.length];
      const r = await reload(options, version, roundTo(now(), 1), body);
      reloads.push(r);
      console.log(
        `[soak] +${r.atSec}s reload to version ${version}: ${r.status} in ${r.seconds}s; every answer on it after ${r.reachedAllSec ?? 'never'}s${r.detail ? ` (${r.detail})` : ''}`,
      );
    }
  })();
  const result = await soak;
  running = false;
  await Promise.all([sampler, reloader]);

  const seconds = result.duration;
  const failed = result.non2xx + result.errors + result.timeouts;
  const window = Math.min(options.window, seconds / 2);
  const first = mean(samples.filter((s) => s.atSec < window).map((s) => s.rssMiB));
  const last = mean(samples.filter((s) => s.atSec >= seconds - window).map((s) => s.rssMiB));
  const rssChange = first && last ? roundTo((last - first) / first, 3) : null;
  const lags = samples.map((s) => s.eventLoopP99Ms).filter((v): v is number => v !== undefined);
  const verdicts = {
    zeroFailed: failed === 0,
    rssWithin10Percent: rssChange !== null && Math.abs(rssChange) <= 0.1,
    reloadsOk: reloads.length > 0 && reloads.every((r) => r.ok),
  };
  const meta = readMeta(options.meta);
  const out = {
    finished: new Date().toISOString(),
    loadAverageAtEnd: loadAverageNow(),
    meta,
    maximum: {
      reqPerSec: roundTo(maxRate, 1),
      seconds: options.maxSeconds,
      connections: options.connections,
      non2xx: max.non2xx,
      errors: max.errors,
    },
    soak: {
      askedReqPerSec: rate,
      fraction: options.fraction,
      reqPerSec: roundTo(result.requests.total / seconds, 1),
      seconds,
      requests: result.requests.total,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      latencyMs: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    },
    rss: { windowSec: window, firstMiB: first, lastMiB: last, change: rssChange },
    eventLoopDelayP99Ms: {
      max: lags.length ? Math.max(...lags) : null,
      p50OfSamples: percentile(lags, 50),
      samples: lags.length,
    },
    reloads,
    samples,
    verdicts,
  };
  const yes = (b: boolean) => (b ? 'MET' : 'MISSED');
  const md = [
    `# Modelgate soak (issue 15), ${out.finished}`,
    '',
    `Settings: ${metaText(meta.settings, '?')}. ${metaText(meta.honoured, '')}`,
    `Load average at start ${metaText(meta.loadavg_at_start, '?')}, at end ${out.loadAverageAtEnd}.`,
    '',
    `- maximum (autocannon, 1 row, ${options.connections} connections, ${options.maxSeconds} s): ${out.maximum.reqPerSec} req/s`,
    `- soak: asked ${rate} req/s (${options.fraction} × the maximum) for ${roundTo(seconds, 1)} s; got ${out.soak.reqPerSec} req/s, ${out.soak.requests} requests, p50 ${out.soak.latencyMs.p50} ms, p99 ${out.soak.latencyMs.p99} ms, max ${out.soak.latencyMs.max} ms`,
    `- **${yes(verdicts.zeroFailed)}** 0 failed requests: non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts}`,
    `- **${yes(verdicts.rssWithin10Percent)}** RSS of the last ${window} s within 10% of the first ${window} s: ${first} → ${last} MiB (${rssChange === null ? 'n/a' : `${roundTo(rssChange * 100, 1)}%`}; whole process tree)`,
    `- **${yes(verdicts.reloadsOk)}** reloads every ${options.reloadEvery} s: ${reloads.filter((r) => r.ok).length} of ${reloads.length} swapped and reached every answer`,
    `- event-loop delay p99 (GET /metrics nodejs_eventloop_lag_p99_seconds, highest series, one sample per ${options.sampleEvery} s): max ${out.eventLoopDelayP99Ms.max ?? 'n/a'} ms, median ${out.eventLoopDelayP99Ms.p50OfSamples ?? 'n/a'} ms over ${lags.length} samples`,
    '',
    '| reload at s | to version | answer | seconds | every answer on it after s |',
    '|---:|---:|---|---:|---:|',
    ...reloads.map(
      (r) =>
        `| ${r.atSec} | ${r.to} | ${r.status} | ${r.seconds} | ${r.reachedAllSec ?? `never${r.detail ? `: ${r.detail.replace(/\|/g, '\\|').slice(0, 200)}` : ''}`} |`,
    ),
    '',
    '```json',
    JSON.stringify(meta, null, 2),
    '```',
    '',
  ].join('\n');
  mkdirSync(options.outDir, { recursive: true });
  const stamp = out.finished.replace(/\.\d+Z$/, 'Z').replace(/:/g, '-');
  for (const name of [`soak-${stamp}`, 'soak-latest']) {
    writeFileSync(join(options.outDir, `${name}.md`), md);
    writeFileSync(join(options.outDir, `${name}.json`), `${JSON.stringify(out, null, 2)}\n`);
  }
  console.log(
    `\n${md}\nwrote ${join(options.outDir, `soak-${stamp}.md`)} (+ .json, soak-latest.md, .json)`,
  );
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      pid: { type: 'string' },
      model: { type: 'string' },
      'tracking-uri': { type: 'string' },
      versions: { type: 'string' },
      duration: { type: 'string', default: '600' },
      'reload-every': { type: 'string', default: '60' },
      window: { type: 'string', default: '60' },
      'out-dir': { type: 'string' },
      dataset: { type: 'string' },
      connections: { type: 'string', default: '16' },
      'max-seconds': { type: 'string', default: '10' },
      fraction: { type: 'string', default: '0.7' },
      'sample-every': { type: 'string', default: '5' },
      probes: { type: 'string', default: '8' },
      meta: { type: 'string' },
    },
  });
  const { url, pid, model, versions } = values;
  const trackingUri = values['tracking-uri'];
  const outDir = values['out-dir'];
  if (!url || !pid || !model || !trackingUri || !versions || !outDir) {
    throw new Error(
      'usage: soak.js --url URL --pid PID --model NAME --tracking-uri URI --versions 1,2 --out-dir DIR [options]',
    );
  }
  assertLoopback(new URL(url).hostname);
  assertLoopback(new URL(trackingUri).hostname);
  return {
    url,
    pid: Number(pid),
    model,
    trackingUri,
    versions: versions.split(',').filter(Boolean),
    duration: Number(values.duration),
    reloadEvery: Number(values['reload-every']),
    window: Number(values.window),
    outDir,
    dataset: values.dataset,
    connections: Number(values.connections),
    maxSeconds: Number(values['max-seconds']),
    fraction: Number(values.fraction),
    sampleEvery: Number(values['sample-every']),
    probes: Math.max(1, Number(values.probes)),
    meta: values.meta,
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
