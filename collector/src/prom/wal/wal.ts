/**
 * Write-ahead log of one `prometheus.remote_write` component, the durable queue in front of its
 * endpoints.
 *
 * Contracts:
 * - `append` resolves only after the record holding the batch was written and fdatasync'ed.
 *   Concurrent appends are group-committed: one write + one fdatasync for everything queued while
 *   the previous sync ran. Each append is one CRC-checked record, so replay sees all or none of it.
 * - Subscribers are told about committed appends synchronously, in WAL order, before `append`
 *   resolves; they must copy what they keep (the arrays belong to the caller's batch).
 * - Positions are numbers `segment * 2^32 + offset`; `read(from)` returns committed records at or
 *   after `from`, and every record carries `prev` (the position right after the previous record),
 *   so a consumer whose cursor equals `prev` or `start` is exactly caught up.
 * - Markers are the delivered position per endpoint (`markers/<name>`). Segments are deleted by
 *   `truncate` only when every open marker is past them and they are older than
 *   `minKeepaliveMs`, or unconditionally once older than `maxKeepaliveMs`. A series is forgotten
 *   only when no kept segment and no append still in flight uses it; the others are written to
 *   `checkpoint.<N>` so every later record stays decodable.
 * - On open, the checkpoint and all segments are replayed; a torn or CRC-corrupt tail of the last
 *   segment is truncated with a warning, corruption earlier ends that segment (counted).
 */
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'winston';
import { Counter, Gauge, Summary, type Registry } from 'prom-client';
import type { Labels, SampleBatch, Exemplar } from '../types.js';
import { hashLabels32, labelsEqual } from '../labels/labels.js';
import {
  decodeAppendPayload,
  encodeAppendRecord,
  parseSegmentHeader,
  readFrame,
  segmentHeader,
  SEGMENT_HEADER_SIZE,
  WalCorruptionError,
  type SeriesDef,
} from './records.js';

const POS_SEG = 2 ** 32;
export const DEFAULT_SEGMENT_SIZE = 128 * 1024 * 1024;
const MAX_RECORD = 1024 * 1024 * 1024;
const READ_CHUNK = 1024 * 1024;

export function position(segment: number, offset: number): number {
  return segment * POS_SEG + offset;
}
export function segmentOf(pos: number): number {
  return Math.floor(pos / POS_SEG);
}
export function offsetOf(pos: number): number {
  return pos % POS_SEG;
}
export function formatPosition(pos: number): string {
  return `${segmentOf(pos)}:${offsetOf(pos)}`;
}

export interface WalOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** Where the WAL's own metrics go; none when omitted. */
  readonly registry?: Registry;
  /** Bytes after which a new segment starts (a single larger record gets a segment of its own). */
  readonly segmentSize?: number;
  /** Clock in ms; injected by tests. */
  readonly now?: () => number;
}

export interface WalSeries {
  readonly ref: number;
  readonly labels: Labels;
  /**
   * Newest segment holding a record that uses this series. For an append not yet placed it is a
   * lower bound (the segment open when `append` was called); `truncate` raises it to the open
   * segment, and placement raises it to where the record landed.
   */
  lastSegment: number;
  removed: boolean;
}

export interface WalRecord {
  readonly prev: number;
  readonly start: number;
  readonly end: number;
  readonly refs: Uint32Array;
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly length: number;
  readonly exemplars?: ReadonlyMap<number, Exemplar>;
}

export interface WalListener {
  onAppend(rec: WalRecord): void;
  onSeriesRemoved?(refs: readonly number[]): void;
}

export interface TruncateOptions {
  readonly minKeepaliveMs: number;
  readonly maxKeepaliveMs: number;
}

export interface TruncateResult {
  readonly deletedSegments: number;
  readonly removedSeries: number;
  /** Segments deleted although some endpoint had not delivered them (max keepalive reached). */
  readonly forcedSegments: number;
}

interface Pending {
  readonly buf: Buffer;
  readonly batch: SampleBatch;
  readonly refs: Uint32Array;
  /** The open segment when `append` was called: the series' `lastSegment` so far. */
  readonly seg: number;
  readonly newSeries: readonly WalSeries[];
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

interface ReadHandle {
  readonly fh: FileHandle;
  users: number;
  /** Its segment was deleted: close when the last user releases it. */
  doomed: boolean;
}

interface SegmentInfo {
  /** Committed (valid) bytes. */
  size: number;
  created: number;
  /** No more records will be committed to it; readers at its end move to the next segment. */
  sealed: boolean;
}

/**
 * Series by label content (for Labels objects not seen before): 32-bit hash → one series or a
 * collision list, verified with `labelsEqual`. Costs a few bytes per series, not a key string.
 */
class SeriesIndex {
  readonly #m = new Map<number, WalSeries | WalSeries[]>();

  get(labels: Labels): WalSeries | undefined {
    const v = this.#m.get(hashLabels32(labels));
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return labelsEqual(v.labels, labels) ? v : undefined;
    return v.find((e) => labelsEqual(e.labels, labels));
  }

  /** Adds `e`, replacing a series with equal labels. */
  set(e: WalSeries): void {
    const h = hashLabels32(e.labels);
    const v = this.#m.get(h);
    if (v === undefined) this.#m.set(h, e);
    else if (!Array.isArray(v)) this.#m.set(h, labelsEqual(v.labels, e.labels) ? e : [v, e]);
    else {
      const i = v.findIndex((x) => labelsEqual(x.labels, e.labels));
      if (i >= 0) v[i] = e;
      else v.push(e);
    }
  }

  delete(e: WalSeries): void {
    const h = hashLabels32(e.labels);
    const v = this.#m.get(h);
    if (v === e) this.#m.delete(h);
    else if (Array.isArray(v)) {
      const rest = v.filter((x) => x !== e);
      if (rest.length === 0) this.#m.delete(h);
      else this.#m.set(h, rest.length === 1 ? rest[0]! : rest);
    }
  }
}

const segName = (n: number): string => String(n).padStart(8, '0');

class WalMetrics {
  readonly activeSeries: Gauge;
  readonly createdSeries: Counter;
  readonly removedSeries: Counter;
  readonly samplesAppended: Counter;
  readonly exemplarsAppended: Counter;
  readonly sizeBytes: Gauge;
  readonly segmentCurrent: Gauge;
  readonly corruptions: Counter;
  readonly truncations: Counter;
  readonly fsyncDuration: Summary;

  constructor(reg: Registry | undefined) {
    const registers = reg ? [reg] : [];
    this.activeSeries = new Gauge({ name: 'prometheus_remote_write_wal_storage_active_series', help: 'Current number of active series being tracked by the WAL storage', registers });
    this.createdSeries = new Counter({ name: 'prometheus_remote_write_wal_storage_created_series_total', help: 'Total number of created series appended to the WAL', registers });
    this.removedSeries = new Counter({ name: 'prometheus_remote_write_wal_storage_removed_series_total', help: 'Total number of created series removed from the WAL', registers });
    this.samplesAppended = new Counter({ name: 'prometheus_remote_write_wal_samples_appended_total', help: 'Total number of samples appended to the WAL', registers });
    this.exemplarsAppended = new Counter({ name: 'prometheus_remote_write_wal_exemplars_appended_total', help: 'Total number of exemplars appended to the WAL', registers });
    this.sizeBytes = new Gauge({ name: 'prometheus_tsdb_wal_storage_size_bytes', help: 'Size of the write-ahead log directory (segments and checkpoint) in bytes', registers });
    this.segmentCurrent = new Gauge({ name: 'prometheus_tsdb_wal_segment_current', help: 'Write-ahead log segment index that is currently being written to', registers });
    this.corruptions = new Counter({ name: 'prometheus_tsdb_wal_corruptions_total', help: 'Total number of corrupt or torn WAL records found on replay', registers });
    this.truncations = new Counter({ name: 'prometheus_tsdb_wal_truncations_total', help: 'Total number of WAL truncations', registers });
    this.fsyncDuration = new Summary({ name: 'prometheus_tsdb_wal_fsync_duration_seconds', help: 'Duration of WAL fsync', percentiles: [0.5, 0.9, 0.99], registers });
  }
}

export class Wal {
  readonly #dir: string;
  readonly #log: Logger;
  readonly #segmentSize: number;
  readonly #now: () => number;
  readonly #metrics: WalMetrics;

  readonly #byLabels = new WeakMap<Labels, WalSeries>();
  readonly #byLabelSet = new SeriesIndex();
  readonly #byRef: (WalSeries | undefined)[] = [];
  #nextRef = 1;
  #active = 0;

  readonly #segments = new Map<number, SegmentInfo>();
  #checkpointSize = 0;
  #checkpointIndex = -1;
  #curSeg = 0;
  #fh: FileHandle | undefined;
  #head = 0;

  #pending: Pending[] = [];
  /** The appends `#commit` is writing (taken from `#pending`, not placed yet). */
  #committing: readonly Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;

  readonly #listeners = new Set<WalListener>();
  readonly #markers = new Map<string, number>();
  readonly #dirtyMarkers = new Set<string>();
  #markerTimer: NodeJS.Timeout | undefined;
  #truncating: Promise<TruncateResult> | undefined;
  readonly #readers = new Map<number, ReadHandle>();
  #markerChain: Promise<void> = Promise.resolve();

  private constructor(opts: WalOptions) {
    this.#dir = opts.dir;
    this.#log = opts.logger;
    this.#segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.#now = opts.now ?? Date.now;
    this.#metrics = new WalMetrics(opts.registry);
    if (!(this.#segmentSize > SEGMENT_HEADER_SIZE)) throw new Error(`wal: segmentSize must be larger than ${SEGMENT_HEADER_SIZE} bytes`);
  }

  /** Opens (creating when missing) and replays the WAL in `opts.dir`. */
  static async open(opts: WalOptions): Promise<Wal> {
    const wal = new Wal(opts);
    await wal.#replay();
    return wal;
  }

  get dir(): string {
    return this.#dir;
  }
  /** Position right after the last committed record. */
  get head(): number {
    return this.#head;
  }
  get activeSeries(): number {
    return this.#active;
  }
  get sizeBytes(): number {
    let s = this.#checkpointSize;
    for (const seg of this.#segments.values()) s += seg.size;
    return s;
  }
  get segments(): readonly number[] {
    return [...this.#segments.keys()].sort((a, b) => a - b);
  }

  series(ref: number): WalSeries | undefined {
    return this.#byRef[ref];
  }

  subscribe(l: WalListener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  // -------------------------------------------------------------------------------------------
  // Append path

  append(batch: SampleBatch): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('wal: closed'));
    const n = batch.length;
    if (n === 0) return Promise.resolve();
    const refs = new Uint32Array(n);
    const newSeries: WalSeries[] = [];
    const seg = this.#curSeg;
    const series = batch.series;
    let prevLabels: Labels | undefined;
    let prevEntry: WalSeries | undefined;
    for (let i = 0; i < n; i++) {
      const labels = series[i]!;
      let e: WalSeries | undefined;
      if (labels === prevLabels) e = prevEntry!;
      else {
        e = this.#byLabels.get(labels);
        if (e === undefined || e.removed) e = this.#lookupSlow(labels, newSeries);
        e.lastSegment = seg;
        prevLabels = labels;
        prevEntry = e;
      }
      refs[i] = e.ref;
    }
    const defs: SeriesDef[] = newSeries.map((s) => ({ ref: s.ref, labels: s.labels }));
    const buf = encodeAppendRecord({
      series: defs,
      refs,
      timestamps: batch.timestamps,
      values: batch.values,
      length: n,
      ...(batch.exemplars ? { exemplars: batch.exemplars } : {}),
    });
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ buf, batch, refs, seg, newSeries, resolve, reject });
      if (!this.#flushing) this.#flushing = this.#flushLoop();
    });
  }

  #lookupSlow(labels: Labels, created: WalSeries[]): WalSeries {
    let e = this.#byLabelSet.get(labels);
    if (e === undefined || e.removed) {
      e = { ref: this.#nextRef++, labels, lastSegment: this.#curSeg, removed: false };
      this.#byLabelSet.set(e);
      this.#byRef[e.ref] = e;
      this.#active++;
      this.#metrics.createdSeries.inc();
      this.#metrics.activeSeries.set(this.#active);
      created.push(e);
    }
    this.#byLabels.set(labels, e);
    return e;
  }

  async #flushLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const items = this.#pending;
        this.#pending = [];
        this.#committing = items;
        await this.#commit(items);
      }
    } finally {
      this.#committing = [];
      this.#flushing = undefined;
    }
  }

  async #commit(items: Pending[]): Promise<void> {
    const placed: { item: Pending; prev: number; start: number; end: number }[] = [];
    let off = offsetOf(this.#head);
    let seg = this.#curSeg;
    let prev = this.#head;
    try {
      let bufs: Buffer[] = [];
      let at = off;
      for (const item of items) {
        if (off + item.buf.length > this.#segmentSize && off > SEGMENT_HEADER_SIZE) {
          await this.#writeAll(bufs, at);
          bufs = [];
          await this.#rotate();
          seg = this.#curSeg;
          off = SEGMENT_HEADER_SIZE;
          at = off;
        }
        const start = position(seg, off);
        off += item.buf.length;
        placed.push({ item, prev, start, end: position(seg, off) });
        prev = position(seg, off);
        bufs.push(item.buf);
      }
      await this.#writeAll(bufs, at);
      const t0 = performance.now();
      await this.#fh!.datasync();
      this.#metrics.fsyncDuration.observe((performance.now() - t0) / 1000);
    } catch (err: unknown) {
      await this.#recoverFromWriteError(err, items);
      return;
    }
    let samples = 0;
    let exemplars = 0;
    for (const p of placed) {
      const seg = segmentOf(p.start);
      if (seg !== segmentOf(this.#head)) this.#sealBefore(seg);
      if (seg > p.item.seg) this.#raiseLastSegment(p.item.refs, seg);
      this.#head = p.end;
      this.#segments.get(seg)!.size = offsetOf(p.end);
      const b = p.item.batch;
      const rec: WalRecord = {
        prev: p.prev,
        start: p.start,
        end: p.end,
        refs: p.item.refs,
        timestamps: b.timestamps.length === b.length ? b.timestamps : b.timestamps.subarray(0, b.length),
        values: b.values.length === b.length ? b.values : b.values.subarray(0, b.length),
        length: b.length,
        ...(b.exemplars ? { exemplars: b.exemplars } : {}),
      };
      samples += b.length;
      exemplars += b.exemplars?.size ?? 0;
      for (const l of this.#listeners) {
        try {
          l.onAppend(rec);
        } catch (err: unknown) {
          this.#log.error('wal: listener failed', { err: String(err) });
        }
      }
      p.item.resolve();
    }
    this.#metrics.samplesAppended.inc(samples);
    if (exemplars > 0) this.#metrics.exemplarsAppended.inc(exemplars);
    this.#metrics.sizeBytes.set(this.sizeBytes);
  }

  async #writeAll(bufs: Buffer[], at: number): Promise<void> {
    if (bufs.length === 0) return;
    const fh = this.#fh!;
    let total = 0;
    for (const b of bufs) total += b.length;
    let written = 0;
    while (written < total) {
      const { bytesWritten } = await fh.writev(written === 0 ? bufs : [Buffer.concat(bufs).subarray(written)], at + written);
      written += bytesWritten;
      if (bytesWritten === 0) throw new Error('wal: short write');
    }
  }

  /**
   * A failed write or sync leaves the segment tail unknown: the failed appends are rejected, the
   * series they introduced are forgotten (so the next append writes them again), and writing goes
   * on in a fresh segment.
   */
  async #recoverFromWriteError(err: unknown, items: Pending[]): Promise<void> {
    this.#log.error('wal: write failed; rejecting the batch and starting a new segment', { err: String(err) });
    for (const item of items) {
      for (const s of item.newSeries) this.#forget(s);
      item.reject(err);
    }
    this.#metrics.activeSeries.set(this.#active);
    try {
      await this.#fh?.truncate(offsetOf(this.#head));
    } catch {
      // The tail stays; replay stops at the first bad record of this segment.
    }
    try {
      await this.#rotate();
      this.#sealBefore(this.#curSeg);
    } catch (rotateErr: unknown) {
      this.#log.error('wal: cannot open a new segment', { err: String(rotateErr) });
    }
  }

  /** Records using `refs` are (or will be) in segment `seg` or later. */
  #raiseLastSegment(refs: Uint32Array, seg: number): void {
    let prev = -1;
    for (let i = 0; i < refs.length; i++) {
      const ref = refs[i]!;
      if (ref === prev) continue;
      prev = ref;
      const e = this.#byRef[ref];
      if (e && e.lastSegment < seg) e.lastSegment = seg;
    }
  }

  #forget(s: WalSeries): void {
    if (s.removed) return;
    s.removed = true;
    this.#byRef[s.ref] = undefined;
    if (this.#byLabelSet.get(s.labels) === s) this.#byLabelSet.delete(s);
    this.#active--;
  }

  /** Seals every segment before `seg` and moves the head to the start of `seg`. */
  #sealBefore(seg: number): void {
    for (const [i, info] of this.#segments) if (i < seg) info.sealed = true;
    this.#head = position(seg, SEGMENT_HEADER_SIZE);
  }

  /** Starts the next segment; it becomes the head only when its first record commits. */
  async #rotate(): Promise<void> {
    if (this.#fh) {
      await this.#fh.datasync();
      await this.#fh.close();
      this.#fh = undefined;
    }
    await this.#openSegment(this.#curSeg + 1);
  }

  async #openSegment(index: number): Promise<void> {
    const fh = await open(join(this.#dir, segName(index)), 'w');
    const created = this.#now();
    await fh.write(segmentHeader(created), 0, SEGMENT_HEADER_SIZE, 0);
    await fh.datasync();
    this.#fh = fh;
    this.#curSeg = index;
    this.#segments.set(index, { size: SEGMENT_HEADER_SIZE, created, sealed: false });
    this.#metrics.segmentCurrent.set(index);
    await this.#syncDir();
  }

  async #syncDir(): Promise<void> {
    try {
      const d = await open(this.#dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      // Directory fsync is best effort (not supported on every filesystem).
    }
  }

  // -------------------------------------------------------------------------------------------
  // Replay

  async #replay(): Promise<void> {
    await mkdir(join(this.#dir, 'markers'), { recursive: true });
    const names = await readdir(this.#dir);
    const segs: number[] = [];
    let cp = -1;
    for (const name of names) {
      if (/^\d{8}$/.test(name)) segs.push(Number(name));
      else if (/^checkpoint\.\d{8}$/.test(name)) cp = Math.max(cp, Number(name.slice(11)));
      else if (name.endsWith('.tmp')) await rm(join(this.#dir, name), { force: true });
    }
    segs.sort((a, b) => a - b);
    const t0 = performance.now();
    if (cp >= 0) {
      const file = join(this.#dir, `checkpoint.${segName(cp)}`);
      const buf = await readFile(file);
      this.#checkpointSize = buf.length;
      this.#checkpointIndex = cp;
      this.#scan(buf, `checkpoint.${segName(cp)}`, cp);
      for (const name of names) {
        if (/^checkpoint\.\d{8}$/.test(name) && Number(name.slice(11)) < cp) await rm(join(this.#dir, name), { force: true });
      }
    }
    const live = segs.filter((s) => s > cp);
    for (const s of segs) if (s <= cp) await rm(join(this.#dir, segName(s)), { force: true });
    for (let i = 0; i < live.length; i++) {
      const seg = live[i]!;
      const file = join(this.#dir, segName(seg));
      const buf = await readFile(file);
      const isLast = i === live.length - 1;
      let created: number;
      try {
        created = parseSegmentHeader(buf);
      } catch {
        this.#metrics.corruptions.inc();
        this.#log.warn(`wal: segment ${segName(seg)} has no valid header; ignoring it`, { size: buf.length });
        if (isLast) await rm(file, { force: true });
        continue;
      }
      const valid = this.#scan(buf, segName(seg), seg);
      if (valid < buf.length) {
        this.#metrics.corruptions.inc();
        if (isLast) {
          this.#log.warn(
            `wal: torn or corrupt tail in last segment ${segName(seg)} at offset ${valid}; truncating ${buf.length - valid} bytes`,
          );
          const fh = await open(file, 'r+');
          await fh.truncate(valid);
          await fh.datasync();
          await fh.close();
        } else {
          this.#log.warn(`wal: corrupt record in segment ${segName(seg)} at offset ${valid}; the rest of that segment is skipped`);
        }
      }
      this.#segments.set(seg, { size: valid, created, sealed: true });
    }
    const next = live.length > 0 ? live[live.length - 1]! + 1 : cp + 1;
    await this.#openSegment(next);
    this.#sealBefore(next);
    this.#metrics.activeSeries.set(this.#active);
    this.#metrics.sizeBytes.set(this.sizeBytes);
    if (this.#active > 0) {
      this.#log.info('wal: replayed', {
        series: this.#active,
        segments: live.length,
        checkpoint: cp,
        durationMs: Math.round(performance.now() - t0),
      });
    }
  }

  /**
   * Replays one file's records into the series maps, as records of segment `seg` (a checkpoint
   * counts as the last segment it replaced); returns the offset after the last good record.
   */
  #scan(buf: Buffer, name: string, seg: number): number {
    let off = SEGMENT_HEADER_SIZE;
    while (off < buf.length) {
      const f = readFrame(buf, off, buf.length, MAX_RECORD);
      if (f.kind !== 'record') {
        if (f.kind === 'corrupt') this.#log.warn(`wal: ${name}: ${f.reason} at offset ${off}`);
        return off;
      }
      try {
        const rec = decodeAppendPayload(buf, f.payloadStart, f.end);
        for (const s of rec.series) this.#restoreSeries(s, seg);
        this.#raiseLastSegment(rec.refs, seg);
      } catch (err: unknown) {
        if (!(err instanceof WalCorruptionError)) throw err;
        this.#log.warn(`wal: ${name}: ${err.message} at offset ${off}`);
        return off;
      }
      off = f.end;
    }
    return off;
  }

  #restoreSeries(s: SeriesDef, seg: number): void {
    const old = this.#byLabelSet.get(s.labels);
    if (old && !old.removed && old.ref !== s.ref) {
      // The same labels under a second ref (written after a GC race); keep both refs readable.
      this.#byRef[s.ref] = { ref: s.ref, labels: old.labels, lastSegment: seg, removed: false };
    } else if (!old || old.removed) {
      const e: WalSeries = { ref: s.ref, labels: s.labels, lastSegment: seg, removed: false };
      this.#byLabelSet.set(e);
      this.#byRef[s.ref] = e;
      this.#active++;
    }
    if (s.ref >= this.#nextRef) this.#nextRef = s.ref + 1;
  }

  // -------------------------------------------------------------------------------------------
  // Reading back

  /** Committed record bytes between two positions (how far a reader is behind `to`). */
  bytesBetween(from: number, to: number): number {
    if (to <= from) return 0;
    const fs = segmentOf(from);
    const ts = segmentOf(to);
    if (fs === ts) return to - from;
    let n = Math.max(0, (this.#segments.get(fs)?.size ?? 0) - offsetOf(from)) + Math.max(0, offsetOf(to) - SEGMENT_HEADER_SIZE);
    for (const [seg, info] of this.#segments) if (seg > fs && seg < ts) n += info.size - SEGMENT_HEADER_SIZE;
    return n;
  }

  /** Maps a position at the end of a closed segment to the start of the next one. */
  normalize(pos: number): number {
    let seg = segmentOf(pos);
    let off = offsetOf(pos);
    for (;;) {
      if (pos >= this.#head) return pos;
      const info = this.#segments.get(seg);
      if (info && (off < info.size || !info.sealed)) return position(seg, Math.max(off, SEGMENT_HEADER_SIZE));
      if (!info) {
        const later = this.segments.find((s) => s > seg);
        if (later === undefined) return this.#head;
        seg = later;
        off = SEGMENT_HEADER_SIZE;
        continue;
      }
      seg++;
      off = SEGMENT_HEADER_SIZE;
    }
  }

  /**
   * Committed records from `from` on, stopping after about `maxSamples` samples. Records in
   * segments deleted meanwhile (max keepalive) are skipped.
   */
  async read(from: number, maxSamples: number): Promise<{ records: WalRecord[]; next: number }> {
    const records: WalRecord[] = [];
    let pos = this.normalize(from);
    let samples = 0;
    let chunk = READ_CHUNK;
    while (pos < this.#head && samples < maxSamples) {
      const seg = segmentOf(pos);
      const info = this.#segments.get(seg);
      if (!info) {
        pos = this.normalize(pos);
        continue;
      }
      const limit = info.size;
      const off = offsetOf(pos);
      if (off >= limit) {
        pos = this.normalize(position(seg + 1, SEGMENT_HEADER_SIZE));
        continue;
      }
      let buf: Buffer;
      try {
        const h = await this.#acquireReader(seg);
        try {
          const len = Math.min(chunk, limit - off);
          buf = Buffer.allocUnsafe(len);
          const { bytesRead } = await h.fh.read(buf, 0, len, off);
          buf = buf.subarray(0, bytesRead);
        } finally {
          await this.#releaseReader(h);
        }
      } catch (err: unknown) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          this.#segments.delete(seg);
          pos = this.normalize(pos);
          continue;
        }
        throw err;
      }
      let p = 0;
      let progressed = false;
      while (p < buf.length && samples < maxSamples) {
        const f = readFrame(buf, p, buf.length, MAX_RECORD);
        if (f.kind === 'partial') {
          if (!progressed) chunk = Math.max(chunk, f.need);
          break;
        }
        if (f.kind === 'corrupt') {
          this.#log.warn(`wal: read: ${f.reason} in segment ${segName(seg)} at offset ${off + p}; skipping to the next segment`);
          this.#metrics.corruptions.inc();
          info.size = off + p;
          break;
        }
        // Series of read-back records are already in the series table (replayed or appended).
        const d = decodeAppendPayload(buf, f.payloadStart, f.end, true);
        const start = position(seg, off + p);
        const end = position(seg, off + f.end);
        records.push({
          prev: pos,
          start,
          end,
          refs: d.refs,
          timestamps: d.timestamps,
          values: d.values,
          length: d.length,
          ...(d.exemplars ? { exemplars: d.exemplars } : {}),
        });
        samples += d.length;
        pos = end;
        p = f.end;
        progressed = true;
      }
      if (progressed) chunk = READ_CHUNK;
      if (samples >= maxSamples) break;
    }
    return { records, next: pos };
  }

  /** Read handles stay open across `read` calls (readers tail the same segment for long). */
  async #acquireReader(seg: number): Promise<ReadHandle> {
    let h = this.#readers.get(seg);
    if (!h) {
      const fh = await open(join(this.#dir, segName(seg)), 'r');
      h = this.#readers.get(seg);
      if (h) await fh.close();
      else {
        h = { fh, users: 0, doomed: false };
        this.#readers.set(seg, h);
      }
    }
    h.users++;
    return h;
  }

  async #releaseReader(h: ReadHandle): Promise<void> {
    h.users--;
    if (h.users > 0) return;
    if (h.doomed) {
      await h.fh.close().catch(() => undefined);
      return;
    }
    // Keep the handles of the newest few segments; readers move forward.
    if (this.#readers.size > 4) {
      const oldest = Math.min(...this.#readers.keys());
      const o = this.#readers.get(oldest)!;
      if (o.users === 0) {
        this.#readers.delete(oldest);
        await o.fh.close().catch(() => undefined);
      }
    }
  }

  async #dropReader(seg: number): Promise<void> {
    const h = this.#readers.get(seg);
    if (!h) return;
    this.#readers.delete(seg);
    if (h.users === 0) await h.fh.close().catch(() => undefined);
    else h.doomed = true;
  }

  // -------------------------------------------------------------------------------------------
  // Delivery markers

  /** Loads the endpoint's delivered position, creating the marker at the head when absent. */
  async openMarker(name: string): Promise<number> {
    const known = this.#markers.get(name);
    if (known !== undefined) return known;
    let pos: number | undefined;
    try {
      const raw = JSON.parse(await readFile(this.#markerPath(name), 'utf8')) as { segment?: unknown; offset?: unknown };
      if (typeof raw.segment === 'number' && typeof raw.offset === 'number') pos = position(raw.segment, raw.offset);
    } catch {
      pos = undefined;
    }
    if (pos === undefined) {
      pos = this.#head;
      this.#markers.set(name, pos);
      await this.#writeMarker(name);
    } else {
      this.#markers.set(name, pos);
    }
    return pos;
  }

  /** Records delivery up to `pos`; persisted within a second (and on close). */
  setMarker(name: string, pos: number): void {
    if (!this.#markers.has(name)) return;
    this.#markers.set(name, pos);
    this.#dirtyMarkers.add(name);
    if (!this.#markerTimer) {
      this.#markerTimer = setTimeout(() => {
        this.#markerTimer = undefined;
        void this.flushMarkers();
      }, 1000);
      this.#markerTimer.unref();
    }
  }

  marker(name: string): number | undefined {
    return this.#markers.get(name);
  }

  /** Stops tracking an endpoint: its marker no longer holds segments back. */
  async removeMarker(name: string, deleteFile: boolean): Promise<void> {
    if (this.#dirtyMarkers.has(name) && !deleteFile) await this.#writeMarker(name);
    this.#markers.delete(name);
    this.#dirtyMarkers.delete(name);
    if (deleteFile) await this.#markerOp(() => rm(this.#markerPath(name), { force: true }));
  }

  async flushMarkers(): Promise<void> {
    const names = [...this.#dirtyMarkers];
    this.#dirtyMarkers.clear();
    for (const n of names) {
      try {
        await this.#writeMarker(n);
      } catch (err: unknown) {
        this.#log.warn(`wal: cannot persist marker ${n}`, { err: String(err) });
      }
    }
  }

  #markerPath(name: string): string {
    return join(this.#dir, 'markers', encodeURIComponent(name));
  }

  /** Marker file operations run one at a time, so a newer position is never overwritten by an older one. */
  #markerOp(op: () => Promise<void>): Promise<void> {
    const run = this.#markerChain.then(op);
    this.#markerChain = run.catch(() => undefined);
    return run;
  }

  #writeMarker(name: string): Promise<void> {
    return this.#markerOp(async () => {
      const pos = this.#markers.get(name);
      if (pos === undefined) return;
      const file = this.#markerPath(name);
      await writeFile(`${file}.tmp`, JSON.stringify({ segment: segmentOf(pos), offset: offsetOf(pos) }));
      await rename(`${file}.tmp`, file);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Truncation

  truncate(opts: TruncateOptions): Promise<TruncateResult> {
    if (!this.#truncating) {
      this.#truncating = this.#truncate(opts).finally(() => {
        this.#truncating = undefined;
      });
    }
    return this.#truncating;
  }

  async #truncate(opts: TruncateOptions): Promise<TruncateResult> {
    const now = this.#now();
    let low = this.#head;
    for (const m of this.#markers.values()) low = Math.min(low, this.normalize(m));
    const lowSeg = segmentOf(low);
    const segs = this.segments;
    let last = -1;
    let forced = 0;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i]!;
      if (!this.#segments.get(s)!.sealed || s >= segmentOf(this.#head)) break;
      // Newest data in a closed segment is no younger than the creation of the next one.
      const closedAt = this.#segments.get(segs[i + 1]!)?.created ?? now;
      const delivered = s < lowSeg;
      const old = closedAt <= now - opts.minKeepaliveMs;
      const tooOld = closedAt <= now - opts.maxKeepaliveMs;
      if ((delivered && old) || tooOld) {
        last = s;
        if (!delivered) forced++;
      } else break;
    }
    if (last < 0) return { deletedSegments: 0, removedSeries: 0, forcedSegments: 0 };
    // Appends not placed yet land in the open segment or later, whatever segment was open when
    // they were called.
    for (const items of [this.#committing, this.#pending]) for (const p of items) this.#raiseLastSegment(p.refs, this.#curSeg);
    // A series none of whose records is in a kept segment: the deleted segments closed at least
    // min keepalive ago (max keepalive when forced), so it has been idle at least that long.
    const removed: number[] = [];
    for (const e of this.#byRef) {
      if (e && !e.removed && e.lastSegment <= last) {
        this.#forget(e);
        removed.push(e.ref);
      }
    }
    await this.#writeCheckpoint(last);
    let deleted = 0;
    for (const s of segs) {
      if (s > last) break;
      await this.#dropReader(s);
      await rm(join(this.#dir, segName(s)), { force: true });
      this.#segments.delete(s);
      deleted++;
    }
    if (forced > 0) {
      this.#log.warn(`wal: deleted ${forced} undelivered segment(s) older than max_keepalive_time`);
    }
    this.#metrics.truncations.inc();
    this.#metrics.removedSeries.inc(removed.length);
    this.#metrics.activeSeries.set(this.#active);
    this.#metrics.sizeBytes.set(this.sizeBytes);
    if (removed.length > 0) {
      for (const l of this.#listeners) l.onSeriesRemoved?.(removed);
    }
    return { deletedSegments: deleted, removedSeries: removed.length, forcedSegments: forced };
  }

  async #writeCheckpoint(index: number): Promise<void> {
    const final = join(this.#dir, `checkpoint.${segName(index)}`);
    const tmp = `${final}.tmp`;
    const fh = await open(tmp, 'w');
    let size = 0;
    try {
      const bufs: Buffer[] = [segmentHeader(this.#now())];
      let batch: SeriesDef[] = [];
      const empty = new Uint32Array(0);
      const none = new Float64Array(0);
      const flush = (): void => {
        if (batch.length === 0) return;
        bufs.push(encodeAppendRecord({ series: batch, refs: empty, timestamps: none, values: none, length: 0 }));
        batch = [];
      };
      for (const e of this.#byRef) {
        if (!e || e.removed) continue;
        batch.push({ ref: e.ref, labels: e.labels });
        if (batch.length >= 5000) flush();
      }
      flush();
      for (const b of bufs) size += b.length;
      await fh.writev(bufs, 0);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await rename(tmp, final);
    await this.#syncDir();
    const old = this.#checkpointIndex;
    this.#checkpointIndex = index;
    this.#checkpointSize = size;
    if (old >= 0 && old !== index) await rm(join(this.#dir, `checkpoint.${segName(old)}`), { force: true });
  }

  /** Waits for in-flight appends, persists markers and closes the segment. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#flushing) await this.#flushing;
    if (this.#truncating) await this.#truncating.catch(() => undefined);
    if (this.#markerTimer) clearTimeout(this.#markerTimer);
    this.#markerTimer = undefined;
    await this.flushMarkers();
    for (const seg of [...this.#readers.keys()]) await this.#dropReader(seg);
    if (this.#fh) {
      await this.#fh.close();
      this.#fh = undefined;
    }
  }
}

/** Total bytes of a WAL directory on disk (for tests and diagnostics). */
export async function dirSize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const s = await stat(join(dir, name));
    if (s.isFile()) total += s.size;
  }
  return total;
}
