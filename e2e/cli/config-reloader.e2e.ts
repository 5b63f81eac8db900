// The Kubernetes config-reload path with real processes: `alloy run` loads a directory laid out
// like a mounted ConfigMap, `alloy config-reloader` watches it, and the test performs the
// kubelet's atomic `..data` swap. Good content is applied; bad content is reported by the
// reloader and the collector keeps running the last good config.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';

jest.setTimeout(30_000);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/alloy');

/** The kubelet AtomicWriter: timestamped dir, `..data_tmp` symlink renamed over `..data`, per-key symlinks. */
async function kubeletWrite(dir: string, n: number, files: Record<string, string>): Promise<void> {
  const ts = `..2026_11_25_09_${String(n).padStart(2, '0')}_00.${100000000 + n}`;
  await fs.mkdir(path.join(dir, ts));
  for (const [k, v] of Object.entries(files)) await fs.writeFile(path.join(dir, ts, k), v);
  const old = await fs.readlink(path.join(dir, '..data')).catch(() => undefined);
  await fs.symlink(ts, path.join(dir, '..data_tmp'));
  await fs.rename(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const k of Object.keys(files)) {
    await fs.symlink(path.join('..data', k), path.join(dir, k)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
  if (old) await fs.rm(path.join(dir, old), { recursive: true });
}

interface Proc {
  proc: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

function start(args: string[]): Proc {
  const proc = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return { proc, out: () => out, exit: new Promise((r) => proc.on('exit', (c) => r(c))) };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await Promise.resolve(fn()).catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ids = async (base: string): Promise<string[]> =>
  ((await (await fetch(`${base}/api/v0/web/components`)).json()) as Array<{ id: string }>).map((c) => c.id);

describe('alloy config-reloader with alloy run', () => {
  let dir: string;
  const procs: Proc[] = [];
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cm-volume-'));
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('applies a kubelet ..data swap, reports a rejected config without breaking the collector', async () => {
    await kubeletWrite(dir, 0, { 'config.alloy': 'prometheus.exporter.self "a" { }\n' });
    const alloy = start(['run', '--server.http.listen-addr=127.0.0.1:0', `--storage.path=${dir}-data`, dir]);
    procs.push(alloy);
    const addr = await waitFor('alloy to listen', () => /now listening for http traffic.*addr=(127\.0\.0\.1:\d+)/.exec(alloy.out())?.[1]);
    const base = `http://${addr}`;
    expect(await ids(base)).toEqual(['prometheus.exporter.self.a']);

    const reloader = start([
      'config-reloader',
      `--volume-dir=${dir}`,
      `--webhook-url=${base}/-/reload`,
      '--web.listen-address=127.0.0.1:0',
      '--debounce=100ms',
      '--poll-interval=30s',
    ]);
    procs.push(reloader);
    const raddr = await waitFor('reloader to serve', () => /serving metrics.*addr=(127\.0\.0\.1:\d+)/.exec(reloader.out())?.[1]);

    await kubeletWrite(dir, 1, { 'config.alloy': 'prometheus.exporter.self "a" { }\nprometheus.exporter.self "b" { }\n' });
    await waitFor('component b', async () => ((await ids(base)).includes('prometheus.exporter.self.b') ? true : undefined));

    await kubeletWrite(dir, 2, { 'config.alloy': 'prometheus.exporter.self "a" { }\nnot.a_component "c" { }\n' });
    await waitFor('rejection logged', () => (reloader.out().includes('cannot find the definition of component name') ? true : undefined));
    expect(reloader.out()).toMatch(/config\.alloy:2:1/);
    expect(await ids(base)).toEqual(['prometheus.exporter.self.a', 'prometheus.exporter.self.b']);

    const metrics = await (await fetch(`http://${raddr}/metrics`)).text();
    expect(metrics).toContain('alloy_config_reloader_reloads_total 1');
    expect(metrics).toContain('alloy_config_reloader_reload_failures_total 1');
    expect((await fetch(`http://${raddr}/-/healthy`)).status).toBe(200);

    reloader.proc.kill('SIGTERM');
    alloy.proc.kill('SIGTERM');
    expect(await reloader.exit).toBe(0);
    expect(await alloy.exit).toBe(0);
  });
});
