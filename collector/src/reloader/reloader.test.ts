import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { Writable } from 'node:stream';
import path from 'node:path';
import { ReloaderMetrics } from './lean-metrics.js';
import winston from 'winston';
import { ConfigReloader, snapshotVolumeDirs } from './reloader.js';

/** Does what the kubelet's AtomicWriter does when a ConfigMap changes. */
class KubeletVolume {
  #n = 0;
  constructor(readonly dir: string) {}
  async write(files: Record<string, string>): Promise<void> {
    const ts = `..2026_11_25_08_${String(this.#n).padStart(2, '0')}_00.${String(100000000 + this.#n++)}`;
    const tsDir = path.join(this.dir, ts);
    await fs.mkdir(tsDir);
    for (const [k, v] of Object.entries(files)) await fs.writeFile(path.join(tsDir, k), v);
    let old: string | undefined;
    try {
      old = await fs.readlink(path.join(this.dir, '..data'));
    } catch {
      old = undefined;
    }
    await fs.symlink(ts, path.join(this.dir, '..data_tmp'));
    await fs.rename(path.join(this.dir, '..data_tmp'), path.join(this.dir, '..data'));
    for (const k of Object.keys(files)) {
      await fs.symlink(path.join('..data', k), path.join(this.dir, k)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    }
    if (old) await fs.rm(path.join(this.dir, old), { recursive: true });
  }
}

/** Collects log records (winston json lines) for assertions. */
class Capture extends Writable {
  lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: string, next: () => void): void {
    for (const l of chunk.toString().split('\n')) if (l) this.lines.push(JSON.parse(l) as Record<string, unknown>);
    next();
  }
}

interface FakeCollector {
  url: string;
  posts: number;
  status: number;
  close(): Promise<void>;
}

async function fakeCollector(port = 0): Promise<FakeCollector> {
  const state = { posts: 0, status: 200 };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/-/reload') state.posts++;
    res.writeHead(state.status);
    res.end(state.status === 400 ? 'error: /etc/alloy/config.alloy:3:5: cannot find the definition of component name "foo.bar"\n' : 'config reloaded\n');
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}/-/reload`,
    get posts() {
      return state.posts;
    },
    get status() {
      return state.status;
    },
    set status(s: number) {
      state.status = s;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const until = async (cond: () => boolean, ms = 3000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('ConfigReloader', () => {
  let dir: string;
  let vol: KubeletVolume;
  let capture: Capture;
  let reg: ReloaderMetrics;
  const reloaders: ConfigReloader[] = [];

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'reloader-'));
    vol = new KubeletVolume(dir);
    await vol.write({ 'config.alloy': 'logging {}\n' });
    capture = new Capture();
    reg = new ReloaderMetrics();
  });
  afterEach(async () => {
    await Promise.all(reloaders.splice(0).map((r) => r.stop()));
    await fs.rm(dir, { recursive: true, force: true });
  });

  function reloader(url: string): ConfigReloader {
    const r = new ConfigReloader({
      volumeDirs: [dir],
      webhookUrl: url,
      pollIntervalMs: 60_000,
      debounceMs: 30,
      initialBackoffMs: 20,
      maxBackoffMs: 80,
      logger: winston.createLogger({ format: winston.format.json(), transports: [new winston.transports.Stream({ stream: capture })] }),
      metrics: reg,
    });
    reloaders.push(r);
    return r;
  }

  it('POSTs once after a kubelet ..data swap with new content, and not for identical content', async () => {
    const c = await fakeCollector();
    const r = reloader(c.url);
    await r.start();
    await vol.write({ 'config.alloy': 'logging { level = "debug" }\n' });
    await until(() => c.posts === 1);
    await r.settled();
    await vol.write({ 'config.alloy': 'logging { level = "debug" }\n' });
    // Window, not synchronisation: proves unchanged content is not posted again.
    await new Promise((res) => setTimeout(res, 150));
    await r.settled();
    expect(c.posts).toBe(1);
    const text = reg.exposition();
    expect(text).toContain('alloy_config_reloader_reloads_total 1');
    expect(text).toMatch(/alloy_config_reloader_last_reload_success_timestamp_seconds \d+/);
    await c.close();
  });

  it('retries with backoff while the collector refuses connections, then succeeds', async () => {
    const probe = await fakeCollector();
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const r = reloader(`http://127.0.0.1:${port}/-/reload`);
    await r.start();
    await vol.write({ 'config.alloy': 'logging { format = "json" }\n' });
    await until(() => capture.lines.some((l) => String(l.err).includes('ECONNREFUSED')));
    const c = await fakeCollector(port);
    await until(() => c.posts === 1);
    expect(reg.exposition()).toMatch(/alloy_config_reloader_reload_failures_total [1-9]/);
    await c.close();
  });

  it('logs the diagnostics of a 400 and does not retry until the content changes again', async () => {
    const c = await fakeCollector();
    c.status = 400;
    const r = reloader(c.url);
    await r.start();
    await vol.write({ 'config.alloy': 'foo.bar "x" {}\n' });
    await until(() => c.posts === 1);
    await r.settled();
    expect(capture.lines.find((l) => l.status === 400)?.diagnostics).toContain('config.alloy:3:5: cannot find the definition of component name');
    // Window, not synchronisation: proves a rejected config is not retried.
    await new Promise((res) => setTimeout(res, 150));
    expect(c.posts).toBe(1);
    c.status = 200;
    await vol.write({ 'config.alloy': 'logging {}\n// fixed\n' });
    await until(() => c.posts === 2);
    await c.close();
  });

  it('reads through per-key symlinks and ignores kubelet internals', async () => {
    const h1 = await snapshotVolumeDirs([dir]);
    await fs.mkdir(path.join(dir, '..2099_unrelated'));
    expect((await snapshotVolumeDirs([dir])).equals(h1)).toBe(true);
    await vol.write({ 'config.alloy': 'changed\n' });
    expect((await snapshotVolumeDirs([dir])).equals(h1)).toBe(false);
  });

  it('rejects bad options with the flag named', () => {
    const base = { volumeDirs: [dir], pollIntervalMs: 1000, debounceMs: 1, logger: winston.createLogger({ silent: true }), metrics: new ReloaderMetrics() };
    expect(() => new ConfigReloader({ ...base, webhookUrl: 'not a url' })).toThrow('--webhook-url');
    expect(() => new ConfigReloader({ ...base, volumeDirs: [], webhookUrl: 'http://x/' })).toThrow('--volume-dir');
  });
});
