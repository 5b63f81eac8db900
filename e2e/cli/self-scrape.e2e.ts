// examples/self-scrape.alloy end to end: the collector scrapes its own /metrics through
// prometheus.exporter.self → prometheus.scrape → prometheus.remote_write into a real Prometheus
// (remote-write receiver), and the series are queryable there.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const hasPrometheus = spawnSync('prometheus', ['--version']).status === 0;
if (!hasPrometheus && process.env.CI === 'true') {
  throw new Error('prometheus is not installed but CI=true: install it (apt-get install prometheus) — see .ci/run');
}
if (!hasPrometheus) process.stdout.write('SKIP self-scrape e2e: prometheus binary not found (CI unset)\n');
const maybe = hasPrometheus ? describe : describe.skip;

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function started(p: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    p.once('error', reject);
    p.once('spawn', () => resolve());
  });
}

maybe('examples/self-scrape.alloy', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'self-scrape-'));
  });
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('lands alloy_build_info{job="integrations/alloy"} in Prometheus via remote_write', async () => {
    expect(existsSync(path.join(root, 'dist/collector/src/cli/main.js'))).toBe(true);
    const promPort = await freePort();
    await fs.writeFile(path.join(dir, 'prom.yml'), 'global:\n  scrape_interval: 1m\n');
    const prom = spawn('prometheus', [
      `--config.file=${path.join(dir, 'prom.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'tsdb')}`,
      `--web.listen-address=127.0.0.1:${promPort}`,
      '--web.enable-remote-write-receiver',
    ], { stdio: 'ignore' });
    procs.push(prom);
    await started(prom);

    const example = await fs.readFile(path.join(root, 'examples/self-scrape.alloy'), 'utf8');
    expect(example).toContain('scrape_interval = "15s"');
    const cfg = path.join(dir, 'self-scrape.alloy');
    await fs.writeFile(cfg, example.replace('scrape_interval = "15s"', 'scrape_interval = "1s"\n  scrape_timeout  = "800ms"'));
    let out = '';
    const alloy = spawn(process.execPath, [path.join(root, 'bin/alloy'), 'run', '--server.http.listen-addr=127.0.0.1:0', `--storage.path=${path.join(dir, 'data')}`, cfg], {
      env: { ...process.env, ALLOY_REMOTE_WRITE_URL: `http://127.0.0.1:${promPort}/api/v1/write` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    procs.push(alloy);
    alloy.stderr!.on('data', (c: Buffer) => (out += c.toString()));

    const deadline = Date.now() + 30_000;
    let result: unknown[] = [];
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('alloy_build_info{job="integrations/alloy"}')}`);
        result = ((await r.json()) as { data: { result: unknown[] } }).data.result;
        if (result.length > 0) break;
      } catch {
        // Prometheus still starting.
      }
      if (alloy.exitCode !== null) throw new Error(`alloy exited:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(result).toEqual([expect.objectContaining({ metric: expect.objectContaining({ job: 'integrations/alloy', instance: os.hostname() }) })]);
    alloy.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => alloy.on('exit', (c) => r(c)));
    expect(code).toBe(0);
  }, 60_000);
});
