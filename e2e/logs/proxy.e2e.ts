// The docs' "Use Grafana Alloy as a proxy" logs configs, verbatim with URLs and ports filled in
// (the proxy listens on 127.0.0.1 instead of 0.0.0.0: tests bind loopback only):
// edge (loki.source.file on a temp dir's *.log → loki.write) → proxy (loki.source.api →
// loki.write) → a Loki-compatible sink that decodes snappy protobuf and records every entry.
// Journey: initial lines, appends, a rename rotation, the proxy down for a while, the edge
// restarted — every line arrives exactly once, in order per file, labelled with its filename.
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { freePort, metricValue, startAlloy, stopAll, until, type AlloyProc } from '../metrics/harness.js';

// The docs print this target object without the comma after its last field; Alloy (and this
// collector) reject that ("missing ',' in field list"), so it is added here.
const edgeConfig = (logDir: string, proxyPort: number): string => `loki.source.file "varlogs" {
  targets = [{
    __path__ = "${logDir}/*.log",
  }]
  forward_to = [loki.write.to_proxy.receiver]
}

loki.write "to_proxy" {
  endpoint {
    url = "http://127.0.0.1:${proxyPort}/loki/api/v1/push"
  }
}
`;

const proxyConfig = (proxyPort: number, sinkUrl: string): string => `loki.source.api "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${proxyPort}
  }
  forward_to = [loki.write.to_backend.receiver]
}

loki.write "to_backend" {
  endpoint {
    url = "${sinkUrl}"
  }
}
`;

describe('logs proxy journey (docs configs)', () => {
  let dir: string;
  let logDir: string;
  let sink: LokiSink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-logs-'));
    logDir = path.join(dir, 'var-log');
    mkdirSync(logDir);
    sink = new LokiSink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('edge tails, rotates, survives a proxy outage and an edge restart: every line exactly once, in order', async () => {
    const files = ['app.log', 'db.log'].map((f) => path.join(logDir, f));
    const written = new Map<string, string[]>(files.map((f) => [f, []]));
    let seq = 0;
    const write = (f: string, n: number): void => {
      const lines = Array.from({ length: n }, () => `${path.basename(f)} line ${++seq}`);
      written.get(f)!.push(...lines);
      appendFileSync(f, lines.map((l) => l + '\n').join(''));
    };
    const total = (): number => [...written.values()].reduce((s, l) => s + l.length, 0);
    const arrived = (): Promise<number> => until(`${total()} lines at the sink (have ${sink.entries.length})`, () => sink.entries.length >= total() && sink.entries.length, 30_000, 50);

    for (const f of files) write(f, 50);
    writeFileSync(path.join(logDir, 'ignored.txt'), 'not a .log file\n');

    const proxyPort = await freePort();
    const proxyCfg = proxyConfig(proxyPort, sink.url);
    let proxy: AlloyProc = await startAlloy(dir, 'proxy', proxyCfg);
    let edge: AlloyProc = await startAlloy(dir, 'edge', edgeConfig(logDir, proxyPort));
    await arrived();

    // Appends and a rename rotation (app.log → app.log.1, which no longer matches *.log).
    write(files[0]!, 20);
    renameSync(files[0]!, files[0]! + '.1');
    write(files[0]!, 10);
    write(files[1]!, 10);
    await arrived();

    // Proxy down for a while: the edge keeps reading and retries with backoff.
    await proxy.stop();
    write(files[0]!, 25);
    write(files[1]!, 25);
    const retries = async (): Promise<number> => metricValue(await (await fetch(`${edge.base}/metrics`)).text(), /^loki_write_batch_retries_total\{/) ?? 0;
    const retriesBefore = await retries();
    await until('the edge retrying against the stopped proxy', async () => (await retries()) > retriesBefore, 30_000, 100);
    proxy = await startAlloy(dir, 'proxy', proxyCfg);
    await arrived();
    const retried = await (await fetch(`${edge.base}/metrics`)).text();
    expect(Number(/loki_write_batch_retries_total\{[^}]*\} (\d+)/.exec(retried)?.[1] ?? 0)).toBeGreaterThan(0);

    // Edge restarted: it resumes from its positions file.
    await edge.stop();
    write(files[0]!, 15);
    write(files[1]!, 15);
    edge = await startAlloy(dir, 'edge', edgeConfig(logDir, proxyPort));
    await arrived();
    // Give any duplicate a chance to show up before judging.
    await new Promise((r) => setTimeout(r, 2500));

    expect(sink.entries).toHaveLength(total());
    for (const f of files) {
      const got = sink.entries.filter((e) => e.stream === `{filename="${f}"}`).map((e) => e.line);
      expect(got).toStrictEqual(written.get(f));
    }
    expect(new Set(sink.entries.map((e) => e.stream))).toStrictEqual(new Set(files.map((f) => `{filename="${f}"}`)));
    const edgeMetrics = await (await fetch(`${edge.base}/metrics`)).text();
    expect(edgeMetrics).toMatch(/loki_write_sent_entries_total\{[^}]*component_id="loki.write.to_proxy"[^}]*\} \d+/);
  }, 90_000);

  it('proxy takes the Loki docs JSON push (curl example), gzip too, and names the problem in bad bodies', async () => {
    const proxyPort = await freePort();
    await startAlloy(dir, 'proxy', proxyConfig(proxyPort, sink.url));
    const push = `http://127.0.0.1:${proxyPort}/loki/api/v1/push`;
    const body = JSON.stringify({ streams: [{ stream: { foo: 'bar2' }, values: [['1570818238000000000', 'fizzbuzz']] }] });
    let r = await fetch(push, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(r.status).toBe(204);
    r = await fetch(push, { method: 'POST', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(body.replace('fizzbuzz', 'zipped')) });
    expect(r.status).toBe(204);
    await until('2 entries at the sink', () => sink.entries.length >= 2, 10_000, 50);
    expect(sink.entries.map((e) => [e.stream, e.line])).toStrictEqual([
      ['{foo="bar2"}', 'fizzbuzz'],
      ['{foo="bar2"}', 'zipped'],
    ]);
    r = await fetch(push, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"streams":[{"stream":{"foo":"bar"},"values":[[1.5,"x"]]}]}' });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/streams\[0\]\.values\[0\]\[0\]: timestamp 1.5 must be a string of Unix epoch nanoseconds/);
    r = await fetch(`http://127.0.0.1:${proxyPort}/ready`);
    expect(r.status).toBe(200);
  }, 30_000);
});
