// Journeys through the real `bin/alloy` process (compiled dist/): run + reload over HTTP and
// SIGHUP, graceful SIGTERM, and the fmt/validate exit codes users script against.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { garbageBytes } from '../../collector/src/syntax/garbage.test-support.js';
import { plainOfBody, type AlloyJSONStatement } from '../../collector/src/syntax/index.js';

jest.setTimeout(30_000);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/alloy');

beforeAll(() => {
  if (!existsSync(path.join(root, 'dist/collector/src/cli/main.js'))) {
    throw new Error('dist/ is missing: run "npm run build" before the e2e tests (npm test does it)');
  }
});

interface Running {
  proc: ChildProcess;
  base: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function startAlloy(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const proc = spawn(process.execPath, [bin, 'run', '--server.http.listen-addr=127.0.0.1:0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const m = /now listening for http traffic.*addr"?[=:]"?(127\.0\.0\.1:\d+)/.exec(out);
    if (m) return { proc, base: `http://${m[1]}`, output: () => out, exited };
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`alloy did not start:\n${out}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function get(url: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { method });
  return { status: r.status, body: await r.text() };
}

async function componentIds(base: string): Promise<Array<{ id: string; state: string }>> {
  const list = JSON.parse((await get(`${base}/api/v0/web/components`)).body) as Array<{ id: string; health: { state: string } }>;
  return list.map((c) => ({ id: c.id, state: c.health.state }));
}

async function until<T>(fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alloy(args: string[], input?: string, env: NodeJS.ProcessEnv = process.env): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { input: input ?? '', encoding: 'utf8', timeout: 20_000, env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('alloy run', () => {
  let dir: string;
  let cfg: string;
  let running: Running | undefined;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alloy-e2e-'));
    cfg = path.join(dir, 'config.alloy');
  });
  afterEach(async () => {
    if (running && running.proc.exitCode === null) {
      running.proc.kill('SIGKILL');
      await running.exited;
    }
    running = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reloads over HTTP: a broken config answers 400 with line:col and keeps the old pipeline; the fix answers 200', async () => {
    await fs.writeFile(cfg, 'logging {\n  format = sys.env("E2E_LOG_FORMAT")\n}\n\nprometheus.exporter.self "a" { }\n');
    running = await startAlloy([`--storage.path=${dir}/data`, cfg], { E2E_LOG_FORMAT: 'json' });
    const { base } = running;
    expect((await get(`${base}/-/ready`)).status).toBe(200);
    // sys.env reached the config: logs switched to JSON after the load.
    await until(async () => ((await get(`${base}/-/reload`)).status === 200 && running!.output().includes('{"ts"') ? true : undefined));

    await fs.writeFile(cfg, 'prometheus.exporter.self "a" { }\n\nprometheus.exporter.self "b" {\n  bogus = 1\n}\n');
    const bad = await get(`${base}/-/reload`, 'POST');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/config\.alloy:4:3/);
    expect(await componentIds(base)).toEqual([{ id: 'prometheus.exporter.self.a', state: 'healthy' }]);
    expect((await get(`${base}/-/healthy`)).status).toBe(200);
    expect((await get(`${base}/metrics`)).body).toContain('alloy_config_last_load_successful 0');

    await fs.writeFile(cfg, 'prometheus.exporter.self "a" { }\n\nprometheus.exporter.self "b" { }\n');
    expect(await get(`${base}/-/reload`, 'POST')).toEqual({ status: 200, body: 'config reloaded\n' });
    expect((await componentIds(base)).map((c) => c.id)).toEqual(['prometheus.exporter.self.a', 'prometheus.exporter.self.b']);
    const self = JSON.parse((await get(`${base}/api/v0/web/components/prometheus.exporter.self.b`)).body) as { exports: AlloyJSONStatement[] };
    expect((plainOfBody(self.exports).targets as Array<Record<string, string>>)[0]).toMatchObject({ __address__: base.slice('http://'.length), __metrics_path__: '/metrics', job: 'integrations/alloy' });
  });

  it('reloads on SIGHUP and exits 0 within a bound on SIGTERM', async () => {
    await fs.writeFile(cfg, 'prometheus.exporter.self "a" { }\n');
    running = await startAlloy([`--storage.path=${dir}/data`, cfg]);
    await fs.writeFile(cfg, 'prometheus.exporter.self "a" { }\nprometheus.exporter.self "hup" { }\n');
    running.proc.kill('SIGHUP');
    await until(async () => ((await componentIds(running!.base)).some((c) => c.id === 'prometheus.exporter.self.hup') ? true : undefined));

    const t0 = Date.now();
    running.proc.kill('SIGTERM');
    const r = await running.exited;
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(running.output()).toContain('shutdown complete');
  });

  it('exits 1 with diagnostics when the first load fails, and 2 on an unknown flag', async () => {
    await fs.writeFile(cfg, 'prometheus.exporter.self "a" {\n  nope = true\n}\n');
    const r = alloy(['run', '--server.http.listen-addr=127.0.0.1:0', `--storage.path=${dir}/data`, cfg]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.alloy:2:3/);
    const u = alloy(['run', '--no-such-flag', cfg]);
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('unknown flag: --no-such-flag');
    const f = alloy(['run', '--config.format=prometheus', cfg]);
    expect(f.code).toBe(1);
    expect(f.stderr).toContain('--config.format=prometheus is not supported');
  });
});

describe('alloy fmt and validate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'alloy-fmt-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('fmt prints canonical output, --write rewrites, syntax errors exit 1 with line:col', async () => {
    const f = path.join(dir, 'ugly.alloy');
    await fs.writeFile(f, 'logging {\nlevel="info"\n    format = "json"\n}\n');
    const out = alloy(['fmt', f]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('logging {\n\tlevel  = "info"\n\tformat = "json"\n}\n');
    expect(alloy(['fmt', '-'], 'logging {\nlevel="info"\n}\n').stdout).toBe('logging {\n\tlevel = "info"\n}\n');
    expect(alloy(['fmt', '--write', f]).code).toBe(0);
    expect(await fs.readFile(f, 'utf8')).toBe(out.stdout);
    const broken = path.join(dir, 'broken.alloy');
    await fs.writeFile(broken, 'logging {\n  level = \n');
    const b = alloy(['fmt', broken]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/broken\.alloy:\d+:\d+/);
  });

  it('validate exits 0 for a valid config and 1 with formatted diagnostics otherwise', async () => {
    const ok = path.join(dir, 'ok.alloy');
    await fs.writeFile(ok, 'prometheus.exporter.self "x" { }\n');
    expect(alloy(['validate', ok])).toMatchObject({ code: 0, stderr: '' });
    const bad = path.join(dir, 'bad.alloy');
    await fs.writeFile(bad, 'prometheus.exporter.self "x" { }\nfoo.bar "y" { }\n');
    const r = alloy(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('bad.alloy:2:1: cannot find the definition of component name "foo.bar"');
    expect(alloy(['--version']).stdout).toMatch(/^alloy, version v\d/);
  });

  it('fmt: a list without the comma before its closer fails as in Alloy, with a hint; --fix-commas adds it', async () => {
    const f = path.join(dir, 'commas.alloy');
    await fs.writeFile(f, 'prometheus.scrape "node" {\n  targets = [{\n    __address__ = "localhost:9100"\n  }]\n  forward_to = []\n}\n');
    const bad = alloy(['fmt', f]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("commas.alloy:3:35: missing ',' in field list");
    expect(bad.stderr).toContain(`hint: only commas are missing`);
    expect(alloy(['validate', f]).code).toBe(1);
    const fixed = alloy(['fmt', '--fix-commas', f]);
    expect(fixed).toMatchObject({ code: 0, stderr: '' });
    expect(fixed.stdout).toBe('prometheus.scrape "node" {\n\ttargets = [{\n\t\t__address__ = "localhost:9100",\n\t}]\n\tforward_to = []\n}\n');
  });

  it('validate passes a config whose URL comes from an unset environment variable; run still reports it', async () => {
    const f = path.join(dir, 'env.alloy');
    await fs.writeFile(f, 'prometheus.remote_write "default" {\n  endpoint {\n    url = sys.env("PROMETHEUS_URL")\n  }\n}\n');
    const env = { ...process.env };
    delete env['PROMETHEUS_URL'];
    expect(alloy(['validate', f], undefined, env)).toMatchObject({ code: 0, stderr: '' });
    const run = alloy(['run', '--server.http.listen-addr=127.0.0.1:0', `--storage.path=${path.join(dir, 'data-env')}`, f], undefined, env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/env\.alloy:3:11: endpoint\[0\]\.url: /);
  });

  it('validate on 64 KiB of random bytes exits 1 fast with a bounded report', async () => {
    const f = path.join(dir, 'garbage.alloy');
    await fs.writeFile(f, garbageBytes(64 * 1024, 7));
    const r = alloy(['validate', f]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/^Error: /gm)).toHaveLength(50);
    expect(r.stderr).toMatch(/\n\.\.\. and 51 more errors not shown \(fix the ones above first\)\n$/);
    expect(r.stderr.length).toBeLessThan(100_000);
  });

  it('validate and fmt report a too-deeply nested config as a diagnostic (exit 1, no stack trace)', async () => {
    const deep = path.join(dir, 'deep.alloy');
    await fs.writeFile(deep, 'prometheus.exporter.self "x" { }\nlocal.file "f" {\n  filename = ' + '['.repeat(3000) + ']'.repeat(3000) + '\n}\n');
    for (const cmd of ['validate', 'fmt']) {
      const r = alloy([cmd, deep]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 1 });
      expect(r.stderr).toMatch(/deep\.alloy:3:\d+: nesting too deep \(max \d+ /);
      expect(r.stderr).not.toMatch(/RangeError|Maximum call stack|\n\s+at /);
    }
  });
});
