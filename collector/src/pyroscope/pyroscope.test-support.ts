/**
 * Test-only helpers for the profiles pipeline (unit tests, `e2e/profiles`, `bench/profiles`):
 * `PyroscopeSink`, a stand-in Pyroscope server whose push API is served by
 * `@connectrpc/connect-node` (an independent Connect implementation, so a test against it proves
 * wire compatibility) and whose `/ingest` records requests as received. Not imported by
 * production code.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Code } from '@connectrpc/connect';
import { codeFromHttpStatus } from '@connectrpc/connect/protocol-connect';
import { PusherService } from './gen/push/v1/push_pb.js';
import { codeName } from './push.js';

export interface SinkPush {
  readonly labels: Record<string, string>;
  readonly samples: readonly Uint8Array[];
  readonly headers: IncomingHttpHeaders;
}

export interface SinkIngest {
  readonly query: URLSearchParams;
  readonly contentType: string;
  readonly body: Buffer;
  readonly headers: IncomingHttpHeaders;
}

export class PyroscopeSink {
  readonly pushes: SinkPush[] = [];
  readonly ingests: SinkIngest[] = [];
  requests = 0;
  /** Answer this status (a Connect error for pushes) to every request while set; nothing is recorded. */
  down: number | undefined;
  /** Statuses to answer, one per request, before recording resumes. */
  readonly statuses: number[] = [];
  port = 0;
  #srv: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Every pushed profile, in arrival order. */
  get profiles(): Array<{ labels: Record<string, string>; profile: Uint8Array }> {
    return this.pushes.flatMap((p) => p.samples.map((profile) => ({ labels: p.labels, profile })));
  }

  async start(port = 0): Promise<void> {
    const adapter = connectNodeAdapter({
      routes: (router) =>
        router.service(PusherService, {
          push: (req, ctx) => {
            const headers: IncomingHttpHeaders = {};
            ctx.requestHeader.forEach((v, k) => (headers[k] = v));
            for (const s of req.series) {
              this.pushes.push({ labels: Object.fromEntries(s.labels.map((l) => [l.name, l.value])), samples: s.samples.map((x) => x.rawProfile), headers });
            }
            return {};
          },
        }),
    });
    this.#srv = createServer((req, res) => {
      this.requests++;
      const status = this.statuses.shift() ?? this.down;
      const path = (req.url ?? '').split('?')[0];
      if (status !== undefined) {
        req.resume();
        if (path === '/ingest') return void res.writeHead(status).end('sink says no\n');
        // The code a Pyroscope server sends with such a status.
        const code = ({ 400: Code.InvalidArgument, 401: Code.Unauthenticated, 403: Code.PermissionDenied, 429: Code.ResourceExhausted } as Record<number, Code>)[status] ?? codeFromHttpStatus(status);
        res.writeHead(status, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ code: codeName(code), message: 'sink says no' }));
      }
      if (path === '/ingest') {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          this.ingests.push({ query: new URL(req.url ?? '/', 'http://x').searchParams, contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks), headers: req.headers });
          res.writeHead(200).end();
        });
        return;
      }
      adapter(req, res);
    });
    await new Promise<void>((r) => this.#srv!.listen(port, '127.0.0.1', () => r()));
    const a = this.#srv.address();
    this.port = a && typeof a === 'object' ? a.port : 0;
  }

  async stop(): Promise<void> {
    const s = this.#srv;
    this.#srv = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  /** Polls `cond` until true or `timeoutMs` passed (then throws with `what`). */
  async waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * A CPU-like pprof profile built with `pprof-format`: `stacks` distinct stacks of `depth` frames
 * over `functions` functions; gzip-compressed unless `gzip` is false. Deterministic for a seed.
 */
export function makePprof(o: { stacks?: number; depth?: number; functions?: number; seed?: number; gzip?: boolean } = {}): Buffer {
  const stacks = o.stacks ?? 20;
  const depth = o.depth ?? 8;
  const functions = o.functions ?? 50;
  let x = (o.seed ?? 1) >>> 0 || 1;
  const rnd = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const st = new StringTable();
  const fns = Array.from({ length: functions }, (_, i) => new PFunction({ id: i + 1, name: st.dedup(`pkg/module${i % 7}.Function${i}_${rnd(1000)}`), systemName: st.dedup(`function${i}`), filename: st.dedup(`/src/pkg/module${i % 7}/file${i}.go`) }));
  const locs = fns.map((f, i) => new Location({ id: i + 1, address: 0x400000 + i * 16, line: [new Line({ functionId: f.id, line: 10 + rnd(500) })] }));
  const sample = Array.from({ length: stacks }, () => new Sample({ locationId: Array.from({ length: depth }, () => locs[rnd(locs.length)]!.id), value: [1 + rnd(100), (1 + rnd(100)) * 10_000_000] }));
  const p = new Profile({
    sampleType: [new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }), new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') })],
    sample,
    location: locs,
    function: fns,
    stringTable: st,
    timeNanos: 1_700_000_000_000_000_000n,
    durationNanos: 10_000_000_000,
    periodType: new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
    period: 10_000_000,
  });
  const raw = Buffer.from(p.encode());
  return o.gzip === false ? raw : gzipSync(raw);
}
