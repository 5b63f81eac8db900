/**
 * The two halves of decoding remote-write bodies off the main thread.
 *
 * `CompactDecoder` (runs in a decode worker, or inline): snappy body → `WriteRequestDecoder` →
 * a `CompactBatch` that names each sample's series by a number instead of a `Labels` object, so
 * the batch crosses threads as three transferable typed arrays plus the label sets of series the
 * other side has not seen yet.
 *
 * `SeriesTable` (main thread): turns a `CompactBatch` back into the `DecodedWriteRequest` the
 * pipeline consumes, with one `Labels` object per distinct series for as long as any decoder still
 * knows it (shared across decoders by the label set), so downstream identity caches (relabel,
 * WAL) keep hitting.
 *
 * Contracts:
 * - Series ids are per decoder and dense (reused). A decoder announces an id in `defs` of the first
 *   batch that uses it and in `dead` of a later batch once it forgot it, and gives it to a new
 *   series only in a batch after that one; a table handles the batches of one decoder in the order
 *   they were produced (a worker's messages are FIFO), so an id means one series whenever a batch
 *   names it, and ids stay below the number of series the decoder holds.
 * - Errors are data (`{ error: { status, message } }`): 400 for bodies that are not snappy or not a
 *   WriteRequest, 413 above the decoded limit. Nothing is thrown across the thread boundary.
 * - The decoded result is the same as `WriteRequestDecoder({ validateSeries: true })` on the
 *   snappy-decoded body: samples, order, rejected series, metadata, exemplars.
 */
import { SnappyError, uncompress, uncompressedLength } from '../../../prom/snappy/snappy.js';
import { countTimeseries, ProtoError, WriteRequestDecoder, type DecodedWriteRequest, type DecoderOptions, type MetricMetadata, type RejectedSeries } from '../../../prom/remotewrite/proto.js';
import type { Exemplar, Label, Labels } from '../../../prom/types.js';

/** What a decoder answers for one body. */
export type DecodeResult = { readonly batch: CompactBatch } | { readonly error: { readonly status: 400 | 413; readonly message: string } };

export interface CompactBatch {
  /** Series id of each sample. */
  readonly ids: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
  /** Series first named by this batch: id followed by its flat `name, value, name, value, …`. */
  readonly defs: readonly (readonly [number, readonly string[]])[];
  /** Ids this decoder forgot since its previous batch; they are not named again. */
  readonly dead: readonly number[];
  /** TimeSeries entries in the body (what the request costs in the receive budget). */
  readonly timeseries: number;
  /** Decoded (uncompressed) bytes. */
  readonly decodedBytes: number;
  readonly exemplars?: ReadonlyMap<number, Exemplar>;
  readonly metadata: readonly MetricMetadata[];
  readonly histogramsDropped: number;
  readonly exemplarsDropped: number;
  readonly rejected?: RejectedSeries;
  /** The decoder's series cache after this batch (see `SeriesCacheStats`). */
  readonly seriesCache: SeriesCacheStats;
}

/** A decoder's series cache: what it holds, what it may hold at its current size, and its bound. */
export interface SeriesCacheStats {
  readonly series: number;
  readonly capacity: number;
  readonly bound: number;
}

/** The series cache figures of a `WriteRequestDecoder` (two generations each). */
export function seriesCacheStats(d: WriteRequestDecoder): SeriesCacheStats {
  return { series: d.cachedSeries, capacity: 2 * d.cacheCapacity, bound: 2 * d.maxCacheCapacity };
}

/** Snappy + protobuf decoding with series ids; one instance per thread. */
export class CompactDecoder {
  readonly #decoder: WriteRequestDecoder;
  readonly #maxDecoded: number;
  readonly #limitName: string;
  /** Ids of the `Labels` objects the protobuf decoder's series cache holds. */
  readonly #ids = new WeakMap<Labels, number>();
  #nextId = 0;
  #dead: number[] = [];
  /** Ids already announced dead: free for series of the next batches. */
  readonly #free: number[] = [];
  readonly #finalizer = new FinalizationRegistry<number>((id) => this.#dead.push(id));

  constructor(opts: { maxDecodedBytes: number; limitName: string; seriesCache?: Omit<DecoderOptions, 'validateSeries'> }) {
    this.#maxDecoded = opts.maxDecodedBytes;
    this.#limitName = opts.limitName;
    this.#decoder = new WriteRequestDecoder({ ...opts.seriesCache, validateSeries: true });
  }

  decode(body: Uint8Array): DecodeResult {
    let raw: Buffer;
    try {
      const len = uncompressedLength(body);
      if (len > this.#maxDecoded) return { error: { status: 413, message: `snappy body decodes to ${len} bytes, more than ${this.#limitName} (${this.#maxDecoded} bytes)` } };
      raw = uncompress(body, this.#maxDecoded);
    } catch (err: unknown) {
      if (err instanceof SnappyError) return { error: { status: 400, message: `snappy decode error: ${err.message}` } };
      return { error: { status: 400, message: `snappy decode error: ${err instanceof Error ? err.message : String(err)}` } };
    }
    let d: DecodedWriteRequest;
    try {
      d = this.#decoder.decode(raw);
    } catch (err: unknown) {
      if (err instanceof ProtoError) return { error: { status: 400, message: `protobuf decode error: ${err.message}` } };
      return { error: { status: 400, message: `protobuf decode error: ${err instanceof Error ? err.message : String(err)}` } };
    }
    const n = d.length;
    const ids = new Uint32Array(n);
    const defs: [number, string[]][] = [];
    const series = d.series;
    let prev: Labels | undefined;
    let prevId = 0;
    for (let i = 0; i < n; i++) {
      const labels = series[i]!;
      if (labels !== prev) {
        let id = this.#ids.get(labels);
        if (id === undefined) {
          id = this.#free.pop() ?? this.#nextId++;
          this.#ids.set(labels, id);
          this.#finalizer.register(labels, id);
          defs.push([id, flatten(labels)]);
        }
        prev = labels;
        prevId = id;
      }
      ids[i] = prevId;
    }
    const dead = this.#dead;
    this.#dead = [];
    for (const id of dead) this.#free.push(id);
    // The decoder's arrays may be views of larger buffers: copy so each crosses threads alone.
    const batch: CompactBatch = {
      ids,
      timestamps: ownBuffer(d.timestamps),
      values: ownBuffer(d.values),
      length: n,
      defs,
      dead,
      timeseries: countTimeseries(raw),
      decodedBytes: raw.length,
      metadata: d.metadata,
      histogramsDropped: d.histogramsDropped,
      exemplarsDropped: d.exemplarsDropped,
      ...(d.exemplars ? { exemplars: d.exemplars } : {}),
      ...(d.rejected ? { rejected: d.rejected } : {}),
      seriesCache: seriesCacheStats(this.#decoder),
    };
    return { batch };
  }
}

/** The buffers of a batch, for `postMessage`'s transfer list. */
export function transferables(b: CompactBatch): ArrayBuffer[] {
  return [b.ids.buffer as ArrayBuffer, b.timestamps.buffer as ArrayBuffer, b.values.buffer as ArrayBuffer];
}

function ownBuffer(a: Float64Array): Float64Array {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice();
}

function flatten(labels: Labels): string[] {
  const out = new Array<string>(labels.length * 2);
  for (let i = 0; i < labels.length; i++) {
    out[2 * i] = labels[i]!.name;
    out[2 * i + 1] = labels[i]!.value;
  }
  return out;
}

interface Shared {
  readonly labels: Labels;
  refs: number;
}

/**
 * Main-thread side: decoder id → `Labels`, one `Labels` object per label set across all decoders
 * of the table (reference-counted by the decoder ids that name it).
 */
export class SeriesTable {
  readonly #byDecoder: (Shared | undefined)[][] = [];
  readonly #byKey = new Map<string, Shared>();
  readonly #names = new Map<string, string>();

  /** Distinct label sets held now. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The batch as the pipeline consumes it; `decoder` numbers the decoder that produced it. */
  resolve(decoder: number, b: CompactBatch): DecodedWriteRequest {
    const known = this.#define(decoder, b);
    const n = b.length;
    const series = new Array<Labels>(n);
    const ids = b.ids;
    let prevId = -1;
    let prev: Labels | undefined;
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (id !== prevId) {
        const s = known[id];
        if (s === undefined) throw new Error(`receive_http: decoder ${decoder} named series ${id} before defining it`);
        prev = s.labels;
        prevId = id;
      }
      series[i] = prev!;
    }
    this.#release(known, b.dead);
    return {
      series,
      timestamps: b.timestamps,
      values: b.values,
      length: n,
      metadata: b.metadata,
      histogramsDropped: b.histogramsDropped,
      exemplarsDropped: b.exemplarsDropped,
      ...(b.exemplars ? { exemplars: b.exemplars } : {}),
      ...(b.rejected ? { rejected: b.rejected } : {}),
    };
  }

  /** Takes in a batch's series definitions and releases without building it (the request was refused). */
  skip(decoder: number, b: CompactBatch): void {
    this.#release(this.#define(decoder, b), b.dead);
  }

  #define(decoder: number, b: CompactBatch): (Shared | undefined)[] {
    const known = (this.#byDecoder[decoder] ??= []);
    for (const [id, flat] of b.defs) {
      const key = flat.join('\u0000');
      let s = this.#byKey.get(key);
      if (s === undefined) {
        s = { labels: this.#labels(flat), refs: 0 };
        this.#byKey.set(key, s);
      }
      s.refs++;
      const old = known[id];
      if (old !== undefined && --old.refs === 0) this.#byKey.delete(flatKey(old.labels));
      known[id] = s;
    }
    return known;
  }

  /** Forgotten ids are released after their batch, which cannot name them (they died before it was built). */
  #release(known: (Shared | undefined)[], dead: readonly number[]): void {
    for (const id of dead) {
      const s = known[id];
      if (s === undefined) continue;
      known[id] = undefined;
      if (--s.refs === 0) this.#byKey.delete(flatKey(s.labels));
    }
  }

  /** Forgets every id of a decoder that is gone (its worker exited). */
  dropDecoder(decoder: number): void {
    const known = this.#byDecoder[decoder];
    if (!known) return;
    for (const s of known) if (s !== undefined && --s.refs === 0) this.#byKey.delete(flatKey(s.labels));
    this.#byDecoder[decoder] = [];
  }

  #labels(flat: readonly string[]): Labels {
    const out: Label[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const name = flat[i]!;
      let interned = this.#names.get(name);
      if (interned === undefined) {
        interned = name;
        if (this.#names.size < 10_000) this.#names.set(name, name);
      }
      out.push({ name: interned, value: flat[i + 1]! });
    }
    return out;
  }
}

function flatKey(labels: Labels): string {
  let k = '';
  for (let i = 0; i < labels.length; i++) k += (i === 0 ? '' : '\u0000') + labels[i]!.name + '\u0000' + labels[i]!.value;
  return k;
}
