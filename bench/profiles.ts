/**
 * The profiles push path on one core: a collector (pinned with `taskset -c 0` when available)
 * running pyroscope.receive_http → pyroscope.write, fed PushRequests of one ~50 KB gzipped
 * pprof each (CONCURRENCY at a time) and forwarding them to a Connect sink in this process.
 * Prints profiles/s, MB/s (compressed profile bytes) and the collector's peak RSS, next to the
 * floor measured in the same run on the same payloads: bare gunzip + pprof decode
 * (`pprof-format`) in this process, and gunzip + the collector's own structural check.
 * Run with:
 *   npm run build:bench && node dist-bench/bench/profiles.js
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { encodePush } from '../collector/src/pyroscope/push.js';
import { checkPprofPayload } from '../collector/src/pyroscope/formats.js';
import { makePprof, PyroscopeSink } from '../collector/src/pyroscope/pyroscope.test-support.js';
import { freePort, startAlloy, stopAll, until } from '../e2e/metrics/harness.js';

const REQUESTS = Number(process.env['REQUESTS'] ?? 2000);
const DISTINCT = 50;
const CONCURRENCY = 8;

function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const profiles = Array.from({ length: DISTINCT }, (_, i) => makePprof({ stacks: 850, depth: 16, functions: 800, seed: i + 1 }));
  const avgKb = profiles.reduce((s, p) => s + p.length, 0) / profiles.length / 1024;
  const bodies = profiles.map((p, i) => Buffer.from(encodePush([{ labels: [{ name: 'service_name', value: 'bench' }, { name: '__name__', value: 'process_cpu' }, { name: 'pod', value: `pod-${i}` }], samples: [{ rawProfile: p }] }])));
  const totalMb = (n: number): number => (n * avgKb) / 1024;

  // Floor: bare gunzip + decode of the same payloads, and gunzip + this collector's check.
  const floor = (fn: (b: Buffer) => void): number => {
    for (let i = 0; i < 200; i++) fn(profiles[i % DISTINCT]!);
    const t0 = performance.now();
    for (let i = 0; i < REQUESTS; i++) fn(profiles[i % DISTINCT]!);
    return REQUESTS / ((performance.now() - t0) / 1000);
  };
  const decodeRate = floor((b) => void Profile.decode(gunzipSync(b)));
  const checkRate = floor((b) => void checkPprofPayload(b, 64 << 20));

  const sink = new PyroscopeSink();
  await sink.start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-profiles-'));
  const port = await freePort();
  const pinned = hasTaskset();
  try {
    const alloy = await startAlloy(
      dir,
      'profiles-proxy',
      `pyroscope.receive_http "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [pyroscope.write.out.receiver]
}

pyroscope.write "out" {
  endpoint {
    url = "${sink.url}"
  }
}
`,
    );
    const pid = alloy.proc.pid!;
    if (pinned) execFileSync('taskset', ['-a', '-p', '-c', '0', String(pid)], { stdio: 'ignore' });
    const url = `http://127.0.0.1:${port}/push.v1.PusherService/Push`;
    const drive = async (n: number): Promise<number> => {
      const want = sink.pushes.length + n;
      let next = 0;
      const t0 = performance.now();
      const worker = async (): Promise<void> => {
        while (next < n) {
          const body = bodies[next++ % DISTINCT]!;
          const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/proto', 'connect-protocol-version': '1' }, body });
          await r.arrayBuffer();
          if (r.status !== 200) throw new Error(`receive_http answered ${r.status}`);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      await until('the sink to have every profile', () => sink.pushes.length >= want || undefined, 60_000, 10);
      return n / ((performance.now() - t0) / 1000);
    };
    await drive(200); // warm-up
    const rate = await drive(REQUESTS);
    const rss = peakRssMb(pid);
    const row = (name: string, r: number): string => `${name.padEnd(46)} ${r.toFixed(0).padStart(8)} profiles/s ${(r * avgKb / 1024).toFixed(1).padStart(8)} MB/s`;
    console.log(`profiles push path, ${REQUESTS} PushRequests of one ${avgKb.toFixed(1)} KB gzipped pprof each, concurrency ${CONCURRENCY}${pinned ? ', collector pinned to CPU 0' : ''}`);
    console.log(row('receive_http → write → sink (collector)', rate));
    console.log(row('floor: gunzip + pprof-format decode', decodeRate));
    console.log(row('floor: gunzip + structural check (ours)', checkRate));
    console.log(`collector peak RSS: ${rss.toFixed(0)} MB; ${totalMb(REQUESTS + 200).toFixed(0)} MB of profiles went through`);
    console.log(`ratio collector / decode floor: ${(rate / decodeRate).toFixed(2)}; collector / check floor: ${(rate / checkRate).toFixed(2)}`);
  } finally {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
