/**
 * Microbenchmarks of the remote-write hot path, run with:
 *   npm run build:bench && node dist-bench/bench/remote-write-codec.js
 *
 * Prints: snappy native (napi-rs) vs pure-JS (snappyjs) compress/uncompress MB/s on a realistic
 * WriteRequest and their ratio; WriteRequest encode and decode throughput in samples/s; WAL
 * record encode throughput. Peers are measured in the same run on the same input.
 */
import { implementations, snappyImpl } from '../collector/src/prom/snappy/snappy.js';
import { encodeLabels, WriteRequestDecoder, WriteRequestEncoder } from '../collector/src/prom/remotewrite/proto.js';
import { encodeAppendRecord } from '../collector/src/prom/wal/records.js';
import type { Labels } from '../collector/src/prom/types.js';

function timeIt(fn: () => void, minMs = 500): number {
  // Warm up, then run for at least minMs; returns ops per second.
  for (let i = 0; i < 20; i++) fn();
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 10; i++) fn();
    ops += 10;
    t = performance.now();
  }
  return (ops * 1000) / (t - t0);
}

const SERIES = 2000;
const series: Labels[] = [];
for (let i = 0; i < SERIES; i++) {
  series.push([
    { name: '__name__', value: `node_network_receive_bytes_total` },
    { name: 'device', value: `eth${i % 16}` },
    { name: 'instance', value: `host-${Math.floor(i / 16)}.example.internal:9100` },
    { name: 'job', value: 'node' },
    { name: 'shard', value: String(i) },
  ]);
}
const labelBytes = series.map((s) => encodeLabels(s));
const now = Date.now();
const enc = new WriteRequestEncoder();
const build = (): Buffer => {
  enc.reset();
  for (let i = 0; i < SERIES; i++) enc.addSample(labelBytes[i]!, now + i, i * 1.5 + 1e9);
  return enc.finish();
};
const raw = Buffer.from(build());
const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(1)}k`);

console.log(`WriteRequest: ${SERIES} samples, ${raw.length} bytes raw; default snappy = ${snappyImpl}`);

const impls: [string, { compress(b: Uint8Array): Uint8Array; uncompress(b: Uint8Array): Uint8Array } | undefined][] = [
  ['ours (pure-JS encoder and strict decoder)', implementations.js],
  ['snappyjs', implementations.snappyjs],
  ['snappy napi-rs', implementations.native],
];
const speeds: Record<string, { c: number; u: number }> = {};
// Interleave rounds so background load hits every implementation alike.
for (let round = 0; round < 3; round++) {
  for (const [name, impl] of impls) {
    if (!impl) continue;
    const comp = impl.compress(raw);
    const c = timeIt(() => impl.compress(raw), 200);
    const u = timeIt(() => impl.uncompress(comp), 200);
    const prev = speeds[name] ?? { c: 0, u: 0 };
    speeds[name] = { c: Math.max(prev.c, (c * raw.length) / 1e6), u: Math.max(prev.u, (u * raw.length) / 1e6) };
  }
}
for (const [name, impl] of impls) {
  if (!impl) console.log(`${name}: not loadable on this platform`);
  else console.log(`${name}: compress ${speeds[name]!.c.toFixed(0)} MB/s, uncompress ${speeds[name]!.u.toFixed(0)} MB/s (best of 3)`);
}
const ours = speeds[impls[0]![0]]!;
const nat = speeds['snappy napi-rs'];
if (nat) console.log(`ours ÷ napi-rs: compress ${(ours.c / nat.c).toFixed(2)}x, uncompress ${(ours.u / nat.u).toFixed(2)}x`);
console.log(`ours ÷ snappyjs: compress ${(ours.c / speeds['snappyjs']!.c).toFixed(2)}x, uncompress ${(ours.u / speeds['snappyjs']!.u).toFixed(2)}x`);

const encOps = timeIt(build);
console.log(`encode WriteRequest: ${fmt(encOps * SERIES)} samples/s`);
const dec = new WriteRequestDecoder();
const decOps = timeIt(() => dec.decode(raw));
console.log(`decode WriteRequest (series cache warm): ${fmt(decOps * SERIES)} samples/s`);
const cold = timeIt(() => new WriteRequestDecoder().decode(raw), 300);
console.log(`decode WriteRequest (cold cache, every series new): ${fmt(cold * SERIES)} samples/s`);

const refs = new Uint32Array(SERIES).map((_, i) => i + 1);
const ts = new Float64Array(SERIES).fill(now);
const vals = new Float64Array(SERIES).map((_, i) => i);
const walOps = timeIt(() => encodeAppendRecord({ series: [], refs, timestamps: ts, values: vals, length: SERIES }));
console.log(`WAL record encode: ${fmt(walOps * SERIES)} samples/s`);
