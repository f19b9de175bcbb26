import { existsSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Browser, Page, chromium } from 'playwright-core';
import { RunningServer, startServer, stackEnv } from './support/app';
import { TEST_AUTH_HEADER } from './support/credentials';
import { request, waitFor } from './support/http';
import { registerDemoModel } from './support/python';
import { StackInfo, sharedStack } from './support/shared-stack';

/** Debian's chromium (scripts/browser.sh installs it); playwright-core brings no browser. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const ARTIFACTS = path.resolve(__dirname, 'artifacts');

/** A loopback port nothing listens on: Airflow "down", connection refused. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

describe('The status page in headless Chromium', () => {
  const MODEL = `status-iris-${Date.now()}`;
  let stack: StackInfo;
  let cacheDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/browser.sh`);
    stack = sharedStack();
    await registerDemoModel(stack.mlflowUrl, { name: MODEL, alias: 'champion' });
    cacheDir = await mkdtemp(path.join(tmpdir(), 'mg-status-'));
    server = await startServer({
      ...stackEnv({
        mlflowUrl: stack.mlflowUrl,
        airflowUrl: `http://127.0.0.1:${await closedPort()}`,
      }),
      MODELS: `models:/${MODEL}@champion`,
      MODEL_CACHE_DIR: cacheDir,
      MODEL_REFRESH_INTERVAL: '0',
      HEALTH_CHECK_INTERVAL: '2',
    });
    await waitFor(
      () =>
        request<{ details: Record<string, { failure?: { kind: string } }> }>(
          `${server.url}/health/topology`,
        ),
      (r) =>
        r.body.details?.airflow?.failure?.kind === 'connection_refused' &&
        r.body.details?.mlflow?.failure === undefined &&
        r.body.details?.api?.failure === undefined,
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({
      viewport: { width: 1280, height: 900 },
      extraHTTPHeaders: TEST_AUTH_HEADER,
    });
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('request', (r) => !r.url().startsWith(server.url) && foreignRequests.push(r.url()));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.app.close().catch(() => undefined);
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it('shows a degraded topology: each server’s state and latency, the failure and its hint', async () => {
    const reply = await page.goto(`${server.url}/status`);

    expect(reply?.status()).toBe(200);
    expect(await page.locator('body').getAttribute('data-status')).toBe('degraded');
    await expect(page.title()).resolves.toContain('degraded');
    const state = (name: string) =>
      page.locator(`[data-server="${name}"]`).getAttribute('data-state');
    expect(await state('api')).toBe('up');
    expect(await state('mlflow')).toBe('up');
    expect(await state('airflow')).toBe('down');
    const airflow = page.locator('[data-server="airflow"]');
    await expect(airflow.locator('.kind').textContent()).resolves.toBe('Connection refused');
    await expect(airflow.locator('.hint').textContent()).resolves.toContain(
      'Airflow is not running on 127.0.0.1',
    );
    await expect(page.locator('[data-server="mlflow"]').textContent()).resolves.toMatch(
      /Latency\s*[\d.]+ ms/,
    );

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-degraded.png'), fullPage: true });
  });

  it('lists the loaded model with its version, and the reload that loaded it', async () => {
    const row = page.locator(`tr[data-model="${MODEL}@champion"]`);

    await expect(row.textContent()).resolves.toContain('v1');
    await expect(row.textContent()).resolves.toContain('ready');
    await expect(
      page.locator('section', { hasText: 'Recent reloads' }).textContent(),
    ).resolves.toContain(`${MODEL}@champion`);
  });

  it('refreshes itself: a new version swapped in shows without reloading the page', async () => {
    await registerDemoModel(stack.mlflowUrl, { name: MODEL, c: 0.05, alias: 'champion' });
    const reload = await request(`${server.url}/v1/models/${MODEL}/reload`, { method: 'POST' });
    expect(reload.status).toBe(200);

    // No navigation: the page's own refresh brings the new row in.
    await page
      .locator(`tr[data-model="${MODEL}@champion"]`, { hasText: 'v2' })
      .waitFor({ timeout: 60_000 });

    await expect(
      page.locator('section', { hasText: 'Recent reloads' }).textContent(),
    ).resolves.toContain('v1 → v2');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-after-swap.png'), fullPage: true });
  });

  it('says so when the API server stops answering', async () => {
    await server.app.close();

    await page.waitForSelector('#stale:not([hidden])', { timeout: 60_000 });

    await expect(page.locator('#stale').textContent()).resolves.toContain(
      'cannot reach the API server',
    );
  });

  it('loaded nothing from elsewhere and broke no content-security rule', () => {
    expect(foreignRequests).toEqual([]);
    // A failed fetch after the server closed is expected; nothing else.
    expect(
      consoleErrors.filter(
        (e) => !/Failed to fetch|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e),
      ),
    ).toEqual([]);
  });
});
