// A user's walk through the UI in Chromium against two clustered `alloy run` processes:
// the components page lists components with health and filters as you type; clicking a
// component shows its arguments with the password redacted and its dependencies; Graph draws
// every component; Clustering shows both nodes with this node marked; live refresh picks up a
// node joining without a reload.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';

jest.setTimeout(60_000);

const CHROMIUM = '/usr/bin/chromium';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/alloy');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env['CI'] === 'true') throw new Error(`${CHROMIUM} is missing: install the Debian "chromium" package (apt-get install -y chromium) to run the UI journeys`);
  process.stdout.write(`e2e/ui: skipped, ${CHROMIUM} is missing (install the Debian "chromium" package)\n`);
}
const maybe = haveChromium ? describe : describe.skip;

const PASSWORD = 'hunter2-do-not-show';
const CONFIG = `prometheus.exporter.self "alloy" { }

discovery.relabel "targets" {
  targets = prometheus.exporter.self.alloy.targets
  rule {
    target_label = "env"
    replacement  = "e2e"
  }
}

prometheus.scrape "self" {
  targets         = discovery.relabel.targets.output
  forward_to      = [prometheus.remote_write.cloud.receiver]
  scrape_interval = "1s"
  scrape_timeout  = "500ms"
  clustering {
    enabled = true
  }
}

prometheus.remote_write "cloud" {
  endpoint {
    url = "http://127.0.0.1:9/api/v1/write"
    basic_auth {
      username = "tenant-42"
      password = "${PASSWORD}"
    }
  }
}
`;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface Proc {
  proc: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function start(dir: string, name: string, port: number, join: string): Proc {
  const proc = spawn(
    process.execPath,
    [bin, 'run', `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, name)}`, '--cluster.enabled=true', `--cluster.node-name=${name}`, `--cluster.join-addresses=${join}`, path.join(dir, 'config.alloy')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, out: () => out, exit: new Promise((r) => proc.on('exit', (c) => r(c))) };
}

async function ready(base: string, p: Proc): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    if (Date.now() > end || p.proc.exitCode !== null) throw new Error(`alloy at ${base} not ready:\n${p.out()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

maybe('web UI in Chromium', () => {
  let dir = '';
  let shots = '';
  let browser: Browser | undefined;
  const procs: Proc[] = [];

  afterAll(async () => {
    await browser?.close();
    for (const p of procs) p.proc.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exit));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('components → component detail (secret redacted) → graph → clustering', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ui-e2e-'));
    // Kept after the run (test artifacts to look at); the rest of `dir` is removed.
    shots = await fs.mkdtemp(path.join(os.tmpdir(), 'alloy-ui-screenshots-'));
    await fs.writeFile(path.join(dir, 'config.alloy'), CONFIG);
    const [pa, pb] = [await freePort(), await freePort()];
    const join = `127.0.0.1:${pa},127.0.0.1:${pb}`;
    const a = start(dir, 'node-a', pa, join);
    procs.push(a);
    const base = `http://127.0.0.1:${pa}`;
    await ready(base, a);

    // launch() gives every browser a fresh temporary profile (user-data-dir).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const failed: string[] = [];
    page.on('pageerror', (e) => failed.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => failed.push(`request failed: ${r.url()}`));
    // Content-Security-Policy violations and script errors surface as console errors.
    page.on('console', (m) => {
      if (m.type() === 'error') failed.push(`console error: ${m.text()}`);
    });

    // Components page.
    await page.goto(`${base}/`);
    await expectText(page.locator('h1'), 'Components');
    const rows = page.locator('#components tbody tr');
    await rows.nth(3).waitFor();
    const ids = await page.locator('#components tbody tr td:first-child').allTextContents();
    expect(ids.sort()).toEqual(['discovery.relabel.targets', 'prometheus.exporter.self.alloy', 'prometheus.remote_write.cloud', 'prometheus.scrape.self']);
    expect(await page.locator('#components .badge.healthy').count()).toBeGreaterThan(0);

    // Filtering as you type hides rows and keeps the query in the URL.
    await page.locator('#q').fill('relabel');
    expect(await page.locator('#components tbody tr:not([hidden]) td:first-child').allTextContents()).toEqual(['discovery.relabel.targets']);
    expect(await rows.count()).toBe(4);
    expect(page.url()).toContain('?q=relabel');
    await page.locator('#q').fill('');
    expect(await page.locator('#components tbody tr:not([hidden])').count()).toBe(4);
    // The health select narrows without a round trip.
    await page.locator('#health').selectOption('exited');
    expect(await page.locator('#components tbody tr:not([hidden])').count()).toBe(0);
    expect(await page.locator('[data-empty]').isVisible()).toBe(true);
    await page.locator('#health').selectOption('');

    // Component detail: the password is redacted, the username is shown, dependants are linked.
    await page.getByRole('link', { name: 'prometheus.remote_write.cloud' }).click();
    await page.waitForURL(`${base}/component/prometheus.remote_write.cloud`);
    await expectText(page.locator('h1'), 'prometheus.remote_write.cloud');
    const args = page.locator('section[aria-labelledby="arguments"]');
    await expectText(args, '(secret)');
    await expectText(args, '"tenant-42"');
    expect(await page.content()).not.toContain(PASSWORD);
    await expectText(page.locator('section[aria-labelledby="dependants"]'), 'prometheus.scrape.self');
    // Values as Alloy shows them: the receiver export is a capsule.
    await expectText(page.locator('section[aria-labelledby="exports"]'), 'capsule("MetricsReceiver")');
    await page.screenshot({ path: path.join(shots, 'component-remote-write.png'), fullPage: true });
    await page.goto(`${base}/component/prometheus.scrape.self`);
    const scrapeArgs = page.locator('section[aria-labelledby="arguments"]');
    await expectText(scrapeArgs, 'scrape_interval"1s"');
    await expectText(scrapeArgs, 'scrape_timeout"500ms"');
    await expectText(scrapeArgs, 'forward_to[capsule("MetricsReceiver")]');
    expect(await scrapeArgs.textContent()).not.toContain('append');
    expect(await scrapeArgs.textContent()).not.toContain('1000');
    await page.screenshot({ path: path.join(shots, 'component-scrape.png'), fullPage: true });

    // Graph: every component is a link, edges follow references.
    await page.getByRole('link', { name: 'Graph' }).click();
    await page.waitForURL(`${base}/graph`);
    expect(await page.locator('svg a.node').count()).toBe(4);
    expect(await page.locator('svg path.edge').count()).toBe(3);
    // Data flows exporter → relabel → scrape → remote_write, one column each.
    expect((await page.locator('svg path.edge title').allTextContents()).sort()).toEqual([
      'discovery.relabel.targets → prometheus.scrape.self',
      'prometheus.exporter.self.alloy → discovery.relabel.targets',
      'prometheus.scrape.self → prometheus.remote_write.cloud',
    ]);
    await page.screenshot({ path: path.join(shots, 'graph.png'), fullPage: true });

    // Clustering: node-a alone, then node-b joins and the live refresh shows it without a reload.
    await page.getByRole('link', { name: 'Clustering' }).click();
    await page.waitForURL(`${base}/clustering`);
    await expectText(page.locator('#peers tbody'), 'node-a');
    const b = start(dir, 'node-b', pb, join);
    procs.push(b);
    await ready(`http://127.0.0.1:${pb}`, b);
    // Waits through live refreshes (the page is not reloaded) for the second row.
    const peerRows = page.locator('#peers tbody tr');
    await peerRows.nth(1).waitFor({ timeout: 20_000 });
    const table: string[][] = [];
    for (let i = 0; i < (await peerRows.count()); i++) table.push((await peerRows.nth(i).locator('td').allTextContents()).slice(0, 4).map((t) => t.trim()));
    expect(table).toEqual([
      ['node-a', `127.0.0.1:${pa}`, 'participant', 'This node'],
      ['node-b', `127.0.0.1:${pb}`, 'participant', ''],
    ]);
    await page.screenshot({ path: path.join(shots, 'clustering.png'), fullPage: true });

    // Config: the running source with its hash; Reload shows a rejected config's diagnostics
    // inline and keeps the old one; a good config reloads and the page shows the new hash.
    await page.getByRole('link', { name: 'Config' }).click();
    await page.waitForURL(`${base}/config`);
    const hash1 = (await page.locator('#config-hash').textContent())!;
    expect(hash1).toMatch(/^[0-9a-f]{64}$/);
    await expectText(page.locator('pre.source'), 'prometheus.exporter.self "alloy" { }');
    expect(await page.content()).not.toContain(PASSWORD);
    await fs.writeFile(path.join(dir, 'config.alloy'), `${CONFIG}\nprometheus.scrape "broken" {\n  targets = 42\n}\n`);
    await page.getByRole('button', { name: 'Reload configuration' }).click();
    await expectText(page.locator('#reload-diagnostics'), 'config.alloy:');
    expect(page.url()).toBe(`${base}/config`);
    await page.screenshot({ path: path.join(shots, 'config-reload-rejected.png'), fullPage: true });
    expect(await page.locator('#config-hash').textContent()).toBe(hash1);
    await fs.writeFile(path.join(dir, 'config.alloy'), CONFIG.replace('scrape_interval = "1s"', 'scrape_interval = "2s"'));
    await page.getByRole('button', { name: 'Reload configuration' }).click();
    await page.locator('#config-hash').filter({ hasNotText: hash1 }).waitFor({ timeout: 10_000 });
    await expectText(page.locator('pre.source'), 'scrape_interval = "2s"');

    // Unknown UI paths: a styled 404 page with the navigation.
    const nf = await page.goto(`${base}/no/such/page`);
    expect(nf!.status()).toBe(404);
    await expectText(page.locator('h1'), 'Page not found');
    expect(await page.locator('header.topbar nav a').count()).toBeGreaterThan(3);
    await page.screenshot({ path: path.join(shots, 'not-found.png'), fullPage: true });
    // Chromium logs the rejected reload (400) and the 404 page itself as failed resources; only other errors count.
    failed.splice(0, failed.length, ...failed.filter((f) => !/status of (400 \(Bad Request\)|404 \(Not Found\))/.test(f)));
    process.stdout.write(`e2e/ui: screenshots kept in ${shots}\n`);
    expect(failed).toEqual([]);
  });
});

async function expectText(loc: { textContent(): Promise<string | null>; waitFor(o?: { timeout?: number }): Promise<void> }, text: string): Promise<void> {
  await loc.waitFor({ timeout: 10_000 });
  expect(await loc.textContent()).toContain(text);
}
