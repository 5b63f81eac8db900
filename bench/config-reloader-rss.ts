/**
 * Memory of the config-reloader sidecar, the figure its Kubernetes requests/limits are set from.
 * Runs, in one go and under the same conditions:
 *   - `bin/alloy config-reloader` (the lean entry the pods run),
 *   - the same reloader loaded the way it was before it had its own entry (the whole CLI module
 *     graph: runtime and every component imported first),
 *   - the lean entry under candidate node flags (semi-space, thread pool, JIT, heap limit), each
 *     given through NODE_OPTIONS as a pod would;
 *   - a bare idle Node.js process (the floor).
 * Each watches a temp dir, gets three config changes POSTed to a loopback webhook, then its
 * resident set (VmRSS) and peak (VmHWM) are read from /proc. Prints MiB and ratios.
 *
 *   npm run build:bench && node dist-bench/bench/config-reloader-rss.js
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dist = (p: string): string => pathToFileURL(path.join(root, 'dist', p)).href;

function mib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function measure(label: string, argv: (dir: string, url: string) => string[], reloads: boolean, nodeOptions?: string): Promise<{ label: string; rss: number; hwm: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reloader-rss-'));
  fs.writeFileSync(path.join(dir, 'config.alloy'), 'logging {}\n');
  let posts = 0;
  const hook = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      posts++;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(hook.address() as { port: number }).port}/-/reload`;
  const env = { ...process.env, NODE_OPTIONS: nodeOptions ?? '' };
  const child: ChildProcess = spawn(process.execPath, argv(dir, url), { stdio: ['ignore', 'ignore', 'pipe'], env });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  try {
    if (reloads) {
      await until(`${label} to start`, () => err.includes('watching config volumes'));
      for (let i = 1; i <= 3; i++) {
        fs.writeFileSync(path.join(dir, 'config.alloy'), `logging { level = "${['debug', 'warn', 'info'][i - 1]}" }\n`);
        await until(`${label} reload ${i}`, () => posts >= i);
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    return { label, rss: mib(child.pid!, 'VmRSS'), hwm: mib(child.pid!, 'VmHWM') };
  } finally {
    child.kill('SIGTERM');
    hook.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const flags = (dir: string, url: string): string[] => ['config-reloader', `--volume-dir=${dir}`, `--webhook-url=${url}`, '--web.listen-address=127.0.0.1:0', '--debounce=50ms'];
const lean = await measure('lean entry (bin/alloy config-reloader)', (d, u) => [path.join(root, 'bin/alloy'), ...flags(d, u)], true);
const full = await measure(
  'reloader with the whole CLI graph loaded',
  (d, u) => ['--input-type=module', '-e', `await import(${JSON.stringify(dist('collector/src/cli/run.js'))}); const m = await import(${JSON.stringify(dist('collector/src/reloader/main.js'))}); await m.runReloaderMain(${JSON.stringify(flags(d, u).slice(1))});`],
  true,
);
const variants: Array<{ label: string; rss: number; hwm: number }> = [];
for (const opts of ['--max-semi-space-size=1', '--v8-pool-size=0', '--jitless', '--max-old-space-size=24', '--max-semi-space-size=1 --v8-pool-size=0', '--max-semi-space-size=1 --v8-pool-size=0 --jitless']) {
  variants.push(await measure(`lean entry, NODE_OPTIONS=${opts}`, (d, u) => [path.join(root, 'bin/alloy'), ...flags(d, u)], true, opts));
}
const bare = await measure('bare node (idle)', () => ['-e', 'setInterval(() => {}, 1000)'], false);
const bareFlags = await measure('bare node (idle), --max-semi-space-size=1 --v8-pool-size=0', () => ['-e', 'setInterval(() => {}, 1000)'], false, '--max-semi-space-size=1 --v8-pool-size=0');
for (const r of [lean, full, ...variants, bare, bareFlags]) console.log(`${r.label.padEnd(78)} RSS ${r.rss.toFixed(1)} MiB  peak ${r.hwm.toFixed(1)} MiB`);
console.log(`lean / whole-graph RSS: ${(lean.rss / full.rss).toFixed(2)}   lean / bare node: ${(lean.rss / bare.rss).toFixed(2)}`);
