// Live debugging in Chromium against `alloy run`: with `livedebugging { enabled = true }` the
// page of a prometheus.relabel streams the samples it relabels (rate-limited), Pause stops the
// stream, Resume restarts it; prometheus.scrape and prometheus.remote_write stream their samples;
// a component that publishes nothing has no link; without the block the page says live debugging
// is disabled.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { chromium, type Browser } from 'playwright-core';

jest.setTimeout(60_000);

const CHROMIUM = '/usr/bin/chromium';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/alloy');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env['CI'] === 'true') throw new Error(`${CHROMIUM} is missing: install the Debian "chromium" package to run the UI journeys`);
const maybe = haveChromium ? describe : describe.skip;

const config = (enabled: boolean): string => `livedebugging {
  enabled = ${enabled}
}

prometheus.exporter.self "alloy" { }

prometheus.scrape "self" {
  targets         = prometheus.exporter.self.alloy.targets
  forward_to      = [prometheus.relabel.tag.receiver]
  scrape_interval = "500ms"
  scrape_timeout  = "400ms"
}

prometheus.relabel "tag" {
  forward_to = [prometheus.remote_write.sink.receiver]
  rule {
    target_label = "stage"
    replacement  = "after-relabel"
  }
}

prometheus.remote_write "sink" {
  endpoint {
    url = "http://127.0.0.1:9/api/v1/write"
  }
}
`;

/** The first `data:` line of the live stream at `url` that matches `re` (within 15 s). */
async function firstLiveLine(url: string, re: RegExp): Promise<string> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 15_000);
  try {
    const r = await fetch(url, { signal: ac.signal });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += Buffer.from(value).toString();
      const hit = buf.split('\n').find((l) => l.startsWith('data: ') && re.test(l.slice(6)));
      if (hit) return hit.slice(6);
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  throw new Error(`no live line matching ${re} from ${url}`);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

maybe('live debugging in Chromium', () => {
  let dir = '';
  let proc: ChildProcess | undefined;
  let browser: Browser | undefined;

  afterAll(async () => {
    await browser?.close();
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.on('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('streams relabelled samples, pauses and resumes; says so when disabled', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ui-live-'));
    const shots = await fs.mkdtemp(path.join(os.tmpdir(), 'alloy-ui-live-screenshots-'));
    const cfg = path.join(dir, 'config.alloy');
    await fs.writeFile(cfg, config(true));
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    let out = '';
    proc = spawn(process.execPath, [bin, 'run', `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, 'data')}`, cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const end = Date.now() + 15_000;
    while (!(await fetch(`${base}/-/ready`).then((r) => r.ok, () => false))) {
      if (Date.now() > end || proc.exitCode !== null) throw new Error(`alloy not ready:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    await page.goto(`${base}/component/prometheus.relabel.tag`);
    await page.getByRole('link', { name: 'Live debugging' }).click();
    await page.waitForURL(`${base}/debug/prometheus.relabel.tag`);
    await page.locator('#live-rate').selectOption('10');
    // Samples after relabelling carry the new label.
    const lines = page.locator('#live-out span');
    await lines.nth(4).waitFor({ timeout: 15_000 });
    expect(await lines.first().textContent()).toMatch(/^sample: ts=\d{13}, labels=\{.*stage="after-relabel".*\}, value=-?\d+\.\d{6}$/);
    await page.locator('#live-status').filter({ hasText: /Streaming · \d+ items/ }).waitFor();
    await page.screenshot({ path: path.join(shots, 'live-debugging.png'), fullPage: true });

    // Rate limit: 10 items/s while each scrape (every 500 ms) relabels far more samples.
    await page.locator('#live-status').filter({ hasText: 'dropped by the rate limit' }).waitFor({ timeout: 10_000 });

    // Pause: nothing more arrives.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#live-status').filter({ hasText: /^Paused/ }).waitFor();
    const paused = await lines.count();
    await page.waitForTimeout(1500); // the absence of lines over a few scrape intervals is what is checked
    expect(await lines.count()).toBe(paused);
    await page.getByRole('button', { name: 'Resume' }).click();
    await lines.nth(paused).waitFor({ timeout: 10_000 });

    // prometheus.scrape streams what it scraped (before relabelling), prometheus.remote_write what it received (after).
    expect(await firstLiveLine(`${base}/api/v0/web/debug/prometheus.scrape.self?rate=1000`, /^sample: ts=\d{13}, labels=\{__name__="alloy_build_info".*\}, value=1\.000000$/)).not.toContain('stage=');
    expect(await firstLiveLine(`${base}/api/v0/web/debug/prometheus.remote_write.sink?rate=1000`, /^sample: ts=\d{13}, labels=\{__name__="alloy_build_info"/)).toContain('stage="after-relabel"');
    // prometheus.exporter.self publishes nothing: no link on its page, and the stream says why.
    await page.goto(`${base}/component/prometheus.exporter.self.alloy`);
    expect(await page.getByRole('link', { name: 'Live debugging' }).count()).toBe(0);
    const unsupported = await fetch(`${base}/api/v0/web/debug/prometheus.exporter.self.alloy`);
    expect(unsupported.status).toBe(400);
    expect(await unsupported.text()).toContain('does not support live debugging');

    // Disabled by a reload: the stream is refused and the page says why.
    await fs.writeFile(cfg, config(false));
    expect((await fetch(`${base}/-/reload`, { method: 'POST' })).status).toBe(200);
    const refused = await fetch(`${base}/api/v0/web/debug/prometheus.relabel.tag`);
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('live debugging is disabled');
    await page.goto(`${base}/debug/prometheus.relabel.tag`);
    await page.locator('#live-status').filter({ hasText: 'live debugging is disabled' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: path.join(shots, 'live-debugging-disabled.png'), fullPage: true });
    process.stdout.write(`e2e/ui: live debugging screenshots kept in ${shots}\n`);
    expect(errors).toEqual([]);
  });
});
