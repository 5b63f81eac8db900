/**
 * The floor `bench/logs-pipeline.ts` measures `loki.source.api → loki.write` against: the same
 * work in one plain Node.js process with no component runtime. It accepts Loki push requests
 * (snappy protobuf) on `POST /loki/api/v1/push`, decodes every entry with the collector's own
 * decoder, answers 204, and re-batches the entries like loki.write (a batch goes out at 1 MiB of
 * lines or `batchWaitMs` after its first entry, one request in flight, in order), each batch
 * grouped by stream, protobuf-encoded, snappy-compressed and posted to the sink.
 *
 *   node dist-bench/bench/logs-floor.js <sink push URL> [batchWaitMs=100]
 *
 * Prints `listening on <port>` once it accepts requests.
 */
import http from 'node:http';
import { PushRequestDecoder, PushRequestEncoder, groupStreams } from '../collector/src/loki/push.js';
import { formatStreamLabels } from '../collector/src/loki/labels.js';
import type { LogEntry } from '../collector/src/loki/types.js';
import type { Labels } from '../collector/src/prom/types.js';
import { compress, uncompress } from '../collector/src/prom/snappy/snappy.js';

const sinkUrl = new URL(process.argv[2] ?? '');
const batchWaitMs = Number(process.argv[3] ?? 100);
const BATCH_BYTES = 1 << 20;

const dec = new PushRequestDecoder();
const enc = new PushRequestEncoder();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

// The decoder hands every entry of a stream the same Labels object, so its string is made once.
const streamKeys = new WeakMap<Labels, string>();
function streamKey(ls: Labels): string {
  let k = streamKeys.get(ls);
  if (k === undefined) streamKeys.set(ls, (k = formatStreamLabels(ls)));
  return k;
}

let batch: LogEntry[] = [];
let batchBytes = 0;
let timer: NodeJS.Timeout | undefined;
const ready: LogEntry[][] = [];
let sending = false;

function send(body: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: sinkUrl.hostname, port: sinkUrl.port, path: sinkUrl.pathname, method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': body.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve());
      },
    );
    req.on('error', () => resolve());
    req.end(body);
  });
}

async function drain(): Promise<void> {
  if (sending) return;
  sending = true;
  for (let b = ready.shift(); b; b = ready.shift()) {
    await send(Buffer.from(compress(enc.encode(groupStreams(b, streamKey)))));
  }
  sending = false;
}

function cut(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (batch.length === 0) return;
  ready.push(batch);
  batch = [];
  batchBytes = 0;
  void drain();
}

function add(entries: readonly LogEntry[]): void {
  for (const e of entries) {
    batch.push(e);
    batchBytes += e.line.length;
    if (batchBytes >= BATCH_BYTES) cut();
  }
  if (batch.length > 0 && !timer) timer = setTimeout(cut, batchWaitMs);
}

http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        add(dec.decode(uncompress(Buffer.concat(chunks))));
        res.writeHead(204).end();
      } catch (err: unknown) {
        res.writeHead(400).end(String(err));
      }
    });
  })
  .listen(0, '127.0.0.1', function (this: http.Server) {
    const a = this.address();
    console.log(`listening on ${typeof a === 'object' && a ? a.port : 0}`);
  });
