/**
 * Harness for the metrics-pipeline journeys (`e2e/metrics/*.e2e.ts`) and `bench/pipeline.ts`:
 * starts real processes (our `bin/alloy`, Prometheus, node_exporter, nginx, a counting remote-write
 * receiver) on loopback, plus two in-process peers (a static exposition server that counts scrapes,
 * and a remote-write sink that keeps samples). Every process started here is tracked and stopped by `stopAll`. No jest
 * globals: the bench imports it too.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { uncompress } from '../../collector/src/prom/snappy/snappy.js';
import { WriteRequestDecoder } from '../../collector/src/prom/remotewrite/proto.js';
import { freePort, requireTool } from '../../collector/src/prom/remotewrite/remotewrite.test-support.js';

export { freePort, requireTool };

const up2 = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The repository root, whether this file runs from sources, from `dist/` or from `dist-bench/`. */
export const root = ['dist', 'dist-bench'].includes(path.basename(up2)) ? path.dirname(up2) : up2;
export const alloyBin = path.join(root, 'bin/alloy');

export function ensureBuilt(): void {
  if (!existsSync(path.join(root, 'dist/collector/src/cli/main.js'))) {
    throw new Error('dist/ is missing: run "npm run build" before the e2e tests (npm test does it)');
  }
}

export interface Proc {
  readonly name: string;
  readonly proc: ChildProcess;
  output(): string;
  readonly exited: Promise<void>;
  /** SIGTERM, then SIGKILL after 10s. */
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

const running = new Set<Proc>();

/**
 * Polls `fn` until it returns something other than undefined/false, for at most `ms`. `what` names
 * the wait in the timeout error; pass a function when the name includes state read at the deadline
 * (a process's output), since a template string is evaluated before the wait begins.
 */
export async function until<T>(what: string | (() => string), fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err: unknown) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

export function spawnProc(name: string, cmd: string, args: string[], env: Record<string, string> = {}): Proc {
  const proc = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (c: Buffer): void => {
    out += c.toString();
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const p: Proc = {
    name,
    proc,
    output: () => out,
    exited,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
      running.delete(p);
    },
    async kill9() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await exited;
      running.delete(p);
    },
  };
  running.add(p);
  return p;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

export async function httpOk(url: string): Promise<boolean> {
  try {
    const r = await fetch(url);
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

export interface AlloyProc extends Proc {
  readonly base: string;
  readonly storage: string;
}

/** Runs `bin/alloy run` (or another build's launcher, `bin`) on `config`; waits until its HTTP server listens. */
export async function startAlloy(
  dir: string,
  name: string,
  config: string,
  storage = path.join(dir, `data-${name}`),
  nodeArgs: readonly string[] = [],
  runArgs: readonly string[] = [],
  bin: string = alloyBin,
): Promise<AlloyProc> {
  if (bin === alloyBin) ensureBuilt();
  const cfgPath = path.join(dir, `${name}.alloy`);
  writeFileSync(cfgPath, config);
  const port = await freePort();
  const p = spawnProc(name, process.execPath, [...nodeArgs, bin, 'run', `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${storage}`, ...runArgs, cfgPath]);
  const base = `http://127.0.0.1:${port}`;
  await until(() => `${name} to start:\n${p.output()}`, async () => {
    if (p.proc.exitCode !== null) throw new Error(`${name} exited:\n${p.output()}`);
    return /now listening for http traffic/.test(p.output()) && (await httpOk(`${base}/-/ready`).catch(() => true));
  });
  return { ...p, base, storage };
}

export interface PromProc extends Proc {
  readonly base: string;
}

/** Runs Prometheus (server or `agent`) with the given YAML; waits for `/-/ready`. */
export async function startPrometheus(dir: string, name: string, yaml: string, mode: 'server' | 'agent', port?: number): Promise<PromProc> {
  const bin = requireTool('/usr/bin/prometheus', 'the metrics pipeline journeys');
  if (!bin) throw new Error('prometheus missing');
  const p0 = port ?? (await freePort());
  const cfg = path.join(dir, `${name}.yml`);
  writeFileSync(cfg, yaml);
  mkdirSync(path.join(dir, name), { recursive: true });
  const args =
    mode === 'agent'
      ? ['--enable-feature=agent', `--storage.agent.path=${path.join(dir, name)}`]
      : [`--storage.tsdb.path=${path.join(dir, name)}`, '--web.enable-remote-write-receiver'];
  const p = spawnProc(name, bin, [...args, `--config.file=${cfg}`, `--web.listen-address=127.0.0.1:${p0}`]);
  const base = `http://127.0.0.1:${p0}`;
  await until(`${name} to be ready`, async () => {
    if (p.proc.exitCode !== null) throw new Error(`${name} exited:\n${p.output()}`);
    return httpOk(`${base}/-/ready`);
  });
  return { ...p, base };
}

export async function startNodeExporter(): Promise<{ proc: Proc; address: string }> {
  const bin = requireTool('/usr/bin/prometheus-node-exporter', 'the edge → proxy → backend journey');
  if (!bin) throw new Error('node_exporter missing');
  const port = await freePort();
  const proc = spawnProc('node_exporter', bin, [`--web.listen-address=127.0.0.1:${port}`]);
  await until('node_exporter', () => httpOk(`http://127.0.0.1:${port}/metrics`));
  return { proc, address: `127.0.0.1:${port}` };
}

export async function startNginx(dir: string, httpBlock: string): Promise<Proc> {
  const bin = requireTool('/usr/sbin/nginx', 'the load-balanced proxies journey');
  if (!bin) throw new Error('nginx missing');
  const prefix = path.join(dir, 'nginx');
  mkdirSync(path.join(prefix, 'logs'), { recursive: true });
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    [
      'daemon off;',
      'worker_processes 1;',
      `pid ${path.join(prefix, 'nginx.pid')};`,
      `error_log ${path.join(prefix, 'logs/error.log')} warn;`,
      'events { worker_connections 256; }',
      'http {',
      `  access_log ${path.join(prefix, 'logs/access.log')};`,
      `  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fcgi;`,
      `  uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;`,
      httpBlock,
      '}',
      '',
    ].join('\n'),
  );
  return spawnProc('nginx', bin, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'logs/error.log')]);
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export async function promQuery(base: string, q: string): Promise<PromSample[]> {
  const r = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = (await r.json()) as { status: string; data?: { result: PromSample[] }; error?: string };
  if (j.status !== 'success') throw new Error(`query ${q}: ${j.error ?? r.status}`);
  return j.data!.result;
}

/** Parses one sample value out of a text exposition (first match). */
export function metricValue(text: string, re: RegExp): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (re.test(line)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Serves a fixed set of gauges; counts successful scrapes; can be switched to fail. */
export class ExpositionServer {
  scrapes = 0;
  failing = false;
  port = 0;
  #srv: Server | undefined;
  readonly #body: string;

  constructor(
    readonly series: number,
    readonly metric = 'rw_test_gauge',
  ) {
    const lines = [`# TYPE ${metric} gauge`];
    for (let i = 0; i < series; i++) lines.push(`${metric}{idx="${i}"} ${i}`);
    this.#body = lines.join('\n') + '\n';
  }

  async start(): Promise<void> {
    this.#srv = createServer((_req, res) => {
      if (this.failing) {
        res.writeHead(503).end();
        return;
      }
      this.scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(this.#body);
    });
    await new Promise<void>((r) => this.#srv!.listen(0, '127.0.0.1', r));
    const a = this.#srv.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  async stop(): Promise<void> {
    this.#srv?.closeAllConnections();
    await new Promise<void>((r) => this.#srv?.close(() => r()) ?? r());
  }
}

/** A remote-write endpoint in the test process: decodes and keeps every (series, t, v). */
export class Sink {
  readonly samples = new Map<string, Map<number, number>>();
  received = 0;
  requests = 0;
  /** Status to answer; 204 stores the samples. */
  status = 204;
  /** Delay before answering, ms. */
  delayMs = 0;
  port = 0;
  readonly headers: IncomingHttpHeaders[] = [];
  #srv: Server | undefined;
  readonly #dec = new WriteRequestDecoder();

  async start(port = 0): Promise<void> {
    this.#srv = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = (): void => {
          this.requests++;
          if (this.status === 204) {
            const r = this.#dec.decode(uncompress(Buffer.concat(chunks)));
            for (let i = 0; i < r.length; i++) {
              const k = r.series[i]!.map((l) => `${l.name}=${l.value}`).join(',');
              let m = this.samples.get(k);
              if (!m) this.samples.set(k, (m = new Map()));
              m.set(r.timestamps[i]!, r.values[i]!);
            }
            this.received += r.length;
            if (this.headers.length < 100) this.headers.push(req.headers);
          }
          res.writeHead(this.status).end();
        };
        if (this.delayMs > 0) setTimeout(answer, this.delayMs);
        else answer();
      });
    });
    await new Promise<void>((r) => this.#srv!.listen(port, '127.0.0.1', r));
    const a = this.#srv.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  /** Distinct (series, timestamp) pairs stored. */
  get distinct(): number {
    let n = 0;
    for (const m of this.samples.values()) n += m.size;
    return n;
  }

  async stop(): Promise<void> {
    this.#srv?.closeAllConnections();
    await new Promise<void>((r) => this.#srv?.close(() => r()) ?? r());
  }
}

/**
 * A remote-write receiver in a child process (so its CPU is its own, not the caller's): counts
 * the samples of every request and, with `distinct`, the distinct (series, timestamp) pairs;
 * answers 204 after `delayMs` (a remote backend's latency). `GET /` reports both counts.
 */
export interface SinkProc extends Proc {
  readonly base: string;
  counts(): Promise<{ samples: number; distinct: number }>;
}

const SINK_PROCESS = `
const http = require('node:http');
const { uncompress } = require(process.argv[1]);
const delayMs = Number(process.argv[2]);
const keep = process.argv[3] === 'distinct';
const seen = new Set();
let samples = 0;
function walk(b) {
  let p = 0;
  const varint = () => { let v = 0, s = 1, c; do { c = b[p++]; v += (c & 127) * s; s *= 128; } while (c & 128); return v; };
  const skip = (t) => { const w = t & 7; if (w === 0) varint(); else if (w === 1) p += 8; else if (w === 2) p += varint(); else p += 4; };
  while (p < b.length) {
    const tag = varint();
    if (tag !== 0x0a) { skip(tag); continue; }
    const end = varint() + p;
    let labels = '';
    while (p < end) {
      const t = varint();
      if (t === 0x0a) { const l = varint(); if (keep) labels += b.toString('latin1', p - 1, p + l); p += l; }
      else if (t === 0x12) {
        const sEnd = varint() + p;
        let ts = 0;
        while (p < sEnd) { const f = varint(); if (f === 0x10) ts = varint(); else skip(f); }
        samples++;
        if (keep) seen.add(labels + '@' + ts);
      } else skip(t);
    }
  }
}
http.createServer((req, res) => {
  if (req.method === 'GET') { res.end(JSON.stringify({ samples, distinct: seen.size })); return; }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    walk(uncompress(Buffer.concat(chunks)));
    if (delayMs > 0) setTimeout(() => res.writeHead(204).end(), delayMs); else res.writeHead(204).end();
  });
}).listen(0, '127.0.0.1', function () { console.log('listening on ' + this.address().port); });
`;

/** Starts the child-process receiver; tracked like every process here (stopped by `stopAll`). */
export async function startSinkProcess(opts: { delayMs?: number; distinct?: boolean } = {}): Promise<SinkProc> {
  const snappyjs = path.join(root, 'node_modules/snappyjs/index.js');
  const p = spawnProc('sink', process.execPath, ['-e', SINK_PROCESS, snappyjs, String(opts.delayMs ?? 0), opts.distinct ? 'distinct' : 'count']);
  const port = await until('the sink process to listen', () => /listening on (\d+)/.exec(p.output())?.[1], 10_000, 20);
  const base = `http://127.0.0.1:${port}`;
  return {
    ...p,
    base,
    counts: async () => (await (await fetch(base)).json()) as { samples: number; distinct: number },
  };
}

/**
 * Collector config: `prometheus.scrape "big"` of one target every second (timeout 900 ms) into
 * `prometheus.remote_write "out"` to `url`; `queueConfig` is the body of a `queue_config` block.
 */
export function scrapeToRemoteWriteConfig(targetPort: number, url: string, queueConfig = ''): string {
  const queue = queueConfig.trim() === '' ? '' : `\n    queue_config {\n${queueConfig.replace(/^\s*/gm, '      ')}\n    }`;
  return `prometheus.scrape "big" {
  targets         = [{"__address__" = "127.0.0.1:${targetPort}"}]
  scrape_interval = "1s"
  scrape_timeout  = "900ms"
  forward_to      = [prometheus.remote_write.out.receiver]
}

prometheus.remote_write "out" {
  endpoint {
    url = "${url}"${queue}
  }
}
`;
}
