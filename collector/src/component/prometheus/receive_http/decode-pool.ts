/**
 * Where `prometheus.receive_http` decodes bodies: on the main thread, or in a pool of worker
 * threads (snappy + protobuf decoding and series validation, `decode-worker.ts`) that hand back
 * compact batches (`compact-batch.ts`) so the main thread only relabels, appends to the WAL and
 * sends.
 *
 * Contracts:
 * - `decode` resolves to the same `DecodedWriteRequest` either way; it never rejects for a bad
 *   body (that is an `error` outcome with its HTTP status) and rejects only when a worker died
 *   with the body in hand (the caller answers 5xx so the sender retries).
 * - Requests with the same affinity key (the connection) go to the same worker, so a sender that
 *   pipelines or reuses its connection sees its bodies decoded and handed back in order, and a
 *   series keeps being decoded (and cached) by one worker.
 * - Workers are started on first use, do not keep the process alive, and a worker that dies is
 *   replaced on the next request (its requests in flight are answered 503 by the caller, its
 *   series ids are released); after 3 deaths the pool decodes on the calling thread.
 * - The worker count is process-wide (`decode-workers.ts`, the run flag
 *   `--prometheus.receive-http.decode-workers`).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { countTimeseries, ProtoError, WriteRequestDecoder, type DecodedWriteRequest } from '../../../prom/remotewrite/proto.js';
import { SnappyError, uncompress, uncompressedLength } from '../../../prom/snappy/snappy.js';
import { SeriesTable, seriesCacheStats, type DecodeResult, type SeriesCacheStats } from './compact-batch.js';
import { decodeWorkers } from './decode-workers.js';

export type DecodeOutcome =
  | { readonly request: DecodedWriteRequest; readonly timeseries: number; readonly decodedBytes: number }
  | { readonly error: { readonly status: 400 | 413; readonly message: string } };

export interface DecodePoolOptions {
  /** Worker threads; 0 decodes on the calling thread. */
  readonly workers: number;
  readonly maxDecodedBytes: number;
  /** Named in 413 answers, e.g. "the decoded remote-write limit". */
  readonly limitName: string;
  /** The worker script; defaults to the compiled `decode-worker.js` beside this module. */
  readonly workerUrl?: URL;
}

interface Slot {
  /** Decoder number of the running worker (never reused; keys the series table). */
  decoder: number;
  worker: Worker | undefined;
  /** The worker's series cache as of its last batch. */
  cache: SeriesCacheStats | undefined;
  readonly pending: Map<number, { resolve: (o: DecodeOutcome) => void; reject: (e: Error) => void; admit: (timeseries: number) => void }>;
}

const WORKER_URL = new URL('./decode-worker.js', import.meta.url);
/** After this many worker deaths (e.g. a worker that cannot start) the pool stops using workers. */
const MAX_WORKER_DEATHS = 3;

export class DecodePool {
  readonly #opts: DecodePoolOptions;
  readonly #slots: Slot[] = [];
  readonly #table = new SeriesTable();
  readonly #affinity = new WeakMap<object, Slot>();
  #inline: WriteRequestDecoder | undefined;
  #nextDecoder = 0;
  #seq = 0;
  #closed = false;
  /** Workers that died; from `MAX_WORKER_DEATHS` on, bodies are decoded inline. */
  #deaths = 0;

  constructor(opts: DecodePoolOptions) {
    this.#opts = opts;
    const url = opts.workerUrl ?? WORKER_URL;
    // Run from TypeScript sources (tests) there is no compiled worker script: decode inline.
    const workers = opts.workers > 0 && existsSync(fileURLToPath(url)) ? opts.workers : 0;
    for (let i = 0; i < workers; i++) this.#slots.push({ decoder: -1, worker: undefined, cache: undefined, pending: new Map() });
  }

  /** Worker threads in use (0: inline). */
  get workers(): number {
    return this.#deaths >= MAX_WORKER_DEATHS ? 0 : this.#slots.length;
  }

  /** Distinct series the main thread holds `Labels` for on behalf of the workers. */
  get sharedSeries(): number {
    return this.#table.size;
  }

  /**
   * The decoders' series caches summed (the inline decoder's and each running worker's as of its
   * last batch): series held, series they may hold at their current size, and their bound.
   */
  get seriesCache(): SeriesCacheStats {
    let series = 0;
    let capacity = 0;
    let bound = 0;
    const add = (c: SeriesCacheStats | undefined): void => {
      if (c === undefined) return;
      series += c.series;
      capacity += c.capacity;
      bound += c.bound;
    };
    if (this.#inline) add(seriesCacheStats(this.#inline));
    for (const s of this.#slots) if (s.worker) add(s.cache);
    return { series, capacity, bound };
  }

  /**
   * Decodes one snappy body. `admit(timeseries)` runs before the main thread builds the batch's
   * series (so the caller can budget them); what it throws rejects the promise.
   */
  decode(body: Buffer, affinity: object, admit: (timeseries: number) => void): Promise<DecodeOutcome> {
    if (this.#slots.length === 0 || this.#closed || this.#deaths >= MAX_WORKER_DEATHS) {
      try {
        return Promise.resolve(this.#decodeInline(body, admit));
      } catch (err: unknown) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
    let slot = this.#affinity.get(affinity);
    if (slot === undefined) {
      slot = this.#slots[0]!;
      for (const s of this.#slots) if (s.pending.size < slot.pending.size) slot = s;
      this.#affinity.set(affinity, slot);
    }
    const worker = this.#start(slot);
    const seq = this.#seq++;
    // Transfer the body when it owns its memory; a view into a shared pool is copied.
    const own = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
    const data = own ? new Uint8Array(body.buffer, 0, body.byteLength) : new Uint8Array(body);
    return new Promise<DecodeOutcome>((resolve, reject) => {
      slot.pending.set(seq, { resolve, reject, admit });
      worker.postMessage({ seq, body: data }, [data.buffer as ArrayBuffer]);
    });
  }

  /** Stops the workers; later calls decode inline. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#slots.map((s) => s.worker?.terminate()));
  }

  #decodeInline(body: Buffer, admit: (timeseries: number) => void): DecodeOutcome {
    const max = this.#opts.maxDecodedBytes;
    let raw: Buffer;
    try {
      const len = uncompressedLength(body);
      if (len > max) return { error: { status: 413, message: `snappy body decodes to ${len} bytes, more than ${this.#opts.limitName} (${max} bytes)` } };
      raw = uncompress(body, max);
    } catch (err: unknown) {
      return { error: { status: 400, message: `snappy decode error: ${err instanceof SnappyError || err instanceof Error ? err.message : String(err)}` } };
    }
    const timeseries = countTimeseries(raw);
    admit(timeseries);
    try {
      const request = (this.#inline ??= new WriteRequestDecoder({ validateSeries: true })).decode(raw);
      return { request, timeseries, decodedBytes: raw.length };
    } catch (err: unknown) {
      if (err instanceof ProtoError) return { error: { status: 400, message: `protobuf decode error: ${err.message}` } };
      throw err;
    }
  }

  #start(slot: Slot): Worker {
    if (slot.worker) return slot.worker;
    const decoder = this.#nextDecoder++;
    const w = new Worker(this.#opts.workerUrl ?? WORKER_URL, {
      workerData: { maxDecodedBytes: this.#opts.maxDecodedBytes, limitName: this.#opts.limitName },
    });
    w.unref();
    slot.worker = w;
    slot.decoder = decoder;
    w.on('message', (msg: { seq: number; result: DecodeResult }) => {
      const p = slot.pending.get(msg.seq);
      if (!p) return;
      slot.pending.delete(msg.seq);
      const r = msg.result;
      if ('batch' in r) slot.cache = r.batch.seriesCache;
      if ('error' in r) {
        p.resolve({ error: r.error });
        return;
      }
      try {
        p.admit(r.batch.timeseries);
      } catch (err: unknown) {
        this.#table.skip(decoder, r.batch);
        p.reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      try {
        p.resolve({ request: this.#table.resolve(decoder, r.batch), timeseries: r.batch.timeseries, decodedBytes: r.batch.decodedBytes });
      } catch (err: unknown) {
        p.reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
    const gone = (why: string): void => {
      if (slot.worker !== w) return;
      slot.worker = undefined;
      slot.cache = undefined;
      this.#deaths++;
      this.#table.dropDecoder(decoder);
      const pending = [...slot.pending.values()];
      slot.pending.clear();
      for (const p of pending) p.reject(new Error(`the decode worker stopped (${why})`));
    };
    w.on('error', (err) => gone(err.message));
    w.on('exit', (code) => gone(`exit code ${code}`));
    return w;
  }
}

let shared: DecodePool | undefined;

/** The process-wide pool every `prometheus.receive_http` shares, sized by `decode-workers.ts`. */
export function decodePool(maxDecodedBytes: number, limitName: string): DecodePool {
  shared ??= new DecodePool({ workers: decodeWorkers(), maxDecodedBytes, limitName });
  return shared;
}
