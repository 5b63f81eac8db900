/**
 * Loki push API bodies.
 *
 * Protobuf (`logproto.PushRequest`, sent snappy-compressed with Content-Type application/x-protobuf):
 *
 *   PushRequest      { repeated StreamAdapter streams = 1; }
 *   StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
 *   EntryAdapter     { google.protobuf.Timestamp timestamp = 1; string line = 2;
 *                      repeated LabelPairAdapter structuredMetadata = 3; repeated LabelPairAdapter parsed = 4; }
 *   LabelPairAdapter { string name = 1; string value = 2; }
 *   Timestamp        { int64 seconds = 1; int32 nanos = 2; }
 *
 * JSON (Content-Type application/json):
 *   {"streams":[{"stream":{"job":"x"},"values":[["<unix ns>","line",{"trace_id":"..."}]]}]}
 *
 * Decoders throw `PushDecodeError` with a message that names the problem; encoders never throw
 * for valid `LogEntry` values.
 */
import { lenFieldSize as fieldSize, ProtoError, ProtoWriter, readLen, readVarint, skipField as skip, varintSize, type Cursor } from '../protobuf/wire.js';
import type { Label, Labels } from '../prom/types.js';
import { LabelParseError, StreamLabelsCache } from './labels.js';
import { parseNanoString, type LogEntry } from './types.js';

export class PushDecodeError extends Error {
  override readonly name = 'PushDecodeError';
}

/** One stream of a push request: its label string and its entries, in order. */
export interface PushStream {
  /** Formatted stream labels, `{a="1"}`. */
  readonly labels: string;
  readonly entries: readonly LogEntry[];
}

// ---------------------------------------------------------------------------------------------
// Encoding

function pairsSize(ls: Labels | undefined, lens: number[]): number {
  if (!ls) return 0;
  let size = 0;
  for (const l of ls) {
    const n = Buffer.byteLength(l.name);
    const v = Buffer.byteLength(l.value);
    lens.push(n, v);
    size += fieldSize((n ? fieldSize(n) : 0) + (v ? fieldSize(v) : 0));
  }
  return size;
}

/**
 * Encodes a PushRequest. Reuse one encoder per sender: its buffer grows to the largest request
 * and the returned Buffer is valid until the next `encode` call.
 */
export class PushRequestEncoder {
  readonly #w = new ProtoWriter(64 * 1024);
  readonly #lens: number[] = [];
  readonly #ts: number[] = [];
  readonly #tsLens: number[] = [];

  encode(streams: readonly PushStream[]): Buffer {
    const w = this.#w;
    const lens = this.#lens;
    lens.length = 0;
    const ts = this.#ts;
    const tsLens = this.#tsLens;
    ts.length = 0;
    tsLens.length = 0;
    // Pass 1: sizes (string byte lengths are remembered in `lens`, in write order).
    const streamSizes: number[] = [];
    const entrySizes: number[] = [];
    let total = 0;
    for (const s of streams) {
      const ll = Buffer.byteLength(s.labels);
      lens.push(ll);
      let size = ll ? fieldSize(ll) : 0;
      for (const e of s.entries) {
        const ms = e.timestampMs > 0 ? Math.floor(e.timestampMs) : 0;
        const seconds = Math.floor(ms / 1000);
        const nanos = (ms - seconds * 1000) * 1_000_000 + (e.timestampNanos | 0);
        ts.push(seconds, nanos);
        const tsLen = (seconds ? 1 + varintSize(seconds) : 0) + (nanos ? 1 + varintSize(nanos) : 0);
        tsLens.push(tsLen);
        const lineLen = Buffer.byteLength(e.line);
        lens.push(lineLen);
        const es = fieldSize(tsLen) + (lineLen ? fieldSize(lineLen) : 0) + pairsSize(e.structuredMetadata, lens);
        entrySizes.push(es);
        size += fieldSize(es);
      }
      streamSizes.push(size);
      total += fieldSize(size);
    }
    // Pass 2: write.
    w.reset();
    w.ensure(total);
    const buf = (): Buffer => w.buf;
    let li = 0;
    let ei = 0;
    const str = (tag: number, s: string, len: number): void => {
      if (len === 0) return;
      w.varint(tag);
      w.varint(len);
      buf().write(s, w.pos, len, 'utf8');
      w.pos += len;
    };
    for (let si = 0; si < streams.length; si++) {
      const s = streams[si]!;
      w.varint((1 << 3) | 2);
      w.varint(streamSizes[si]!);
      str((1 << 3) | 2, s.labels, lens[li++]!);
      for (const e of s.entries) {
        w.varint((2 << 3) | 2);
        w.varint(entrySizes[ei]!);
        const seconds = ts[ei * 2]!;
        const nanos = ts[ei * 2 + 1]!;
        w.varint((1 << 3) | 2);
        w.varint(tsLens[ei]!);
        if (seconds) {
          w.varint(1 << 3);
          w.varint(seconds);
        }
        if (nanos) {
          w.varint(2 << 3);
          w.varint(nanos);
        }
        ei++;
        str((2 << 3) | 2, e.line, lens[li++]!);
        if (e.structuredMetadata) {
          for (const l of e.structuredMetadata) {
            const n = lens[li++]!;
            const v = lens[li++]!;
            w.varint((3 << 3) | 2);
            w.varint((n ? fieldSize(n) : 0) + (v ? fieldSize(v) : 0));
            str((1 << 3) | 2, l.name, n);
            str((2 << 3) | 2, l.value, v);
          }
        }
      }
    }
    return w.finish();
  }
}

// ---------------------------------------------------------------------------------------------
// Protobuf decoding

function decodePair(buf: Buffer, c: Cursor, end: number): Label {
  let name = '';
  let value = '';
  while (c.pos < end) {
    const tag = readVarint(buf, c, end);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if ((field === 1 || field === 2) && wire === 2) {
      const stop = readLen(buf, c, end);
      const s = buf.toString('utf8', c.pos, stop);
      c.pos = stop;
      if (field === 1) name = s;
      else value = s;
    } else skip(buf, c, end, wire);
  }
  return { name, value };
}

/** Scratch result of `decodeTimestamp` (decoding is synchronous; saves an object per entry). */
const tsOut = { timestampMs: 0, timestampNanos: 0 };

function decodeTimestamp(buf: Buffer, c: Cursor, end: number): void {
  let seconds = 0;
  let nanos = 0;
  while (c.pos < end) {
    const tag = readVarint(buf, c, end);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 1 && wire === 0) seconds = readVarint(buf, c, end);
    else if (field === 2 && wire === 0) nanos = readVarint(buf, c, end);
    else skip(buf, c, end, wire);
  }
  if (seconds >= 2 ** 63) throw new PushDecodeError('protobuf: negative entry timestamp');
  if (nanos > 999_999_999) throw new PushDecodeError(`protobuf: timestamp nanos ${nanos} out of range`);
  const subMs = Math.floor(nanos / 1_000_000);
  tsOut.timestampMs = seconds * 1000 + subMs;
  tsOut.timestampNanos = nanos - subMs * 1_000_000;
}

/** How `decode` shapes entries as it builds them (saves a second object per entry in receivers). */
export interface DecodeOptions {
  /**
   * Told how many entries a stream holds before they are built (may throw to refuse the
   * request, e.g. when they would not fit a memory budget).
   */
  readonly beforeEntries?: (n: number) => void;
  /** Maps a stream's parsed labels to the labels its entries carry; `null` skips the stream. */
  readonly streamLabels?: (labels: Labels) => Labels | null;
  /** When set, every entry gets this timestamp (ms, 0 ns) instead of its own. */
  readonly timestampMs?: number;
}

/**
 * Decodes PushRequests into entries in wire order. Keep one decoder per receiver: its stream
 * label cache gives repeated streams the same `Labels` object.
 */
export class PushRequestDecoder {
  readonly #labels: StreamLabelsCache;

  constructor(cache = new StreamLabelsCache()) {
    this.#labels = cache;
  }

  /** Entries in wire order; `opts` (or the `beforeEntries` callback alone) as in `DecodeOptions`. */
  decode(buf: Buffer, opts?: DecodeOptions | ((n: number) => void)): LogEntry[] {
    const o: DecodeOptions = typeof opts === 'function' ? { beforeEntries: opts } : (opts ?? {});
    try {
      return this.#decode(buf, o);
    } catch (err: unknown) {
      if (err instanceof ProtoError) throw new PushDecodeError(err.message);
      throw err;
    }
  }

  #decode(buf: Buffer, o: DecodeOptions): LogEntry[] {
    const out: LogEntry[] = [];
    const c: Cursor = { pos: 0 };
    const end = buf.length;
    while (c.pos < end) {
      const tag = readVarint(buf, c, end);
      if (tag === ((1 << 3) | 2)) {
        const stop = readLen(buf, c, end);
        this.#stream(buf, c, stop, out, o);
        c.pos = stop;
      } else skip(buf, c, end, tag & 7);
    }
    return out;
  }

  #stream(buf: Buffer, c: Cursor, end: number, out: LogEntry[], o: DecodeOptions): void {
    // First pass: the labels and the number of entries, without building anything per entry.
    const start = c.pos;
    let labels: Labels | undefined;
    let entries = 0;
    while (c.pos < end) {
      const tag = readVarint(buf, c, end);
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (field === 1 && wire === 2) {
        const stop = readLen(buf, c, end);
        const s = buf.toString('utf8', c.pos, stop);
        try {
          labels = this.#labels.parse(s);
        } catch (err: unknown) {
          throw new PushDecodeError(`invalid stream labels: ${err instanceof LabelParseError ? err.message : String(err)}`);
        }
        c.pos = stop;
      } else if (field === 2 && wire === 2) {
        c.pos = readLen(buf, c, end);
        entries++;
      } else skip(buf, c, end, wire);
    }
    if (labels === undefined) {
      if (entries === 0) return;
      throw new PushDecodeError('stream without labels: every stream needs a label set such as {job="app"}');
    }
    const final = o.streamLabels ? o.streamLabels(labels) : labels;
    if (final === null) return;
    o.beforeEntries?.(entries);
    // Second pass: the entries, in wire order.
    c.pos = start;
    const ec: Cursor = { pos: 0 };
    while (c.pos < end) {
      const tag = readVarint(buf, c, end);
      if (tag === ((2 << 3) | 2)) {
        const stop = readLen(buf, c, end);
        ec.pos = c.pos;
        out.push(this.#entry(buf, ec, stop, final, o.timestampMs));
        c.pos = stop;
      } else skip(buf, c, end, tag & 7);
    }
  }

  #entry(buf: Buffer, c: Cursor, end: number, labels: Labels, fixedMs: number | undefined): LogEntry {
    let ms = 0;
    let ns = 0;
    let line = '';
    let sm: Label[] | undefined;
    while (c.pos < end) {
      const tag = readVarint(buf, c, end);
      const field = Math.floor(tag / 8);
      const wire = tag & 7;
      if (wire !== 2) {
        skip(buf, c, end, wire);
        continue;
      }
      const stop = readLen(buf, c, end);
      if (field === 1) {
        decodeTimestamp(buf, c, stop);
        ms = tsOut.timestampMs;
        ns = tsOut.timestampNanos;
      }
      else if (field === 2) line = buf.toString('utf8', c.pos, stop);
      else if (field === 3) (sm ??= []).push(decodePair(buf, c, stop));
      c.pos = stop;
    }
    if (fixedMs !== undefined) {
      ms = fixedMs;
      ns = 0;
    }
    return sm ? { labels, line, timestampMs: ms, timestampNanos: ns, structuredMetadata: sm } : { labels, line, timestampMs: ms, timestampNanos: ns };
  }
}

// ---------------------------------------------------------------------------------------------
// JSON decoding

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Decodes Loki's JSON push body; `cache` keeps stream `Labels` identity across requests. */
export function decodePushJson(text: string, cache: StreamLabelsCache): LogEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err: unknown) {
    throw new PushDecodeError(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(doc) || !Array.isArray(doc['streams'])) {
    throw new PushDecodeError('JSON body must be an object with a "streams" array: {"streams":[{"stream":{...},"values":[["<unix ns>","line"]]}]}');
  }
  const out: LogEntry[] = [];
  doc['streams'].forEach((s: unknown, si: number) => {
    if (!isRecord(s)) throw new PushDecodeError(`streams[${si}] must be an object`);
    const rec = s['stream'] ?? {};
    if (!isRecord(rec)) throw new PushDecodeError(`streams[${si}].stream must be an object of label names to values`);
    let labels: Labels;
    try {
      labels = cache.fromRecord(rec);
    } catch (err: unknown) {
      throw new PushDecodeError(`streams[${si}].stream: ${err instanceof Error ? err.message : String(err)}`);
    }
    const values = s['values'];
    if (!Array.isArray(values)) throw new PushDecodeError(`streams[${si}].values must be an array of ["<unix ns>", "line"] pairs`);
    values.forEach((v: unknown, vi: number) => {
      const where = `streams[${si}].values[${vi}]`;
      if (!Array.isArray(v) || v.length < 2 || v.length > 3) throw new PushDecodeError(`${where} must be ["<unix epoch in nanoseconds>", "<log line>"] with an optional structured-metadata object`);
      const [rawTs, line, meta] = v as [unknown, unknown, unknown];
      const tsStr = typeof rawTs === 'string' ? rawTs : typeof rawTs === 'number' && Number.isSafeInteger(rawTs) && rawTs >= 0 ? String(rawTs) : undefined;
      const ts = tsStr === undefined ? undefined : parseNanoString(tsStr);
      if (!ts) throw new PushDecodeError(`${where}[0]: timestamp ${JSON.stringify(rawTs)} must be a string of Unix epoch nanoseconds such as "1700000000000000000"`);
      if (typeof line !== 'string') throw new PushDecodeError(`${where}[1]: log line must be a string`);
      if (meta === undefined) {
        out.push({ labels, line, ...ts });
        return;
      }
      if (!isRecord(meta)) throw new PushDecodeError(`${where}[2]: structured metadata must be an object of strings`);
      const sm: Label[] = [];
      for (const [name, value] of Object.entries(meta)) {
        if (typeof value !== 'string') throw new PushDecodeError(`${where}[2].${name}: structured metadata values must be strings`);
        sm.push({ name, value });
      }
      out.push({ labels, line, ...ts, structuredMetadata: sm });
    });
  });
  return out;
}

/** Groups entries by stream label string, keeping entry order within each stream. */
export function groupStreams(entries: readonly LogEntry[], format: (ls: Labels) => string): PushStream[] {
  const byKey = new Map<string, LogEntry[]>();
  for (const e of entries) {
    const k = format(e.labels);
    let list = byKey.get(k);
    if (!list) byKey.set(k, (list = []));
    list.push(e);
  }
  return [...byKey].map(([labels, es]) => ({ labels, entries: es }));
}
