// Issue 13 item 7: malformed series sent side by side to a real Prometheus 2.42 receiver and to
// prometheus.receive_http (whose remote_write forwards to a second Prometheus 2.42). The collector
// refuses invalid label names, invalid UTF-8, unsorted and duplicate labels with 400 naming the
// first bad series, and stores the valid series of mixed requests exactly as Prometheus does; the
// largest timestamp (2^63-1) is forwarded as INT64_MAX, not as a negative number.
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compress, uncompress } from '../../collector/src/prom/snappy/snappy.js';
import { ensureBuilt, freePort, requireTool, startAlloy, startPrometheus, stopAll, until, type PromProc } from '../metrics/harness.js';
import { reportFault } from './report.js';

type Bytes = number[];
const varint = (v: bigint | number): Bytes => {
  let n = BigInt(v);
  if (n < 0n) n = BigInt.asUintN(64, n);
  const out: Bytes = [];
  while (n >= 128n) {
    out.push(Number(n & 127n) | 128);
    n >>= 7n;
  }
  out.push(Number(n));
  return out;
};
const field = (tag: number, bytes: Bytes): Bytes => [tag, ...varint(bytes.length), ...bytes];
const b = (s: string | Bytes): Bytes => (typeof s === 'string' ? [...Buffer.from(s, 'utf8')] : s);
const label = (n: string | Bytes, v: string | Bytes): Bytes => field(0x0a, [...field(0x0a, b(n)), ...field(0x12, b(v))]);
function series(labels: [string | Bytes, string | Bytes][], t: bigint | number, v: number): Bytes {
  const f = Buffer.alloc(8);
  f.writeDoubleLE(v);
  return field(0x0a, [...labels.flatMap(([n, vv]) => label(n, vv)), ...field(0x12, [0x09, ...f, 0x10, ...varint(t)])]);
}
const request = (ss: Bytes[]): Buffer => compress(Buffer.from(ss.flat()));

interface Case {
  readonly name: string;
  readonly series: Bytes[];
  /** Metric names of the valid series (stored by both) and of the refused ones (Prometheus 2.42 only). */
  readonly valid: string[];
  readonly refused: string[];
  /** Prometheus 2.42 refuses the whole request (duplicates, empty label set). */
  readonly wholeRequest?: boolean;
}

describe('fault: malformed series, side by side with Prometheus 2.42', () => {
  let dir: string;
  let raw: Server | undefined;
  afterEach(async () => {
    await stopAll();
    raw?.closeAllConnections();
    await new Promise<void>((r) => (raw ? raw.close(() => r()) : r()));
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('refuses the bad series with 400 naming the first one and keeps the valid ones as Prometheus does', async () => {
    if (!requireTool('/usr/bin/prometheus', 'the side-by-side receiver test')) return;
    ensureBuilt();
    dir = mkdtempSync(path.join(os.tmpdir(), 'fault-series-'));
    const now = Date.now();
    const cases: Case[] = [
      { name: 'valid', series: [series([['__name__', 'iv_ok'], ['x', '1']], now, 1)], valid: ['iv_ok'], refused: [] },
      { name: 'invalid label name', series: [series([['__name__', 'iv_badname'], ['1x', '1']], now, 1)], valid: [], refused: ['iv_badname'] },
      { name: 'invalid UTF-8 value', series: [series([['__name__', 'iv_utf8'], ['x', [0xff, 0xfe]]], now, 1)], valid: [], refused: ['iv_utf8'] },
      { name: 'invalid UTF-8 name', series: [series([['__name__', 'iv_utf8n'], [[0xc3, 0x28], '1']], now, 1)], valid: [], refused: ['iv_utf8n'] },
      { name: 'unsorted labels', series: [series([['__name__', 'iv_unsorted'], ['z', '1'], ['a', '2']], now, 1)], valid: [], refused: ['iv_unsorted'] },
      { name: 'duplicate labels', series: [series([['__name__', 'iv_dup'], ['a', '1'], ['a', '2']], now, 1)], valid: [], refused: ['iv_dup'], wholeRequest: true },
      {
        name: 'mixed: valid, invalid name, valid',
        series: [series([['__name__', 'iv_mix_ok1']], now, 1), series([['__name__', 'iv_mix_bad'], ['1x', '1']], now, 1), series([['__name__', 'iv_mix_ok2']], now, 1)],
        valid: ['iv_mix_ok1', 'iv_mix_ok2'],
        refused: ['iv_mix_bad'],
      },
      {
        name: 'mixed: unsorted then valid',
        series: [series([['__name__', 'iv_mix3_uns'], ['z', '1'], ['a', '2']], now, 1), series([['__name__', 'iv_mix3_ok']], now, 1)],
        valid: ['iv_mix3_ok'],
        refused: ['iv_mix3_uns'],
      },
      {
        name: 'mixed: duplicate then valid',
        series: [series([['__name__', 'iv_mix2_dup'], ['a', '1'], ['a', '2']], now, 1), series([['__name__', 'iv_mix2_ok']], now, 1)],
        valid: [],
        refused: ['iv_mix2_dup', 'iv_mix2_ok'],
        wholeRequest: true,
      },
      // Both answer 204; Prometheus 2.42 does not make a sample at 2^63-1 queryable (compared below).
      { name: 'largest timestamp', series: [series([['__name__', 'iv_max_ts']], 2n ** 63n - 1n, 1)], valid: [], refused: [] },
    ];

    // Raw capture of what the collector forwards (decompressed bodies), next to the backend Prometheus.
    const bodies: Buffer[] = [];
    raw = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(uncompress(Buffer.concat(chunks)));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => raw!.listen(0, '127.0.0.1', r));
    const rawPort = (raw.address() as { port: number }).port;

    const direct = await startPrometheus(dir, 'direct', 'global: {}\n', 'server');
    const backend = await startPrometheus(dir, 'backend', 'global: {}\n', 'server');
    const recvPort = await freePort();
    const receiver = await startAlloy(
      dir,
      'receiver',
      `prometheus.receive_http "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${recvPort}
  }
  forward_to = [prometheus.remote_write.out.receiver]
}

prometheus.remote_write "out" {
  endpoint {
    url = "${backend.base}/api/v1/write"
    queue_config { batch_send_deadline = "100ms" }
  }
  endpoint {
    url = "http://127.0.0.1:${rawPort}/api/v1/push"
    queue_config { batch_send_deadline = "100ms" }
  }
}
`,
    );
    const post = async (url: string, body: Buffer): Promise<{ status: number; text: string }> => {
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' }, body });
      return { status: r.status, text: await r.text() };
    };
    const stored = async (p: PromProc, name: string): Promise<boolean> => {
      const r = (await (await fetch(`${p.base}/api/v1/series?match[]=${encodeURIComponent(`{__name__="${name}"}`)}`)).json()) as { data: unknown[] };
      return r.data.length > 0;
    };

    const rows: string[] = [];
    let refusedOk = 0;
    for (const c of cases) {
      const body = request(c.series);
      const prom = await post(`${direct.base}/api/v1/write`, body);
      const ours = await post(`http://127.0.0.1:${recvPort}/api/v1/metrics/write`, body);
      rows.push(`${c.name}: prometheus ${prom.status}, collector ${ours.status}`);
      if (c.refused.length === 0) {
        expect([c.name, ours.status]).toEqual([c.name, 204]);
        expect([c.name, prom.status]).toEqual([c.name, 204]);
      } else {
        expect([c.name, ours.status]).toEqual([c.name, 400]);
        // The message names the first bad series (the whole-request reason first when there is one).
        expect(ours.text).toContain(`invalid series {__name__="${c.refused[0]}"`);
        // Prometheus 2.42 answers 500 for whole-request problems and stores the rest.
        expect([c.name, prom.status]).toEqual([c.name, c.wholeRequest ? 500 : 204]);
        refusedOk++;
      }
    }
    // The largest timestamp left the collector as INT64_MAX (0xff×8 0x7f), never negative.
    const INT64_MAX = Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    await until('the max-timestamp sample at the raw endpoint', () => bodies.some((x) => x.includes(Buffer.from('iv_max_ts'))), 10_000, 100);
    const maxBody = bodies.find((x) => x.includes(Buffer.from('iv_max_ts')))!;
    expect(maxBody.includes(INT64_MAX)).toBe(true);
    expect(await stored(backend, 'iv_max_ts')).toBe(await stored(direct, 'iv_max_ts'));
    // Valid series: stored by both; refused ones: never forwarded by the collector.
    const allValid = cases.flatMap((c) => c.valid);
    let missing: string[] = [];
    await until('the valid series at the backend', async () => {
      missing = [];
      for (const n of allValid) if (!(await stored(backend, n))) missing.push(n);
      return missing.length === 0;
    }, 20_000, 200).catch((err: unknown) => {
      throw new Error(`${String(err)}; missing at the backend: ${missing.join(', ')}; collector log:\n${receiver.output().slice(-3000)}`);
    });
    let validSame = 0;
    for (const c of cases) {
      for (const n of c.valid) {
        expect([n, await stored(direct, n)]).toEqual([n, true]);
        expect([n, await stored(backend, n)]).toEqual([n, true]);
        validSame++;
      }
      for (const n of c.refused) {
        expect([n, await stored(backend, n)]).toEqual([n, false]);
        // Prometheus 2.42 itself stores the invalid-but-accepted ones, not whole-request refusals.
        expect([n, await stored(direct, n)]).toEqual([n, !c.wholeRequest]);
      }
    }
    reportFault({
      fault: 'invalid-series',
      case: `${cases.length} requests (valid, bad names, bad UTF-8, unsorted, duplicate, mixed, max timestamp) side by side with Prometheus 2.42 (valid series)`,
      tried: validSame,
      survived: validSame,
      lost: 0,
      duplicated: 0,
      note: `${refusedOk} requests answered 400 naming the first bad series; ${rows.join('; ')}`,
    });
  }, 120_000);
});
