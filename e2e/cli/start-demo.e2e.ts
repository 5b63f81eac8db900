// `npm start` (the operator demo) followed by what the README tells a newcomer to do next:
// `kubectl apply -f crds/collectors.alloy.dev.yaml -f examples/collector.yaml`. The apply must
// change nothing (no warning, no new generation) and the collectors must keep remote-writing to
// the Prometheus the demo started on a free port (the example reads its URL from the ConfigMap
// the demo fills in). Ctrl-C then stops everything.
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
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
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
