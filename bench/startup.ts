/**
 * Start-up and idle memory for the documentation's metrics proxy config (prometheus.receive_http →
 * prometheus.remote_write), beside a Prometheus 2.42 agent doing the same job (remote-write
 * receiver → remote_write) in the same run. Runs alternate between the subjects, `--runs` times each
 * (default 5):
 *   - ours as shipped: `bin/alloy`, which runs the esbuild bundle in dist/bundle/ (packaging/bundle.mjs);
 *   - ours from the compiled modules in dist/ (`ALLOY_TS_FORM=dist`), the form the bundle replaced;
 *   - the Prometheus agent;
 *   - a bare idle Node.js HTTP server (the floor every Node program starts from).
 * For each: start = spawn → first 200 from `/-/ready`, polled every 5 ms; CPU = the process's user +
 * system time at that moment (all its threads; steadier than wall time on a busy machine); idle RSS
 * = VmRSS 3 s after ready with nothing sent, split into anonymous memory and mapped files (for Node,
 * mostly the pages of the node binary itself).
 * Prints the medians with their spread, then ours ÷ peer last.
 *
 *   npm run build && npm run build:bench && node dist-bench/bench/startup.js [--runs N] [--node-flags "--max-semi-space-size=1 ..."]
 * `--node-flags` passes V8/Node flags to our process and to the floor (not to Prometheus), to
 * measure what a flag does to both.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { freePort } from '../collector/src/prom/remotewrite/remotewrite.test-support.js';
import { median } from './stats.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PROMETHEUS = process.env['PROMETHEUS'] ?? '/usr/bin/prometheus';
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 5;
const flagsArg = process.argv.indexOf('--node-flags');
const NODE_FLAGS = flagsArg > 0 ? (process.argv[flagsArg + 1] ?? '').split(/\s+/).filter(Boolean) : [];
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Memory {
  readonly rss: number;
  readonly anon: number;
  readonly file: number;
}

function memoryMiB(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') + kib('RssShmem') };
}

/** User + system CPU time of the whole process (every thread) so far, in ms. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
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
  readonly cpuMs: number;
  readonly idle: Memory;
}

interface Command {
  readonly cmd: string;
  readonly args: string[];
  readonly readyPath: string;
  readonly env?: NodeJS.ProcessEnv;
}

async function measure(argv: (dir: string, port: number) => Command): Promise<Sample> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-startup-'));
  const port = await freePort();
  const { cmd, args, readyPath, env } = argv(dir, port);
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'], env: env ?? process.env });
  try {
    await ready(`http://127.0.0.1:${port}${readyPath}`, child, 60_000);
    const startMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu = cpuMs(child.pid!);
    await new Promise((r) => setTimeout(r, 3000));
    return { startMs, cpuMs: cpu, idle: memoryMiB(child.pid!) };
  } finally {
    await stop(child);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const ours = (form: 'shipped' | 'dist') => (dir: string, port: number): Command => {
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
    args: [...NODE_FLAGS, path.join(root, 'bin/alloy'), 'run', path.join(dir, 'config.alloy'), `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, 'data')}`],
    readyPath: '/-/ready',
    env: form === 'dist' ? { ...process.env, ALLOY_TS_FORM: 'dist' } : process.env,
  };
};

const peer = (dir: string, port: number): Command => {
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

const floor = (_dir: string, port: number): Command => ({
  cmd: process.execPath,
  args: [...NODE_FLAGS, '-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`],
  readyPath: '/',
});

interface Summary {
  readonly start: number;
  readonly cpu: number;
  readonly idle: number;
}

function show(label: string, xs: readonly Sample[]): Summary {
  const col = (f: (x: Sample) => number, d: number): string => {
    const v = xs.map(f);
    return `${median(v).toFixed(d)} (${Math.min(...v).toFixed(d)}–${Math.max(...v).toFixed(d)})`;
  };
  console.log(
    `${label.padEnd(34)} start ${col((x) => x.startMs, 0)} ms   CPU to ready ${col((x) => x.cpuMs, 0)} ms   ` +
      `idle RSS ${col((x) => x.idle.rss, 1)} MiB = anon ${median(xs.map((x) => x.idle.anon)).toFixed(1)} + files ${median(xs.map((x) => x.idle.file)).toFixed(1)}`,
  );
  return { start: median(xs.map((x) => x.startMs)), cpu: median(xs.map((x) => x.cpuMs)), idle: median(xs.map((x) => x.idle.rss)) };
}

/** The form bin/alloy starts now (its own check, bin/bundle-form.mjs). */
async function shippedForm(): Promise<string> {
  const { bundleIsCurrent } = (await import(pathToFileURL(path.join(root, 'bin/bundle-form.mjs')).href)) as {
    bundleIsCurrent(root: string, fsApi: typeof fs): boolean;
  };
  if (bundleIsCurrent(`${root}${path.sep}`, fs)) return 'dist/bundle/';
  return fs.existsSync(path.join(root, 'dist/bundle')) ? 'dist/ (the bundle is stale: npm run build)' : 'dist/ (no bundle: npm run build)';
}

async function main(): Promise<void> {
  if (!fs.existsSync(PROMETHEUS)) throw new Error(`${PROMETHEUS} is required (apt-get install prometheus)`);
  if (!fs.existsSync(path.join(root, 'dist/collector/src/cli/main.js'))) throw new Error('run "npm run build" first');
  const subjects: [string, (dir: string, port: number) => Command][] = [
    ['bare Node.js http server (floor)', floor],
    ['ours as shipped (bin/alloy)', ours('shipped')],
    ['ours from dist/ modules', ours('dist')],
    ['Prometheus 2.42 agent', peer],
  ];
  const samples = subjects.map((): Sample[] => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [j, [, argv]] of subjects.entries()) samples[j]!.push(await measure(argv));
  }
  console.log(`runs: ${RUNS} each, alternating; load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}; node flags: ${NODE_FLAGS.join(' ') || 'none'}`);
  console.log(`bin/alloy runs: ${await shippedForm()}`);
  const [fl, o, d, p] = subjects.map(([label], j) => show(label, samples[j]!)) as [Summary, Summary, Summary, Summary];
  console.log(`the bundle against dist/ modules: start ${(o.start / d.start).toFixed(2)}×, CPU ${(o.cpu / d.cpu).toFixed(2)}×, idle RSS ${(o.idle / d.idle).toFixed(2)}×`);
  console.log(`ours above the Node.js floor: start +${(o.start - fl.start).toFixed(0)} ms, CPU +${(o.cpu - fl.cpu).toFixed(0)} ms, idle RSS +${(o.idle - fl.idle).toFixed(1)} MiB`);
  console.log(`the Node.js floor ÷ Prometheus agent: start ${(fl.start / p.start).toFixed(2)}×, CPU ${(fl.cpu / p.cpu).toFixed(2)}×, idle RSS ${(fl.idle / p.idle).toFixed(2)}×`);
  console.log(`ratio ours ÷ Prometheus agent: start ${(o.start / p.start).toFixed(2)}×, CPU to ready ${(o.cpu / p.cpu).toFixed(2)}×, idle RSS ${(o.idle / p.idle).toFixed(2)}×`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
