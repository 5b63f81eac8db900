/**
 * Start-up and idle memory for the documentation's metrics proxy config (prometheus.receive_http →
 * prometheus.remote_write), beside a Prometheus 2.42 agent doing the same job (remote-write
 * receiver → remote_write) in the same run. Runs alternate ours / peer, `--runs` times each (default 5):
 *   - start: spawn → first 200 from `/-/ready`, polled every 5 ms;
 *   - idle RSS: VmRSS 3 s after ready, with nothing sent;
 *   - a bare idle Node.js process (the floor every Node program starts from).
 * Prints the medians with their spread, then ours ÷ peer last.
 *
 *   npm run build && npm run build:bench && node dist-bench/bench/startup.js [--runs N]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../collector/src/prom/remotewrite/remotewrite.test-support.js';
import { median } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROMETHEUS = process.env['PROMETHEUS'] ?? '/usr/bin/prometheus';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function ready(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited with ${child.exitCode}`);
    if (Date.now() > end) throw new Error(`${url}: not ready within ${deadlineMs} ms`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((r) => {
    child.once('exit', () => r());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  });
}

interface Sample {
  readonly startMs: number;
  readonly idleMiB: number;
}

async function measure(argv: (dir: string, port: number) => { cmd: string; args: string[]; readyPath: string }): Promise<Sample> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-startup-'));
  const port = await freePort();
  const { cmd, args, readyPath } = argv(dir, port);
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    await ready(`http://127.0.0.1:${port}${readyPath}`, child, 60_000);
    const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await new Promise((r) => setTimeout(r, 3000));
    return { startMs, idleMiB: rssMiB(child.pid!) };
  } finally {
    await stop(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ours = (dir: string, port: number): { cmd: string; args: string[]; readyPath: string } => {
  fs.writeFileSync(
    path.join(dir, 'config.alloy'),
    `prometheus.receive_http "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = 0
  }
  forward_to = [prometheus.remote_write.to_backend.receiver]
}

prometheus.remote_write "to_backend" {
  endpoint {
    url = "http://127.0.0.1:9/api/v1/push"
  }
}
`,
  );
  return {
    cmd: process.execPath,
    args: [path.join(root, 'bin/alloy'), 'run', path.join(dir, 'config.alloy'), `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, 'data')}`],
    readyPath: '/-/ready',
  };
};

const peer = (dir: string, port: number): { cmd: string; args: string[]; readyPath: string } => {
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), 'remote_write:\n  - url: http://127.0.0.1:9/api/v1/push\n');
  return {
    cmd: PROMETHEUS,
    args: [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      '--enable-feature=agent',
      '--web.enable-remote-write-receiver',
      `--storage.agent.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=error',
    ],
    readyPath: '/-/ready',
  };
};

const floor = (_dir: string, port: number): { cmd: string; args: string[]; readyPath: string } => ({
  cmd: process.execPath,
  args: ['-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`],
  readyPath: '/',
});

function show(label: string, xs: readonly Sample[]): { start: number; idle: number } {
  const start = median(xs.map((x) => x.startMs));
  const idle = median(xs.map((x) => x.idleMiB));
  const range = (f: (x: Sample) => number, d: number): string => `${Math.min(...xs.map(f)).toFixed(d)}–${Math.max(...xs.map(f)).toFixed(d)}`;
  console.log(`${label.padEnd(32)} start ${start.toFixed(0).padStart(5)} ms (${range((x) => x.startMs, 0)})   idle RSS ${idle.toFixed(1)} MiB (${range((x) => x.idleMiB, 1)})`);
  return { start, idle };
}

async function main(): Promise<void> {
  if (!fs.existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is required (apt-get install prometheus)`);
  if (!fs.existsSync(path.join(root, 'dist/collector/src/cli/main.js'))) throw new Error('run "npm run build" first');
  const a: Sample[] = [];
  const b: Sample[] = [];
  const f: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    a.push(await measure(ours));
    b.push(await measure(peer));
    f.push(await measure(floor));
  }
  console.log(`runs: ${RUNS} each, alternating; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const fl = show('bare Node.js http server (floor)', f);
  const o = show('ours (alloy run, proxy config)', a);
  const p = show('Prometheus 2.42 agent', b);
  console.log(`ours above the Node.js floor: start +${(o.start - fl.start).toFixed(0)} ms, idle RSS +${(o.idle - fl.idle).toFixed(1)} MiB`);
  console.log(`ratio ours ÷ Prometheus agent: start ${(o.start / p.start).toFixed(2)}×, idle RSS ${(o.idle / p.idle).toFixed(2)}×`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
