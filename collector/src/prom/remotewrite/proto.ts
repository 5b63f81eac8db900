/**
 * Hand-written protobuf codec for remote-write 1.0 `prometheus.WriteRequest`
 * (prompb/remote.proto + prompb/types.proto):
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
 *                  repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }
 *   Exemplar     { repeated Label labels = 1; double value = 2; int64 timestamp = 3; }
 *   MetricMetadata { MetricType type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
 *
 * Decoding writes straight into the `SampleBatch` shape (typed arrays), allocates no object per
 * sample, and caches one `Labels` object per distinct series (keyed by the raw label bytes), so a
 * series that arrives in every request keeps the same `Labels` identity downstream.
 * Native histograms are decoded for counting only and dropped: `SampleBatch` carries floats.
 */
import { isUtf8 } from 'node:buffer';
import { utf8Length, writeUtf8 } from '../labels/utf8.js';
import type { Exemplar, Label, Labels, SampleBatch } from '../types.js';
import { hashRange, SeriesGeneration } from './series-generation.js';
import { ProtoError, ProtoWriter, putVarint32, putVarint64, readDouble, readInt64, readLen, readVarint, skipField, varintSize, varintSizeOfHalves, type Cursor } from '../../protobuf/wire.js';

/** The wire layer's error and writer, re-exported for existing importers. */
export { ProtoError, ProtoWriter };


export type MetricType =
  | 'unknown'
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'gaugehistogram'
  | 'summary'
  | 'info'
  | 'stateset';

const METRIC_TYPES: readonly MetricType[] = [
  'unknown',
  'counter',
  'gauge',
  'histogram',
  'gaugehistogram',
  'summary',
  'info',
  'stateset',
];

export interface MetricMetadata {
  readonly type: MetricType;
  readonly metricFamilyName: string;
  readonly help: string;
  readonly unit: string;
}

/**
 * Series a validating decoder (`validateSeries`) refused, with the first one named. Their samples
 * are not in the batch. `wholeRequest` is set when a refused series makes the entire request
 * invalid as Prometheus 2.42 treats it (duplicate label names, an empty label set): then the batch
 * must not be used at all.
 */
export interface RejectedSeries {
  /** The first refused series and why, e.g. `{__name__="up", 1x="a"}: label name "1x" is not valid …`. */
  readonly first: string;
  readonly series: number;
  readonly samples: number;
  readonly wholeRequest: boolean;
}

export interface DecodedWriteRequest extends SampleBatch {
  /** Set by a `validateSeries` decoder when it refused series. */
  readonly rejected?: RejectedSeries;
  readonly metadata: readonly MetricMetadata[];
  /** Native-histogram samples that were present in the request and dropped. */
  readonly histogramsDropped: number;
  /** Exemplars that could not be attached to a sample of their series and were dropped. */
  readonly exemplarsDropped: number;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes a label set as the repeated `labels = 1` fields of a TimeSeries (or Exemplar). The
 * result is cached by senders per series and copied verbatim into every request.
 */
export function encodeLabels(labels: Labels): Buffer {
  // Two passes over the label set and one allocation: sizes first, then strings written in place.
  let size = 0;
  const n = labels.length;
  const lens = n <= LABEL_LENS.length / 2 ? LABEL_LENS : new Uint32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    const nl = utf8Length(l.name);
    const vl = utf8Length(l.value);
    lens[2 * i] = nl;
    lens[2 * i + 1] = vl;
    const inner = 1 + varintSize(nl) + nl + 1 + varintSize(vl) + vl;
    size += 1 + varintSize(inner) + inner;
  }
  const out = Buffer.allocUnsafe(size);
  let p = 0;
  for (let i = 0; i < n; i++) {
    const l = labels[i]!;
    const nl = lens[2 * i]!;
    const vl = lens[2 * i + 1]!;
    out[p++] = 0x0a;
    p = putVarint32(out, p, 1 + varintSize(nl) + nl + 1 + varintSize(vl) + vl);
    out[p++] = 0x0a;
    p = putVarint32(out, p, nl);
    p = writeUtf8(out, p, l.name, nl);
    out[p++] = 0x12;
    p = putVarint32(out, p, vl);
    p = writeUtf8(out, p, l.value, vl);
  }
  return out;
}

/** Scratch for writing a double's little-endian bytes in the plain-sample path. */
const f64 = new Float64Array(1);
/** `f64`'s two 32-bit halves (low word first on the little-endian hosts this encoder assumes). */
const f64Words = new Int32Array(f64.buffer);

/** Scratch for `encodeLabels`' byte lengths (label sets larger than 64 get their own). */
const LABEL_LENS = new Uint32Array(128);

/**
 * Builds one WriteRequest incrementally: one TimeSeries per sample, as Prometheus's queue manager
 * sends them. `finish()` returns a view into the reused buffer, valid until the next `reset()`.
 */
export class WriteRequestEncoder {
  readonly #w: ProtoWriter;
  // DataViews over the last output buffer and the last label-bytes source, rebuilt when either
  // is replaced (the writer grows, a `LabelBytesStore` grows).
  #dst: Buffer | undefined;
  #dstView: DataView | undefined;
  #src: Uint8Array | undefined;
  #srcView: DataView | undefined;

  constructor(initial = 256 * 1024) {
    this.#w = new ProtoWriter(initial);
  }

  reset(): void {
    this.#w.reset();
  }

  /**
   * `addSample` for label bytes at `src[from, from + length)` (from `encodeLabels`), e.g. in a
   * `LabelBytesStore`, without a view object per sample.
   */
  addSampleAt(src: Uint8Array, from: number, length: number, timestamp: number, value: number, exemplar?: Exemplar, exemplarLabels?: Uint8Array): void {
    if (exemplar === undefined && timestamp >= 0 && timestamp <= Number.MAX_SAFE_INTEGER) this.#addPlainSample(src, from, length, timestamp, value);
    else this.addSample(src.subarray(from, from + length), timestamp, value, exemplar, exemplarLabels);
  }

  /** `labelBytes` comes from `encodeLabels`. */
  addSample(labelBytes: Uint8Array, timestamp: number, value: number, exemplar?: Exemplar, exemplarLabels?: Uint8Array): void {
    if (exemplar === undefined && timestamp >= 0 && timestamp <= Number.MAX_SAFE_INTEGER) {
      this.#addPlainSample(labelBytes, 0, labelBytes.length, timestamp, value);
      return;
    }
    const w = this.#w;
    const tsSize = varintSize(timestamp);
    const sampleLen = 9 + 1 + tsSize;
    let exLen = 0;
    if (exemplar && exemplarLabels) {
      exLen = exemplarLabels.length + 9 + 1 + varintSize(exemplar.timestamp);
    }
    const seriesLen =
      labelBytes.length + 1 + varintSize(sampleLen) + sampleLen + (exLen > 0 ? 1 + varintSize(exLen) + exLen : 0);
    w.ensure(seriesLen + 12);
    w.buf[w.pos++] = 0x0a;
    w.varint(seriesLen);
    w.buf.set(labelBytes, w.pos);
    w.pos += labelBytes.length;
    w.buf[w.pos++] = 0x12;
    w.varint(sampleLen);
    w.buf[w.pos++] = 0x09;
    w.double(value);
    w.buf[w.pos++] = 0x10;
    w.varint(timestamp);
    if (exLen > 0 && exemplar && exemplarLabels) {
      w.buf[w.pos++] = 0x1a;
      w.varint(exLen);
      w.buf.set(exemplarLabels, w.pos);
      w.pos += exemplarLabels.length;
      w.buf[w.pos++] = 0x11;
      w.double(exemplar.value);
      w.buf[w.pos++] = 0x18;
      w.varint(exemplar.timestamp);
    }
  }

  /**
   * The hot path of `addSample`: no exemplar, a timestamp in [0, 2^53). Writes the TimeSeries
   * with local cursor arithmetic instead of the writer's general methods.
   */
  #addPlainSample(labelBytes: Uint8Array, from: number, nl: number, timestamp: number, value: number): void {
    const w = this.#w;
    // The timestamp as two 32-bit halves (exact below 2^53): its varint size and bytes come from
    // integer operations, not from floating-point division and modulo per 7 bits.
    const lo = timestamp >>> 0;
    const hi = (timestamp - lo) / 4294967296;
    const tsSize = varintSizeOfHalves(lo, hi);
    const sampleLen = 10 + tsSize;
    const seriesLen = nl + 2 + sampleLen;
    w.ensure(seriesLen + 6);
    const buf = w.buf;
    let dv = this.#dstView;
    if (buf !== this.#dst || dv === undefined) {
      this.#dst = buf;
      dv = this.#dstView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    let p = putVarint32(buf, w.pos + 1, seriesLen);
    buf[w.pos] = 0x0a;
    // A whole array is copied natively (~17 ns for 75 bytes). A range would need a view object
    // (~60 ns); 4-byte DataView moves beat it up to ~120 bytes, a byte loop up to ~16.
    if (from === 0 && nl === labelBytes.length) buf.set(labelBytes, p);
    else if (nl <= 16) for (let i = 0; i < nl; i++) buf[p + i] = labelBytes[from + i]!;
    else if (nl <= 120) {
      let sv = this.#srcView;
      if (labelBytes !== this.#src || sv === undefined) {
        this.#src = labelBytes;
        sv = this.#srcView = new DataView(labelBytes.buffer, labelBytes.byteOffset, labelBytes.byteLength);
      }
      let i = 0;
      for (; i + 4 <= nl; i += 4) dv.setInt32(p + i, sv.getInt32(from + i, true), true);
      for (; i < nl; i++) buf[p + i] = labelBytes[from + i]!;
    } else buf.set(labelBytes.subarray(from, from + nl), p);
    p += nl;
    buf[p++] = 0x12;
    buf[p++] = sampleLen;
    buf[p++] = 0x09;
    // The value's exact bits (staleness markers are one NaN payload), as two 32-bit halves.
    f64[0] = value;
    dv.setInt32(p, f64Words[0]!, true);
    dv.setInt32(p + 4, f64Words[1]!, true);
    p += 8;
    buf[p++] = 0x10;
    w.pos = hi === 0 ? putVarint32(buf, p, lo) : putVarint64(buf, p, lo, hi);
  }

  addMetadata(md: MetricMetadata): void {
    const w = this.#w;
    const name = Buffer.from(md.metricFamilyName, 'utf8');
    const help = Buffer.from(md.help, 'utf8');
    const unit = Buffer.from(md.unit, 'utf8');
    const typeIdx = Math.max(0, METRIC_TYPES.indexOf(md.type));
    const len =
      (typeIdx > 0 ? 1 + varintSize(typeIdx) : 0) +
      1 + varintSize(name.length) + name.length +
      (help.length > 0 ? 1 + varintSize(help.length) + help.length : 0) +
      (unit.length > 0 ? 1 + varintSize(unit.length) + unit.length : 0);
    w.ensure(len + 12);
    w.buf[w.pos++] = 0x1a;
    w.varint(len);
    if (typeIdx > 0) {
      w.buf[w.pos++] = 0x08;
      w.varint(typeIdx);
    }
    w.buf[w.pos++] = 0x12;
    w.varint(name.length);
    w.bytes(name);
    if (help.length > 0) {
      w.ensure(12);
      w.buf[w.pos++] = 0x22;
      w.varint(help.length);
      w.bytes(help);
    }
    if (unit.length > 0) {
      w.ensure(12);
      w.buf[w.pos++] = 0x2a;
      w.varint(unit.length);
      w.bytes(unit);
    }
  }

  get size(): number {
    return this.#w.pos;
  }

  finish(): Buffer {
    return this.#w.finish();
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface DecoderOptions {
  /**
   * Entries per generation of the series cache at start (two generations are kept); default
   * `SERIES_CACHE_INITIAL`. The generation size doubles, up to `maxSeriesCacheSize`, when the
   * live series outnumber it (see `WriteRequestDecoder`).
   */
  readonly seriesCacheSize?: number;
  /** Bound of a generation's size (so at most twice this many series are cached); default `SERIES_CACHE_MAX`. */
  readonly maxSeriesCacheSize?: number;
  /** A generation that fills sooner than this grows instead of being dropped; default `SERIES_CACHE_MIN_GENERATION_MS`. */
  readonly minGenerationMs?: number;
  /**
   * A generation older than this is retired at the next request even when not full, and the size
   * shrinks to fit what it held; default `SERIES_CACHE_MAX_GENERATION_MS`.
   */
  readonly maxGenerationMs?: number;
  /** Clock of the generations (milliseconds); default `Date.now`. */
  readonly now?: () => number;
  /**
   * Check every series as Prometheus' remote-write receivers do: label names must match
   * `[a-zA-Z_][a-zA-Z0-9_]*`, names and values must be valid UTF-8, names sorted and unique, the
   * label set not empty. Refused series are left out of the batch and reported in `rejected`.
   */
  readonly validateSeries?: boolean;
}

interface SeriesProblem {
  readonly why: string;
  /** Prometheus 2.42 refuses the whole request for this problem. */
  readonly fatal: boolean;
}

function validLabelNameBytes(buf: Uint8Array, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    const alpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
    if (!alpha && !(i > start && c >= 0x30 && c <= 0x39)) return false;
  }
  return true;
}

/** Calls `visit` with the byte ranges of each label's name and value in [start,end), in wire order. */
function forEachRawLabel(buf: Buffer, start: number, end: number, visit: (nStart: number, nEnd: number, vStart: number, vEnd: number) => SeriesProblem | undefined | void): SeriesProblem | undefined {
  const c: Cursor = { pos: start };
  while (c.pos < end) {
    const t = readVarint(buf, c, end);
    if (t !== 0x0a) {
      skipField(buf, c, end, t & 7);
      continue;
    }
    const stop = readLen(buf, c, end);
    let nStart = c.pos;
    let nEnd = c.pos;
    let vStart = c.pos;
    let vEnd = c.pos;
    while (c.pos < stop) {
      const lt = readVarint(buf, c, stop);
      if (lt === 0x0a || lt === 0x12) {
        const s = readLen(buf, c, stop);
        if (lt === 0x0a) [nStart, nEnd] = [c.pos, s];
        else [vStart, vEnd] = [c.pos, s];
        c.pos = s;
      } else skipField(buf, c, stop, lt & 7);
    }
    const stopped = visit(nStart, nEnd, vStart, vEnd);
    if (stopped) return stopped;
  }
  return undefined;
}

/** Checks the raw label fields in [start,end) (other fields skipped); undefined when valid. */
function labelRangeProblem(buf: Buffer, start: number, end: number): SeriesProblem | undefined {
  let prevStart = -1;
  let prevEnd = -1;
  let unsorted: SeriesProblem | undefined;
  const seen = new Set<string>();
  const problem = forEachRawLabel(buf, start, end, (nStart, nEnd, vStart, vEnd) => {
    const name = buf.toString('utf8', nStart, nEnd);
    if (!isUtf8(buf.subarray(nStart, nEnd))) return { why: `label name ${JSON.stringify(name)} is not valid UTF-8`, fatal: false };
    if (!validLabelNameBytes(buf, nStart, nEnd)) return { why: `label name ${JSON.stringify(name)} is not valid (must match [a-zA-Z_][a-zA-Z0-9_]*)`, fatal: false };
    if (!isUtf8(buf.subarray(vStart, vEnd))) return { why: `the value of label ${JSON.stringify(name)} is not valid UTF-8`, fatal: false };
    if (seen.has(name)) return { why: `label name ${JSON.stringify(name)} is not unique`, fatal: true };
    seen.add(name);
    if (prevStart >= 0 && !unsorted && buf.compare(buf, nStart, nEnd, prevStart, prevEnd) > 0) {
      unsorted = { why: `labels are not sorted by name (${JSON.stringify(buf.toString('utf8', prevStart, prevEnd))} before ${JSON.stringify(name)})`, fatal: false };
    }
    prevStart = nStart;
    prevEnd = nEnd;
    return undefined;
  });
  if (problem) return problem;
  if (seen.size === 0) return { why: 'empty label set', fatal: true };
  return unsorted;
}

/** `{a="b", c="d"}` of the raw label fields in [start,end), in wire order (for messages). */
function formatLabelRange(buf: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  forEachRawLabel(buf, start, end, (nStart, nEnd, vStart, vEnd) => {
    parts.push(`${buf.toString('utf8', nStart, nEnd)}=${JSON.stringify(buf.toString('utf8', vStart, vEnd))}`);
  });
  return `{${parts.join(', ')}}`;
}

/**
 * TimeSeries messages in a WriteRequest, from a walk over its top-level fields only (no decoding):
 * lets a receiver budget the memory of the decoded series before building them. A malformed body
 * counts what it could walk; `decode` reports the error.
 */
export function countTimeseries(buf: Buffer): number {
  const c: Cursor = { pos: 0 };
  const end = buf.length;
  let n = 0;
  try {
    while (c.pos < end) {
      const tag = readVarint(buf, c, end);
      if (tag === 0x0a) n++;
      skipField(buf, c, end, tag & 7);
    }
  } catch {
    // Malformed: the decoder names the problem.
  }
  return n;
}

/** A generation's size at start: 100k series (200k cached across both generations). */
export const SERIES_CACHE_INITIAL = 100_000;
/** Bound of a generation's size: 1,600,000 series (3.2M cached across both generations). */
export const SERIES_CACHE_MAX = 1_600_000;
/** A generation that fills sooner than this grows instead of being dropped: 2 minutes. */
export const SERIES_CACHE_MIN_GENERATION_MS = 120_000;
/** A generation is retired after this long even when not full: 10 minutes. */
export const SERIES_CACHE_MAX_GENERATION_MS = 600_000;

/**
 * Decodes WriteRequests, caching one `Labels` object per distinct series (keyed by the raw label
 * bytes) so that a known series costs one compare (and usually no hash; see `SeriesGeneration`)
 * instead of label decoding, validation and a new `Labels` object. Keep one decoder per receiver:
 * its series cache is what gives repeated series the same `Labels` object downstream. `decode` is
 * synchronous, so concurrent requests in one process are safe.
 *
 * The cache is two generations: lookups move entries into the current one, and when it holds
 * `capacity` entries the previous generation is dropped and the current one becomes previous. A
 * series that arrives at least once per generation stays cached; one that stopped arriving is
 * forgotten within two generations.
 *
 * The generation size follows the live series: when the current generation fills sooner than
 * `minGenerationMs` after it started, the series arriving within that time do not fit, and the
 * generation doubles (up to `maxSeriesCacheSize`) instead of being dropped. So every series sent at
 * least once per `minGenerationMs` (2 minutes; scrape intervals are shorter) stays cached up to
 * the bound, whatever order and pace the senders keep. Memory is bounded by 2 × `maxSeriesCacheSize`
 * entries.
 *
 * A generation that has not filled within `maxGenerationMs` (10 minutes) is retired at the next
 * request all the same, and the size shrinks to the smallest step (initial size × 2^k) that holds
 * what the retired generation held: the series still arriving moved into it by then, so after a
 * burst of series that stopped, the cache returns to the live set within two such periods instead
 * of keeping the burst's series and size.
 */
export class WriteRequestDecoder {
  #current = new SeriesGeneration();
  #previous = new SeriesGeneration();
  /** The entry of `#current` (and of `#previous`) last found or added: its successor is tried first. */
  #hint = -1;
  #previousHint = -1;
  /** The label-bytes hash of the last lookup that found nothing: the key `#seriesLabels` adds. */
  #missHash = 0;
  #capacity: number;
  readonly #maxCapacity: number;
  readonly #minGenerationMs: number;
  readonly #maxGenerationMs: number;
  readonly #initialCapacity: number;
  readonly #now: () => number;
  /** When the current generation started (or last grew). */
  #generationStart: number;
  readonly #names = new Map<string, string>();
  readonly #validate: boolean;

  constructor(opts: DecoderOptions = {}) {
    this.#capacity = Math.max(1, opts.seriesCacheSize ?? SERIES_CACHE_INITIAL);
    this.#maxCapacity = Math.max(this.#capacity, opts.maxSeriesCacheSize ?? SERIES_CACHE_MAX);
    this.#initialCapacity = this.#capacity;
    this.#minGenerationMs = opts.minGenerationMs ?? SERIES_CACHE_MIN_GENERATION_MS;
    this.#maxGenerationMs = Math.max(this.#minGenerationMs, opts.maxGenerationMs ?? SERIES_CACHE_MAX_GENERATION_MS);
    this.#now = opts.now ?? Date.now;
    this.#generationStart = this.#now();
    this.#validate = opts.validateSeries ?? false;
  }

  /** Series held by the cache (both generations; a series can be in both until it is dropped from the previous one). */
  get cachedSeries(): number {
    return this.#current.size + this.#previous.size;
  }

  /** Entries per generation now (grows with the live series, up to the bound). */
  get cacheCapacity(): number {
    return this.#capacity;
  }

  /** Bound of `cacheCapacity`. */
  get maxCacheCapacity(): number {
    return this.#maxCapacity;
  }

  decode(input: Uint8Array): DecodedWriteRequest {
    if (this.#current.size > 0) {
      const now = this.#now();
      if (now - this.#generationStart >= this.#maxGenerationMs) this.#retire(now);
    }
    const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const end = buf.length;
    // Typical sample costs >= 16 bytes on the wire; arrays grow when the guess is short.
    let cap = Math.max(16, Math.ceil(end / 24));
    let ts = new Float64Array(cap);
    let vals = new Float64Array(cap);
    const series: Labels[] = [];
    let n = 0;
    let exemplars: Map<number, Exemplar> | undefined;
    let histogramsDropped = 0;
    let exemplarsDropped = 0;
    const metadata: MetricMetadata[] = [];
    const c: Cursor = { pos: 0 };
    let rejected: { first: string; series: number; samples: number; wholeRequest: boolean } | undefined;

    while (c.pos < end) {
      const tag = readVarint(buf, c, end);
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 1 && wire === 2) {
        const tsEnd = readLen(buf, c, end);
        // --- TimeSeries
        let labStart = -1;
        let labEnd = -1;
        let contiguous = true;
        const firstSample = n;
        let pendingExemplars: Exemplar[] | undefined;
        while (c.pos < tsEnd) {
          const t = readVarint(buf, c, tsEnd);
          const f = t >>> 3;
          const w = t & 7;
          if (f === 1 && w === 2) {
            const fieldStart = c.pos - 1;
            const stop = readLen(buf, c, tsEnd);
            if (labStart < 0) labStart = fieldStart;
            else if (labEnd !== fieldStart) contiguous = false;
            c.pos = stop;
            labEnd = stop;
          } else if (f === 2 && w === 2) {
            const stop = readLen(buf, c, tsEnd);
            let value = 0;
            let timestamp = 0;
            while (c.pos < stop) {
              const st = readVarint(buf, c, stop);
              if (st === 0x09) value = readDouble(view, c, stop);
              else if (st === 0x10) timestamp = readInt64(buf, c, stop);
              else skipField(buf, c, stop, st & 7);
            }
            if (n === cap) {
              cap *= 2;
              const nts = new Float64Array(cap);
              nts.set(ts);
              ts = nts;
              const nv = new Float64Array(cap);
              nv.set(vals);
              vals = nv;
            }
            ts[n] = timestamp;
            vals[n] = value;
            n++;
          } else if (f === 3 && w === 2) {
            const stop = readLen(buf, c, tsEnd);
            (pendingExemplars ??= []).push(this.#decodeExemplar(buf, view, c, stop));
          } else if (f === 4 && w === 2) {
            const stop = readLen(buf, c, tsEnd);
            histogramsDropped++;
            c.pos = stop;
          } else {
            skipField(buf, c, tsEnd, w);
          }
        }
        // A series already in the cache was valid when cached: one lookup both checks and finds it.
        const cached = (n > firstSample || pendingExemplars) && labStart >= 0 && contiguous ? this.#lookup(buf, view, labStart, labEnd) : undefined;
        if (cached === undefined && this.#validate && (n > firstSample || pendingExemplars)) {
          const problem: SeriesProblem | undefined = labStart < 0 ? { why: 'empty label set', fatal: true } : labelRangeProblem(buf, labStart, contiguous ? labEnd : tsEnd);
          if (problem) {
            const shown = `${labStart < 0 ? '{}' : formatLabelRange(buf, labStart, contiguous ? labEnd : tsEnd)}: ${problem.why}`;
            rejected ??= { first: shown, series: 0, samples: 0, wholeRequest: false };
            rejected.series++;
            rejected.samples += n - firstSample;
            // Prometheus 2.42 refuses the whole request for these: name that series first.
            if (problem.fatal && !rejected.wholeRequest) {
              rejected.wholeRequest = true;
              rejected.first = shown;
            }
            n = firstSample;
            c.pos = tsEnd;
            continue;
          }
        }
        if (n > firstSample || pendingExemplars) {
          const labels = cached ?? this.#seriesLabels(buf, labStart, labEnd, contiguous, tsEnd);
          for (let i = firstSample; i < n; i++) series.push(labels);
          if (pendingExemplars) {
            for (const ex of pendingExemplars) {
              if (n === firstSample) {
                exemplarsDropped++;
                continue;
              }
              let at = n - 1;
              for (let i = firstSample; i < n; i++) {
                if (ts[i] === ex.timestamp) {
                  at = i;
                  break;
                }
              }
              (exemplars ??= new Map()).set(at, ex);
            }
          }
        }
        c.pos = tsEnd;
      } else if (field === 3 && wire === 2) {
        const stop = readLen(buf, c, end);
        metadata.push(this.#decodeMetadata(buf, c, stop));
      } else {
        skipField(buf, c, end, wire);
      }
    }
    const result: DecodedWriteRequest = {
      series,
      timestamps: n === cap ? ts : ts.subarray(0, n),
      values: n === cap ? vals : vals.subarray(0, n),
      length: n,
      metadata,
      histogramsDropped,
      exemplarsDropped,
      ...(exemplars ? { exemplars } : {}),
      ...(rejected ? { rejected } : {}),
    };
    return result;
  }

  /** The cached series of the label bytes [start,end), moved to the current generation; undefined when unknown. */
  #lookup(buf: Buffer, view: DataView, start: number, end: number): Labels | undefined {
    const current = this.#current;
    const next = this.#hint + 1;
    if (next > 0 && next < current.entries && current.matches(next, buf, view, start, end)) {
      this.#hint = next;
      return current.labelsAt(next);
    }
    const h = hashRange(view, buf, start, end);
    let e = current.find(h, buf, view, start, end);
    if (e >= 0) {
      this.#hint = e;
      return current.labelsAt(e);
    }
    // Only after the current generation missed: an entry found in the previous one is copied
    // into the current one, which must not hold it already.
    const previous = this.#previous;
    const pnext = this.#previousHint + 1;
    e = pnext > 0 && pnext < previous.entries && previous.matches(pnext, buf, view, start, end) ? pnext : previous.find(h, buf, view, start, end);
    if (e < 0) {
      this.#missHash = h;
      return undefined;
    }
    this.#previousHint = e;
    this.#makeRoom();
    this.#hint = this.#current.insertFrom(previous, e);
    return previous.labelsAt(e);
  }

  /**
   * The `Labels` of a series `#lookup` did not find (contiguous labels: `decode` looks every such
   * series up first, and `#missHash` is the hash of that miss), or of one it cannot look up.
   */
  #seriesLabels(buf: Buffer, start: number, end: number, contiguous: boolean, tsEnd: number): Labels {
    if (start < 0) return this.#cachedByString('', () => []);
    if (!contiguous) {
      // Interleaved labels (legal but unusual): decode, then key by the decoded pairs.
      const labels = this.#decodeLabelRange(buf, start, tsEnd, false);
      let key = '\u0000';
      for (const l of labels) key += `${l.name}\u0000${l.value}\u0000`;
      return this.#cachedByString(key, () => labels);
    }
    const labels = this.#decodeLabelRange(buf, start, end, true);
    this.#makeRoom();
    this.#hint = this.#current.insert(this.#missHash, buf, start, end, labels);
    return labels;
  }

  #cachedByString(key: string, make: () => Labels): Labels {
    const known = this.#current.getString(key);
    if (known !== undefined) return known;
    const labels = this.#previous.getString(key) ?? make();
    this.#makeRoom();
    this.#current.setString(key, labels);
    return labels;
  }

  /**
   * Called before adding to the current generation. When it is full: grow it if it filled sooner
   * than `minGenerationMs` (and the bound allows), else drop the previous generation.
   */
  #makeRoom(): void {
    if (this.#current.size < this.#capacity) return;
    const now = this.#now();
    if (now - this.#generationStart < this.#minGenerationMs && this.#capacity < this.#maxCapacity) {
      this.#capacity = Math.min(this.#maxCapacity, this.#capacity * 2);
    } else {
      this.#rotate();
    }
    this.#generationStart = now;
  }

  /** The current generation becomes the previous one (which is dropped). */
  #rotate(): void {
    this.#previous = this.#current;
    this.#previousHint = this.#hint;
    this.#current = new SeriesGeneration(Math.min(this.#capacity, this.#previous.entries));
    this.#hint = -1;
  }

  /** Retires a generation that aged out before filling, shrinking the size to fit what it held. */
  #retire(now: number): void {
    let fit = this.#initialCapacity;
    while (fit < this.#current.size && fit < this.#maxCapacity) fit *= 2;
    this.#capacity = Math.min(this.#capacity, fit, this.#maxCapacity);
    this.#rotate();
    this.#generationStart = now;
  }

  #intern(name: string): string {
    const known = this.#names.get(name);
    if (known !== undefined) return known;
    if (this.#names.size < 10_000) this.#names.set(name, name);
    return name;
  }

  /** Decodes the label fields in [start,end); with `onlyLabels` false other fields are skipped. */
  #decodeLabelRange(buf: Buffer, start: number, end: number, onlyLabels: boolean): Labels {
    const out: Label[] = [];
    const c: Cursor = { pos: start };
    while (c.pos < end) {
      const t = readVarint(buf, c, end);
      if (t !== 0x0a) {
        if (onlyLabels) throw new ProtoError('protobuf: unexpected field inside label run');
        skipField(buf, c, end, t & 7);
        continue;
      }
      const stop = readLen(buf, c, end);
      let name = '';
      let value = '';
      while (c.pos < stop) {
        const lt = readVarint(buf, c, stop);
        if (lt === 0x0a) {
          const s = readLen(buf, c, stop);
          name = this.#intern(buf.toString('utf8', c.pos, s));
          c.pos = s;
        } else if (lt === 0x12) {
          const s = readLen(buf, c, stop);
          value = buf.toString('utf8', c.pos, s);
          c.pos = s;
        } else {
          skipField(buf, c, stop, lt & 7);
        }
      }
      if (name === '') throw new ProtoError('invalid series: label with an empty name');
      if (value !== '') out.push({ name, value });
    }
    return normalizeLabels(out);
  }

  #decodeExemplar(buf: Buffer, view: DataView, c: Cursor, end: number): Exemplar {
    let value = 0;
    let timestamp = 0;
    const labelStart = c.pos;
    let hasLabels = false;
    while (c.pos < end) {
      const t = readVarint(buf, c, end);
      if (t === 0x0a) {
        hasLabels = true;
        c.pos = readLen(buf, c, end);
      } else if (t === 0x11) value = readDouble(view, c, end);
      else if (t === 0x18) timestamp = readInt64(buf, c, end);
      else skipField(buf, c, end, t & 7);
    }
    const labels = hasLabels ? this.#decodeLabelRange(buf, labelStart, end, false) : [];
    return { labels, value, timestamp };
  }

  #decodeMetadata(buf: Buffer, c: Cursor, end: number): MetricMetadata {
    let type: MetricType = 'unknown';
    let metricFamilyName = '';
    let help = '';
    let unit = '';
    while (c.pos < end) {
      const t = readVarint(buf, c, end);
      if (t === 0x08) type = METRIC_TYPES[readVarint(buf, c, end)] ?? 'unknown';
      else if (t === 0x12 || t === 0x22 || t === 0x2a) {
        const s = readLen(buf, c, end);
        const str = buf.toString('utf8', c.pos, s);
        c.pos = s;
        if (t === 0x12) metricFamilyName = str;
        else if (t === 0x22) help = str;
        else unit = str;
      } else skipField(buf, c, end, t & 7);
    }
    return { type, metricFamilyName, help, unit };
  }
}

/** Sorts by name when needed and rejects duplicate names, as the `Labels` contract requires. */
export function normalizeLabels(labels: Label[]): Labels {
  let sorted = true;
  for (let i = 1; i < labels.length; i++) {
    const cmp = labels[i - 1]!.name < labels[i]!.name ? -1 : labels[i - 1]!.name === labels[i]!.name ? 0 : 1;
    if (cmp === 0) throw new ProtoError(`invalid series: duplicate label name "${labels[i]!.name}"`);
    if (cmp > 0) sorted = false;
  }
  if (!sorted) {
    labels.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (let i = 1; i < labels.length; i++) {
      if (labels[i - 1]!.name === labels[i]!.name) {
        throw new ProtoError(`invalid series: duplicate label name "${labels[i]!.name}"`);
      }
    }
  }
  return Object.freeze(labels);
}
