// `npm start` (the operator demo) followed by what the README tells a newcomer to do next:
// `kubectl apply -f crds/collectors.alloy.dev.yaml -f examples/collector.yaml`. The apply must
// change nothing (no warning, no new generation) and the collectors must keep remote-writing to
// the Prometheus the demo started on a free port (the example reads its URL from the ConfigMap
// the demo fills in). `kubectl describe pod` shows the readiness probe as configured. Ctrl-C then
// stops every process the demo started and leaves nothing in /tmp.
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';

jest.setTimeout(300_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const haveKubectl = spawnSync('kubectl', ['version', '--client']).error === undefined;
const haveProm = spawnSync('prometheus', ['--version']).error === undefined;
if ((!haveKubectl || !haveProm) && process.env['CI'] === 'true') throw new Error('kubectl and prometheus are needed for the npm start journey (install the Debian packages)');
const maybe = haveKubectl && haveProm ? describe : describe.skip;

async function until<T>(what: string, deadlineMs: number, check: () => Promise<T | undefined>, out: () => string): Promise<T> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${out()}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

maybe('npm start, then kubectl apply -f examples/collector.yaml', () => {
  it('keeps the collectors writing to the demo Prometheus', async () => {
    const tmpBefore = new Set(readdirSync(os.tmpdir()).filter((n) => n.startsWith('dev-cluster-')));
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'start-demo-'));
    const child = spawn(process.execPath, [path.join(root, 'bin/start.js')], { env: { ...process.env, ALLOY_DEMO_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      await until('the demo banner', 200_000, () => Promise.resolve(out.includes('Ctrl-C stops everything.') ? true : child.exitCode !== null ? Promise.reject(new Error('exited')) : undefined), () => out);
      const kubeconfig = /export KUBECONFIG=(\S+)/.exec(out)![1]!;
      const promUrl = /prometheus: +(http:\/\/127\.0\.0\.9:\d+)\//.exec(out)?.[1];
      if (!promUrl) throw new Error(`the demo did not start Prometheus:\n${out}`);
      const uis = [...out.matchAll(/^ +self-monitoring-\d+ +(http:\/\/\S+\/)$/gm)].map((m) => m[1]!);
      expect(uis).toHaveLength(3);
      const kubectl = (...args: string[]): { stdout: string; stderr: string; status: number | null } => {
        const r = spawnSync('kubectl', args, { cwd: root, env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
        return { stdout: r.stdout, stderr: r.stderr, status: r.status };
      };
      const generation = (): number => (JSON.parse(kubectl('get', 'collector', 'self-monitoring', '-o', 'json').stdout) as { metadata: { generation: number } }).metadata.generation;
      const before = generation();

      // What the README says to do next.
      const applied = kubectl('apply', '-f', 'crds/collectors.alloy.dev.yaml', '-f', 'examples/collector.yaml');
      expect(applied.status).toBe(0);
      expect(applied.stderr).not.toMatch(/Warning|missing the kubectl/i);
      expect(applied.stdout).toMatch(/collector\.alloy\.dev\/self-monitoring unchanged/);
      expect(generation()).toBe(before);

      // The readiness probe reads as the operator set it (not timeout=0s #success=0).
      const described = kubectl('describe', 'pod', 'self-monitoring-0');
      expect(described.status).toBe(0);
      const readiness = /^\s*Readiness:\s*(.*)$/m.exec(described.stdout)?.[1] ?? '';
      expect(readiness).toMatch(/^http-get http:\/\/:(?:http|\d+)\/-\/ready delay=\d+s timeout=[1-9]\d*s period=\d+s #success=1 #failure=\d+$/);

      // Every collector still writes to the demo's Prometheus ...
      const want = `${promUrl}/api/v1/write`;
      for (const ui of uis) {
        const body = await until(`${ui} remote_write arguments`, 30_000, async () => {
          const r = await fetch(`${ui}api/v0/web/components/prometheus.remote_write.local`);
          return r.ok ? await r.text() : undefined;
        }, () => out);
        expect(body).toContain(JSON.stringify(want));
      }
      // ... and the samples arrive there.
      const series = await until('samples in the demo Prometheus', 90_000, async () => {
        const r = (await (await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent('count(alloy_build_info)')}`)).json()) as { data: { result: { value: [number, string] }[] } };
        const n = Number(r.data.result[0]?.value[1] ?? 0);
        return n > 0 ? n : undefined;
      }, () => out);
      expect(series).toBeGreaterThan(0);
    } finally {
      child.kill('SIGINT');
      await exited;
      // Every helper is gone (their command lines name the demo dir) and /tmp holds no new dev-cluster dir.
      const left = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout.split('\n').filter((l) => l.includes(dir));
      await fs.rm(dir, { recursive: true, force: true });
      expect(left).toEqual([]);
      // An IP-block lock held by a live process belongs to another dev cluster running beside this test.
      const leftInTmp = readdirSync(os.tmpdir()).filter((n) => n.startsWith('dev-cluster-') && !tmpBefore.has(n) && !heldByLiveProcess(path.join(os.tmpdir(), n)));
      expect(leftInTmp).toEqual([]);
    }
  });
});

/** True for a `dev-cluster-ip-*.lock` file whose owner (the pid it holds) is still running. */
function heldByLiveProcess(file: string): boolean {
  if (!file.endsWith('.lock')) return false;
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err: unknown) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
