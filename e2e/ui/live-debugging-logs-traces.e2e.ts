// Live debugging of log and OTLP pipelines in Chromium against `alloy run`: log lines pushed to
// loki.source.api show on the pages of loki.relabel (labels before => after) and loki.process
// ([IN] and [OUT] lines); spans sent to otelcol.receiver.otlp show on the page of
// otelcol.processor.attributes as one OTLP text block per request, with the attribute the
// processor inserted. Each page is rendered as upstream Alloy words it; screenshots are kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { chromium, type Browser, type Page } from 'playwright-core';

jest.setTimeout(90_000);

const CHROMIUM = '/usr/bin/chromium';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/alloy');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env['CI'] === 'true') throw new Error(`${CHROMIUM} is missing: install the Debian "chromium" package to run the UI journeys`);
const maybe = haveChromium ? describe : describe.skip;

const config = (lokiPort: number, otlpPort: number): string => `livedebugging {
  enabled = true
}

loki.source.api "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${lokiPort}
  }
  forward_to             = [loki.relabel.team.receiver]
  use_incoming_timestamp = true
}

loki.relabel "team" {
  forward_to = [loki.process.parse.receiver]
  rule {
    target_label = "team"
    replacement  = "payments"
  }
}

loki.process "parse" {
  forward_to = [loki.write.sink.receiver]
  stage.logfmt {
    mapping = { level = "" }
  }
  stage.labels {
    values = { level = "" }
  }
  stage.drop {
    expression = ".*level=debug.*"
  }
}

loki.write "sink" {
  endpoint {
    url = "http://127.0.0.1:9/loki/api/v1/push"
  }
}

otelcol.receiver.otlp "in" {
  http {
    endpoint = "127.0.0.1:${otlpPort}"
  }
  output {
    traces = [otelcol.processor.attributes.tag.input]
  }
}

otelcol.processor.attributes "tag" {
  action {
    key    = "deployment.environment"
    value  = "staging"
    action = "insert"
  }
  output {
    traces = [otelcol.exporter.debug.out.input]
  }
}

otelcol.exporter.debug "out" { }
`;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Sends with `send` every 300 ms until the page shows `n` live items (the stream may open after the first send). */
async function feedUntil(page: Page, n: number, send: () => Promise<void>): Promise<void> {
  const items = page.locator('#live-out span');
  const deadline = Date.now() + 20_000;
  while ((await items.count()) < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} live items after 20 s; status: ${await page.locator('#live-status').textContent()}`);
    await send();
    await page.waitForTimeout(300); // pacing of the sender, not synchronisation: the loop polls the page
  }
}

maybe('live debugging of logs and traces in Chromium', () => {
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

  it('shows loki.relabel, loki.process and otelcol.processor.attributes data as upstream renders it', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ui-live-logs-'));
    const shots = await fs.mkdtemp(path.join(os.tmpdir(), 'alloy-ui-live-logs-screenshots-'));
    const [port, lokiPort, otlpPort] = [await freePort(), await freePort(), await freePort()];
    const cfg = path.join(dir, 'config.alloy');
    await fs.writeFile(cfg, config(lokiPort, otlpPort));
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
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const tsNs = '1714557600123000000'; // 2024-05-01T10:00:00.123Z
    const pushLogs = async (): Promise<void> => {
      const body = { streams: [{ stream: { job: 'checkout' }, values: [[tsNs, 'level=info msg="paid" order=42'], [tsNs, 'level=debug msg="cache miss"']] }] };
      const r = await fetch(`http://127.0.0.1:${lokiPort}/loki/api/v1/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status).toBe(204);
    };

    // loki.relabel: each entry with its labels before and after.
    await page.goto(`${base}/component/loki.relabel.team`);
    await page.getByRole('link', { name: 'Live debugging' }).click();
    await page.waitForURL(`${base}/debug/loki.relabel.team`);
    await feedUntil(page, 2, pushLogs);
    expect(await page.locator('#live-out span').first().textContent()).toBe('entry: level=info msg="paid" order=42, labels: {job="checkout"} => {job="checkout", team="payments"}');
    await page.screenshot({ path: path.join(shots, 'live-loki-relabel.png'), fullPage: true });

    // loki.process: [IN] for every entry, [OUT] for those the stages keep (the debug line is dropped).
    await page.goto(`${base}/debug/loki.process.parse`);
    await feedUntil(page, 3, pushLogs);
    const texts = (await page.locator('#live-out span').allTextContents()).slice(0, 3);
    expect(texts).toEqual([
      '[IN]: timestamp: 2024-05-01T10:00:00.123Z, entry: level=info msg="paid" order=42, labels: {job="checkout", team="payments"}, structured_metadata: {}',
      '[IN]: timestamp: 2024-05-01T10:00:00.123Z, entry: level=debug msg="cache miss", labels: {job="checkout", team="payments"}, structured_metadata: {}',
      '[OUT]: timestamp: 2024-05-01T10:00:00.123Z, entry: level=info msg="paid" order=42, labels: {job="checkout", level="info", team="payments"}, structured_metadata: {}',
    ]);
    await page.screenshot({ path: path.join(shots, 'live-loki-process.png'), fullPage: true });

    // otelcol.processor.attributes: one OTLP text block per request, after the processor.
    const sendSpans = async (): Promise<void> => {
      const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] }, scopeSpans: [{ scope: { name: 'shop.http', version: '1.2.0' }, spans: [{ traceId: '5b8efff798038103d269b633813fc60c', spanId: 'eee19b7ec3c1b174', name: 'POST /pay', kind: 2, startTimeUnixNano: '1714557600000000000', endTimeUnixNano: '1714557600042000000', status: { code: 1 } }] }] }] };
      const r = await fetch(`http://127.0.0.1:${otlpPort}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(r.status).toBe(200);
    };
    await page.goto(`${base}/component/otelcol.processor.attributes.tag`);
    await page.getByRole('link', { name: 'Live debugging' }).click();
    await page.waitForURL(`${base}/debug/otelcol.processor.attributes.tag`);
    await feedUntil(page, 1, sendSpans);
    const block = page.locator('#live-out span.block').first();
    expect(await block.textContent()).toBe(
      [
        'ResourceSpans #0',
        'Resource SchemaURL: ',
        'Resource attributes:',
        '     -> service.name: Str(checkout)',
        'ScopeSpans #0',
        'ScopeSpans SchemaURL: ',
        'InstrumentationScope shop.http 1.2.0',
        'Span #0',
        '    Trace ID       : 5b8efff798038103d269b633813fc60c',
        '    Parent ID      : ',
        '    ID             : eee19b7ec3c1b174',
        '    Name           : POST /pay',
        '    Kind           : Server',
        '    Start time     : 2024-05-01 10:00:00 +0000 UTC',
        '    End time       : 2024-05-01 10:00:00.042 +0000 UTC',
        '    Status code    : Ok',
        '    Status message : ',
        'Attributes:',
        '     -> deployment.environment: Str(staging)',
      ].join('\n'),
    );
    // The block keeps its lines (pre-wrap): it is several lines tall on screen.
    const box = await block.boundingBox();
    expect(box!.height).toBeGreaterThan(15 * 10);
    await page.screenshot({ path: path.join(shots, 'live-otelcol-processor.png'), fullPage: true });

    // Pause holds the view still while spans keep arriving.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.locator('#live-status').filter({ hasText: /^Paused/ }).waitFor();
    const paused = await page.locator('#live-out span').count();
    for (let i = 0; i < 3; i++) await sendSpans();
    await page.waitForTimeout(500); // the absence of new items after the sends is what is checked
    expect(await page.locator('#live-out span').count()).toBe(paused);

    process.stdout.write(`e2e/ui: live debugging (logs, traces) screenshots kept in ${shots}\n`);
    expect(errors).toEqual([]);
  });
});
