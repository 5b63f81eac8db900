/**
 * A Prometheus remote-write receiver for journeys: listens on loopback, decodes snappy-compressed
 * WriteRequests with the collector's own decoder and keeps the samples of the series a journey
 * asks about, so it can check that data kept flowing (sample timestamps per series) while pods
 * reloaded. Answers 204 like Prometheus; a body it cannot decode gets a 400 and is counted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WriteRequestDecoder } from '../../collector/src/prom/remotewrite/proto.js';
import { uncompress } from '../../collector/src/prom/snappy/snappy.js';
import { isStaleNaN, type Labels } from '../../collector/src/prom/types.js';

/** Keeps samples of series for which `select` returns a key (e.g. the pod name); others are dropped. */
export type SeriesSelector = (labels: Labels) => string | undefined;

export interface SinkSample {
  readonly t: number;
  readonly stale: boolean;
}

export interface RemoteWriteSink {
  /** `http://<host>:PORT/api/v1/write`. */
  readonly url: string;
  /** Samples per key, in arrival order. */
  samples(key: string): readonly SinkSample[];
  /** Keys that received at least one sample. */
  keys(): string[];
  readonly rejected: number;
  close(): Promise<void>;
}

const MAX_BODY = 32 << 20;

/** `host`: the address to listen on, one the pods can reach (`127.0.0.1` on the dev cluster, the pods' gateway on the real one). */
export async function startRemoteWriteSink(select: SeriesSelector, host = '127.0.0.1'): Promise<RemoteWriteSink> {
  const decoder = new WriteRequestDecoder();
  const byKey = new Map<string, SinkSample[]>();
  let rejected = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('end', () => {
      try {
        if (req.method !== 'POST' || req.url !== '/api/v1/write') throw new Error(`${req.method ?? ''} ${req.url ?? ''}: only POST /api/v1/write`);
        if (size > MAX_BODY) throw new Error(`body of ${size} bytes is over ${MAX_BODY}`);
        const batch = decoder.decode(uncompress(Buffer.concat(chunks), MAX_BODY));
        for (let i = 0; i < batch.length; i++) {
          const key = select(batch.series[i]!);
          if (key === undefined) continue;
          let list = byKey.get(key);
          if (!list) byKey.set(key, (list = []));
          list.push({ t: batch.timestamps[i]!, stale: isStaleNaN(batch.values[i]!) });
        }
        res.writeHead(204).end();
      } catch (err: unknown) {
        rejected++;
        res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${err instanceof Error ? err.message : String(err)}\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/api/v1/write`,
    samples: (key) => byKey.get(key) ?? [],
    keys: () => [...byKey.keys()],
    get rejected() {
      return rejected;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The largest distance between consecutive distinct sample timestamps inside `[from, to]`, counting
 * the edges as samples must exist on both sides of the window. Stale markers are not data.
 */
export function largestGap(samples: readonly SinkSample[], from: number, to: number): { gapMs: number; at: number } {
  const ts = [...new Set(samples.filter((s) => !s.stale).map((s) => s.t))].sort((a, b) => a - b);
  const before = ts.filter((t) => t <= from).pop();
  const after = ts.find((t) => t >= to);
  const inside = [before ?? -Infinity, ...ts.filter((t) => t > from && t < to), after ?? Infinity];
  let gapMs = 0;
  let at = from;
  for (let i = 1; i < inside.length; i++) {
    const d = inside[i]! - inside[i - 1]!;
    if (d > gapMs) {
      gapMs = d;
      at = inside[i - 1]!;
    }
  }
  return { gapMs, at };
}
