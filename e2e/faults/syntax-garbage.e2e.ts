// Issue 13 item 3: reloading garbage (64 KiB of random bytes) is refused quickly with a bounded
// report, and a running receiver keeps serving pushes while it happens. One `alloy run` with
// prometheus.receive_http → prometheus.remote_write → an in-process sink; a client pushes back to
// back while the config file is replaced by garbage and `/-/reload` is called, several times.
//
// Figures measured in the same run, with bounds generous enough for a loaded 2-core box (they
// detect the failure, a stall of seconds, not small noise): the reload's answer (status, size,
// time), each push's latency against the same client's latency before any reload, and the
// collector's own event-loop lag (`nodejs_eventloop_lag_max_seconds`, reset at every scrape).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jest } from '@jest/globals';
import { encodeLabels, WriteRequestEncoder } from '../../collector/src/prom/remotewrite/proto.js';
import { compress } from '../../collector/src/prom/snappy/snappy.js';
import { garbageBytes } from '../../collector/src/syntax/garbage.test-support.js';
import { freePort, metricValue, Sink, startAlloy, stopAll, until } from '../metrics/harness.js';
import { reportFault } from './report.js';

jest.setTimeout(120_000);


function payload(i: number): Buffer {
  const enc = new WriteRequestEncoder();
  enc.addSample(encodeLabels([{ name: '__name__', value: 'garbage_reload_probe' }, { name: 'i', value: String(i) }]), Date.now(), i);
  return compress(enc.finish());
}

async function push(url: string, i: number): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' },
    body: payload(i),
  });
  await r.arrayBuffer();
  return { status: r.status, ms: performance.now() - t0 };
}

function max(xs: readonly number[]): number {
  return xs.reduce((a, b) => Math.max(a, b), 0);
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function eventLoopLagMaxMs(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const v = metricValue(text, /^nodejs_eventloop_lag_max_seconds (\S+)$/m);
  if (v === undefined) throw new Error('nodejs_eventloop_lag_max_seconds missing from /metrics');
  return v * 1000;
}

describe('fault: garbage config reload', () => {
  let dir: string;
  let sink: Sink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-syntax-garbage-'));
    sink = new Sink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('answers 400 fast with a bounded report while pushes to a running receiver keep flowing', async () => {
    const port = await freePort();
    const good = `prometheus.receive_http "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [prometheus.remote_write.out.receiver]
}

prometheus.remote_write "out" {
  endpoint {
    url = "http://127.0.0.1:${sink.port}/api/v1/push"
  }
}
`;
    const alloy = await startAlloy(dir, 'garbage', good);
    const cfgPath = path.join(dir, 'garbage.alloy');
    const url = `http://127.0.0.1:${port}/api/v1/metrics/write`;
    await until('the receiver to accept pushes', async () => (await push(url, -1)).status === 204);

    // The client's own latency with nothing else going on (includes this box's noise).
    let n = 0;
    const baseline: number[] = [];
    for (let i = 0; i < 40; i++) baseline.push((await push(url, n++)).ms);
    const baselineMax = max(baseline);

    const RELOADS = 4;
    const during: number[] = [];
    const reloads: Array<{ status: number; ms: number; bytes: number; body: string; lagMs: number }> = [];
    for (let r = 0; r < RELOADS; r++) {
      writeFileSync(cfgPath, garbageBytes(64 * 1024, 1000 + r));
      await eventLoopLagMaxMs(alloy.base); // resets the lag histogram
      let done = false;
      let pushed = 0;
      const pusher = (async () => {
        // Back to back while the reload runs, and at least 10 per round.
        while (!done || pushed < 10) {
          const p = await push(url, n++);
          expect(p.status).toBe(204);
          during.push(p.ms);
          pushed++;
        }
      })();
      await until('the first push of the round', () => pushed > 0, 10_000, 5);
      const t0 = performance.now();
      const res = await fetch(`${alloy.base}/-/reload`, { method: 'POST' });
      const body = await res.text();
      const ms = performance.now() - t0;
      done = true;
      await pusher;
      reloads.push({ status: res.status, ms, bytes: Buffer.byteLength(body), body, lagMs: await eventLoopLagMaxMs(alloy.base) });
    }

    // The good config is still running: pushes after the reloads still reach the sink.
    writeFileSync(cfgPath, good);
    const before = sink.received;
    expect((await push(url, n++)).status).toBe(204);
    await until('samples pushed after the garbage reloads to reach the sink', () => sink.received > before);

    const lagMax = max(reloads.map((r) => r.lagMs));
    reportFault({
      fault: 'syntax-garbage',
      case: `${RELOADS} reloads of 64 KiB random bytes, pushes concurrent (pushes)`,
      tried: during.length,
      survived: during.length,
      lost: 0,
      duplicated: 0,
      note:
        `reload ${reloads.map((r) => `${r.status}/${r.ms.toFixed(0)}ms/${r.bytes}B`).join(', ')}; push ms median ${median(during).toFixed(1)} max ${max(during).toFixed(1)} ` +
        `(baseline median ${median(baseline).toFixed(1)} max ${baselineMax.toFixed(1)}); event-loop lag max ${lagMax.toFixed(0)}ms`,
    });

    for (const r of reloads) {
      expect(r.status).toBe(400);
      // Bounded report: at most MAX_SHOWN_DIAGNOSTICS excerpts of at most 160 columns.
      expect(r.bytes).toBeLessThan(100_000);
      // The parser stops after 100 errors (+1 saying so); 50 are spelled out.
      expect(r.body.match(/^Error: /gm)).toHaveLength(50);
      expect(r.body).toMatch(/\n\.\.\. and 51 more errors not shown \(fix the ones above first\)\n$/);
      // Failure detectors, not benchmarks: the defect took ~40 s per reload.
      expect(r.ms).toBeLessThan(5_000);
    }
    expect(during.length).toBeGreaterThan(0);
    // The issue's bound is 100 ms of extra wait on an idle box (measured there: ~50 ms max against
    // a ~17 ms baseline max). On a shared, oversubscribed 2-core box every step slows down by the
    // same factor as the quiet baseline does, so the bound scales with it: twice the baseline's
    // slowest push plus 100 ms. The defect (a ~40 s stall) fails it by two orders of magnitude.
    expect(max(during)).toBeLessThan(2 * baselineMax + 100);
    expect(lagMax).toBeLessThan(500);
  });
});
