/**
 * On-disk encoding of the remote-write WAL.
 *
 * Segment file: 16-byte header (`AWALSEG1` + float64 LE creation time in ms), then records.
 * Record: u32 LE payload length | u32 LE CRC32 (zlib polynomial) of the payload | payload.
 * Payload (one per `append` call, so an append is all-or-nothing on replay):
 *   varint nSeries,    nSeries × (varint ref, varint nLabels, nLabels × (str name, str value))
 *   varint nSamples,   if > 0: varint baseRef, f64 baseTs, nSamples × (zz ref-baseRef, zz ts-baseTs, f64 value)
 *   varint nExemplars, nExemplars × (varint sampleIndex, f64 ts, f64 value, varint nLabels, labels…)
 * where `str` is varint byte length + UTF-8 and `zz` a zigzag varint. Checkpoints use the same
 * file layout holding only series.
 */
import { crc32 } from 'node:zlib';
import { utf8Length, writeUtf8 } from '../labels/utf8.js';
import type { Exemplar, Label, Labels } from '../types.js';
import { ProtoError, ProtoWriter, readDouble, readLen, readVarint, zigzagDecode, type Cursor } from '../../protobuf/wire.js';

export const SEGMENT_MAGIC = Buffer.from('AWALSEG1', 'latin1');
export const SEGMENT_HEADER_SIZE = 16;
export const RECORD_HEADER_SIZE = 8;

export class WalCorruptionError extends Error {
  override readonly name = 'WalCorruptionError';
}

export function segmentHeader(createdMs: number): Buffer {
  const b = Buffer.allocUnsafe(SEGMENT_HEADER_SIZE);
  SEGMENT_MAGIC.copy(b, 0);
  b.writeDoubleLE(createdMs, 8);
  return b;
}

/** Returns the creation time, or throws when the header is not a WAL segment header. */
export function parseSegmentHeader(b: Buffer): number {
  if (b.length < SEGMENT_HEADER_SIZE || !b.subarray(0, 8).equals(SEGMENT_MAGIC)) {
    throw new WalCorruptionError('not a WAL segment (bad magic)');
  }
  return b.readDoubleLE(8);
}

export interface SeriesDef {
  readonly ref: number;
  readonly labels: Labels;
}

/** One append: new series, the samples (by series ref) and their exemplars. */
export interface AppendPayload {
  readonly series: readonly SeriesDef[];
  readonly refs: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
  readonly exemplars?: ReadonlyMap<number, Exemplar>;
}

/** The payload writer: the protobuf wire primitives plus this format's label lists. */
class Writer extends ProtoWriter {
  constructor(size: number, start: number) {
    super(size);
    this.pos = start;
  }
  f64(v: number): void {
    this.double(v);
  }
  str(s: string): void {
    const len = utf8Length(s);
    this.ensure(len + 10);
    this.varint(len);
    this.pos = writeUtf8(this.buf, this.pos, s, len);
  }
  labels(ls: Labels): void {
    this.ensure(10);
    this.varint(ls.length);
    for (const l of ls) {
      this.string(l.name);
      this.string(l.value);
    }
  }
}

/** Encodes one framed record (header + payload). */
export function encodeAppendRecord(p: AppendPayload): Buffer {
  const w = new Writer(RECORD_HEADER_SIZE + 32 + p.length * 24 + p.series.length * 64, RECORD_HEADER_SIZE);
  w.varint(p.series.length);
  for (const s of p.series) {
    w.ensure(10);
    w.varint(s.ref);
    w.labels(s.labels);
  }
  const n = p.length;
  w.ensure(32 + n * 24);
  w.varint(n);
  if (n > 0) {
    const baseRef = p.refs[0]!;
    const baseTs = p.timestamps[0]!;
    w.varint(baseRef);
    w.f64(baseTs);
    const refs = p.refs;
    const ts = p.timestamps;
    const vals = p.values;
    for (let i = 0; i < n; i++) {
      w.zigzag(refs[i]! - baseRef);
      w.zigzag(ts[i]! - baseTs);
      w.f64(vals[i]!);
    }
  }
  const ex = p.exemplars;
  w.ensure(10);
  w.varint(ex ? ex.size : 0);
  if (ex) {
    for (const [idx, e] of ex) {
      w.ensure(30);
      w.varint(idx);
      w.f64(e.timestamp);
      w.f64(e.value);
      w.labels(e.labels);
    }
  }
  const buf = w.buf.subarray(0, w.pos);
  buf.writeUInt32LE(w.pos - RECORD_HEADER_SIZE, 0);
  buf.writeUInt32LE(crc32(buf.subarray(RECORD_HEADER_SIZE)), 4);
  return buf;
}

export interface DecodedRecord {
  readonly series: SeriesDef[];
  readonly refs: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
  readonly exemplars?: Map<number, Exemplar>;
}

/** The payload reader over `[pos, end)`; wire errors surface as `ProtoError`. */
class Reader {
  readonly c: Cursor;
  readonly view: DataView;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
  ) {
    this.c = { pos: start };
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  get pos(): number {
    return this.c.pos;
  }
  varint(): number {
    return readVarint(this.buf, this.c, this.end);
  }
  zigzag(): number {
    return zigzagDecode(readVarint(this.buf, this.c, this.end));
  }
  f64(): number {
    return readDouble(this.view, this.c, this.end);
  }
  str(): string {
    const stop = readLen(this.buf, this.c, this.end);
    const s = this.buf.toString('utf8', this.c.pos, stop);
    this.c.pos = stop;
    return s;
  }
  /** Steps over one series definition (ref and labels) without building strings. */
  skipSeries(): void {
    this.varint();
    const n = this.varint();
    for (let i = 0; i < 2 * n; i++) {
      const len = this.varint();
      if (this.c.pos + len > this.end) throw new WalCorruptionError('truncated string in record');
      this.c.pos += len;
    }
  }
  labels(): Labels {
    const n = this.varint();
    // Each label takes at least two bytes (two empty strings): a larger count is corruption, not an allocation.
    if (n > (this.end - this.c.pos) / 2) throw new WalCorruptionError('label count larger than record');
    const out: Label[] = new Array<Label>(n);
    for (let i = 0; i < n; i++) out[i] = { name: this.str(), value: this.str() };
    return Object.freeze(out);
  }
}

/**
 * Decodes a payload (without its frame); throws `WalCorruptionError` when it is malformed. With
 * `skipSeries` the series definitions are checked for structure but not decoded (`series` is
 * empty): readers that resolve refs through the WAL's series table do not need them.
 */
export function decodeAppendPayload(buf: Buffer, start: number, end: number, skipSeries = false): DecodedRecord {
  try {
    return decodePayload(buf, start, end, skipSeries);
  } catch (err: unknown) {
    if (err instanceof ProtoError) throw new WalCorruptionError(`${err.message.replace(/^protobuf: /, '')} in record`);
    throw err;
  }
}

function decodePayload(buf: Buffer, start: number, end: number, skipSeries: boolean): DecodedRecord {
  const r = new Reader(buf, start, end);
  const nSeries = r.varint();
  const series: SeriesDef[] = [];
  if (skipSeries) for (let i = 0; i < nSeries; i++) r.skipSeries();
  else for (let i = 0; i < nSeries; i++) series.push({ ref: r.varint(), labels: r.labels() });
  const n = r.varint();
  if (n > (end - r.pos) / 10 + 1) throw new WalCorruptionError('sample count larger than record');
  const refs = new Uint32Array(n);
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  if (n > 0) {
    const baseRef = r.varint();
    const baseTs = r.f64();
    for (let i = 0; i < n; i++) {
      refs[i] = baseRef + r.zigzag();
      timestamps[i] = baseTs + r.zigzag();
      values[i] = r.f64();
    }
  }
  const nEx = r.varint();
  let exemplars: Map<number, Exemplar> | undefined;
  for (let i = 0; i < nEx; i++) {
    const idx = r.varint();
    const timestamp = r.f64();
    const value = r.f64();
    const labels = r.labels();
    (exemplars ??= new Map()).set(idx, { labels, value, timestamp });
  }
  if (r.pos !== end) throw new WalCorruptionError('record has trailing bytes');
  return { series, refs, timestamps, values, length: n, ...(exemplars ? { exemplars } : {}) };
}

export type FrameResult =
  | { readonly kind: 'record'; readonly payloadStart: number; readonly end: number }
  | { readonly kind: 'partial'; readonly need: number }
  | { readonly kind: 'corrupt'; readonly reason: string };

/** Checks the frame at `off`: complete and CRC-valid, incomplete (needs more bytes), or corrupt. */
export function readFrame(buf: Buffer, off: number, end: number, maxRecord: number): FrameResult {
  if (end - off < RECORD_HEADER_SIZE) return { kind: 'partial', need: RECORD_HEADER_SIZE };
  const len = buf.readUInt32LE(off);
  if (len === 0 || len > maxRecord) return { kind: 'corrupt', reason: `implausible record length ${len}` };
  if (end - off < RECORD_HEADER_SIZE + len) return { kind: 'partial', need: RECORD_HEADER_SIZE + len };
  const payloadStart = off + RECORD_HEADER_SIZE;
  const want = buf.readUInt32LE(off + 4);
  if (crc32(buf.subarray(payloadStart, payloadStart + len)) !== want) {
    return { kind: 'corrupt', reason: 'CRC mismatch' };
  }
  return { kind: 'record', payloadStart, end: payloadStart + len };
}
