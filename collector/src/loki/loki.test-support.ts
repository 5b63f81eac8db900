/**
 * Test-only helpers for the logs pipeline (unit tests, `e2e/logs`, `bench/logs*`): a tiny
 * Loki-compatible push sink that decodes snappy protobuf (and JSON) bodies and records every
 * entry. Not imported by production code.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { uncompress } from '../prom/snappy/snappy.js';
import { formatStreamLabels, StreamLabelsCache } from './labels.js';
import { decodePushJson, PushRequestDecoder } from './push.js';
import type { LogEntry } from './types.js';

export interface SinkEntry {
  /** Formatted stream labels. */
  readonly stream: string;
  readonly line: string;
  readonly entry: LogEntry;
  readonly headers: IncomingHttpHeaders;
}

export class LokiSink {
  readonly entries: SinkEntry[] = [];
  requests = 0;
  /** Status codes to answer, consumed one per request; 204 (and recording) once empty. */
  readonly statuses: number[] = [];
  /** Answer 503 to everything while true (nothing is recorded). */
  down = false;
  port = 0;
  /** Address it listens on (loopback unless `start` is given another, e.g. a pod network gateway). */
  host = '127.0.0.1';
  #srv: Server | undefined;
  readonly #cache = new StreamLabelsCache();
  readonly #dec = new PushRequestDecoder(this.#cache);

  get url(): string {
    return `http://${this.host}:${this.port}/loki/api/v1/push`;
  }

  async start(port = 0, host = '127.0.0.1'): Promise<void> {
    this.host = host;
    this.#srv = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        const status = this.down ? 503 : (this.statuses.shift() ?? 204);
        if (status === 204) {
          try {
            const body = Buffer.concat(chunks);
            const got = (req.headers['content-type'] ?? '').startsWith('application/json')
              ? decodePushJson(body.toString('utf8'), this.#cache)
              : this.#dec.decode(uncompress(body));
            for (const e of got) this.entries.push({ stream: formatStreamLabels(e.labels), line: e.line, entry: e, headers: req.headers });
          } catch (err: unknown) {
            res.writeHead(400).end(String(err));
            return;
          }
        }
        res.writeHead(status).end(status === 204 ? undefined : `status ${status}`);
      });
    });
    await new Promise<void>((r) => this.#srv!.listen(port, host, r));
    const a = this.#srv.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  lines(): string[] {
    return this.entries.map((e) => e.line);
  }

  async until(n: number, ms = 10_000): Promise<void> {
    const end = Date.now() + ms;
    while (this.entries.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    if (this.entries.length < n) throw new Error(`sink got ${this.entries.length} entries, wanted ${n}`);
  }

  async stop(): Promise<void> {
    this.#srv?.closeAllConnections();
    await new Promise<void>((r) => (this.#srv ? this.#srv.close(() => r()) : r()));
  }
}
