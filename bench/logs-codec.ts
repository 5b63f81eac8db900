/**
 * Microbenchmarks of the logs push hot path, run with:
 *   npm run build:bench && node dist-bench/bench/logs-codec.js
 *
 * Prints entries/s for Loki PushRequest protobuf encode (+snappy) and decode (snappy +
 * protobuf, what loki.source.api does per request), against the peer measured in the same run
 * on the same entries: Loki's JSON push body through V8's native JSON.stringify / JSON.parse
 * (+ our JSON validation), the other wire format Loki accepts.
 */
import { compress, uncompress } from '../collector/src/prom/snappy/snappy.js';
import { formatStreamLabels, parseStreamLabels, StreamLabelsCache } from '../collector/src/loki/labels.js';
import { decodePushJson, groupStreams, PushRequestDecoder, PushRequestEncoder } from '../collector/src/loki/push.js';
import { timestampToNanoString, type LogEntry } from '../collector/src/loki/types.js';

function timeIt(fn: () => void, minMs = 500): number {
  for (let i = 0; i < 5; i++) fn();
  let ops = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    fn();
    ops++;
    t = performance.now();
  }
  return (ops * 1000) / (t - t0);
}

const N = 5000;
const streams = Array.from({ length: 20 }, (_, i) => parseStreamLabels(`{filename="/var/log/app-${i}.log", job="varlogs", host="node-${i % 4}"}`));
const now = Date.now();
const entries: LogEntry[] = Array.from({ length: N }, (_, i) => ({
  labels: streams[i % streams.length]!,
  line: `level=info ts=2026-11-25T10:00:${String(i % 60).padStart(2, '0')}Z caller=handler.go:${i % 500} msg="request served" method=GET path=/api/v1/items/${i} status=200 duration_ms=${i % 97}`,
  timestampMs: now + i,
  timestampNanos: i % 1000,
}));
const grouped = groupStreams(entries, formatStreamLabels);
const enc = new PushRequestEncoder();
const body = compress(enc.encode(grouped));
const toJson = (): string =>
  JSON.stringify({ streams: grouped.map((s) => ({ stream: Object.fromEntries(s.entries[0]!.labels.map((l) => [l.name, l.value])), values: s.entries.map((e) => [timestampToNanoString(e), e.line]) })) });
const json = toJson();
const dec = new PushRequestDecoder();
const cache = new StreamLabelsCache();

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${(n / 1e3).toFixed(0)}k`);
console.log(`PushRequest: ${N} entries in ${grouped.length} streams; snappy protobuf ${body.length} bytes, JSON ${json.length} bytes`);
const pe = timeIt(() => compress(enc.encode(grouped))) * N;
const je = timeIt(() => toJson()) * N;
console.log(`encode: protobuf+snappy ${fmt(pe)} entries/s, JSON.stringify ${fmt(je)} entries/s, ratio ${(pe / je).toFixed(2)}x`);
const pd = timeIt(() => dec.decode(uncompress(body))) * N;
const jd = timeIt(() => decodePushJson(json, cache)) * N;
const jp = timeIt(() => JSON.parse(json)) * N;
console.log(`decode: snappy+protobuf ${fmt(pd)} entries/s, JSON (parse+validate) ${fmt(jd)} entries/s, ratio ${(pd / jd).toFixed(2)}x; bare JSON.parse ${fmt(jp)} entries/s, ratio ${(pd / jp).toFixed(2)}x`);
