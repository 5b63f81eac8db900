/**
 * The write-ahead log of `loki.write` (`wal { enabled = true }`): accepted entries are written
 * to segment files before `append` resolves, and one reader per endpoint feeds them from disk to
 * the endpoint's queue, so entries accepted while Loki is down survive a crash or SIGKILL.
 *
 * Layout (`<dataPath>/wal/`): segment files `00000001`, `00000002`, ... framed as the
 * Prometheus WAL's (`prom/wal/records.ts`: 16-byte header, then `u32 length | u32 CRC32 |
 * payload` records); a payload is one `append` call: JSON `[[key, tenant, ms, ns, line, sm?], ...]`.
 * `markers/<endpoint>` holds the position up to which that endpoint delivered.
 *
 * Contracts:
 * - `append` resolves after the record was written and fdatasync'ed; concurrent appends are
 *   group-committed. A torn tail (crash mid-write) is cut off on open.
 * - A reader advances its marker only over records whose entries were all sent or given up for
 *   good (see `queue.ts` `Ack`); undelivered entries are read again after a restart, so delivery
 *   is at least once (a crash may repeat entries sent since the last marker flush, every second).
 * - Readers wake on every commit and also poll, backing off from `min_read_frequency` to
 *   `max_read_frequency`.
 * - A segment is deleted once every current endpoint's marker is past it, or once it is older
 *   than `max_segment_age` (then undelivered entries in it are lost, as in Alloy).
 */
import { mkdir, open, readdir, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Logger } from 'winston';
import { sleep } from '../../../clock/clock.js';
import type { Labels, LogEntry } from '../../../loki/types.js';
import { StreamLabelsCache } from '../../../loki/labels.js';
import { offsetOf, position, segmentOf } from '../../../prom/wal/wal.js';
import { parseSegmentHeader, readFrame, RECORD_HEADER_SIZE, SEGMENT_HEADER_SIZE, segmentHeader } from '../../../prom/wal/records.js';
import type { Ack, EndpointQueue, PreparedEntry } from './queue.js';

const SEGMENT_SIZE = 8 * 1024 * 1024;
const MAX_RECORD = 256 * 1024 * 1024;
const READ_BYTES = 4 * 1024 * 1024;

type Row = [string, string, number, number, string, [string, string][]?];

function encode(items: readonly PreparedEntry[]): Buffer {
  const rows: Row[] = items.map((it) => {
    const e = it.entry;
    const row: Row = [it.key, it.tenant, e.timestampMs, e.timestampNanos, e.line];
    if (e.structuredMetadata && e.structuredMetadata.length > 0) row.push(e.structuredMetadata.map((l) => [l.name, l.value]));
    return row;
  });
  const payload = Buffer.from(JSON.stringify(rows), 'utf8');
  const frame = Buffer.allocUnsafe(RECORD_HEADER_SIZE + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  payload.copy(frame, RECORD_HEADER_SIZE);
  return frame;
}

const segName = (n: number): string => String(n).padStart(8, '0');

interface Segment {
  readonly index: number;
  readonly createdMs: number;
}

export interface WalRead {
  readonly records: { readonly end: number; readonly items: PreparedEntry[] }[];
  readonly next: number;
}

export class LogsWal {
  readonly dir: string;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #labels = new StreamLabelsCache();
  #segments: Segment[] = [];
  #fh: FileHandle | undefined;
  #size = 0;
  #pending: { buf: Buffer; resolve: () => void; reject: (e: Error) => void }[] = [];
  #flushing: Promise<void> | undefined;
  readonly #listeners = new Set<() => void>();
  readonly #markers = new Map<string, number>();
  #closed = false;

  private constructor(dir: string, log: Logger, now: () => number) {
    this.dir = dir;
    this.#log = log;
    this.#now = now;
  }

  static async open(dir: string, log: Logger, now: () => number = Date.now): Promise<LogsWal> {
    const w = new LogsWal(dir, log, now);
    await mkdir(join(dir, 'markers'), { recursive: true });
    await w.#recover();
    return w;
  }

  /** The committed end (position after the last record). */
  get head(): number {
    const cur = this.#segments[this.#segments.length - 1]!;
    return position(cur.index, this.#size);
  }

  /** The position of the first record still on disk. */
  get tail(): number {
    return position(this.#segments[0]!.index, SEGMENT_HEADER_SIZE);
  }

  async #recover(): Promise<void> {
    const names = (await readdir(this.dir)).filter((n) => /^\d{8}$/.test(n)).sort();
    for (const n of names) {
      const index = Number(n);
      let createdMs = this.#now();
      try {
        const buf = await readFile(join(this.dir, n));
        createdMs = parseSegmentHeader(buf);
        // Cut a torn or corrupt tail so appends continue from a clean end.
        let off = SEGMENT_HEADER_SIZE;
        for (;;) {
          const f = readFrame(buf, off, buf.length, MAX_RECORD);
          if (f.kind !== 'record') {
            if (off < buf.length) {
              this.#log.warn(`loki.write: WAL segment ${n}: ${f.kind === 'corrupt' ? f.reason : 'torn record'} at offset ${off}; cutting ${buf.length - off} bytes`);
              const fh = await open(join(this.dir, n), 'r+');
              await fh.truncate(off);
              await fh.close();
            }
            break;
          }
          off = f.end;
        }
        this.#segments.push({ index, createdMs });
        if (n === names[names.length - 1]) this.#size = off;
      } catch (err: unknown) {
        this.#log.warn(`loki.write: WAL segment ${n} is unreadable and is removed: ${(err as Error).message}`);
        await rm(join(this.dir, n), { force: true });
      }
    }
    if (this.#segments.length === 0) await this.#newSegment(1);
    else this.#fh = await open(join(this.dir, segName(this.#segments[this.#segments.length - 1]!.index)), 'a');
    for (const n of await readdir(join(this.dir, 'markers'))) {
      const v = Number((await readFile(join(this.dir, 'markers', n), 'utf8')).trim());
      if (Number.isSafeInteger(v) && v >= 0) this.#markers.set(decodeURIComponent(n), v);
    }
  }

  async #newSegment(index: number): Promise<void> {
    await this.#fh?.close();
    const createdMs = this.#now();
    const fh = await open(join(this.dir, segName(index)), 'w');
    await fh.write(segmentHeader(createdMs));
    await fh.datasync();
    this.#fh = fh;
    this.#size = SEGMENT_HEADER_SIZE;
    this.#segments.push({ index, createdMs });
  }

  /** Durably appends one batch (see the contract). */
  append(items: readonly PreparedEntry[]): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('loki.write WAL is closed'));
    if (items.length === 0) return Promise.resolve();
    const buf = encode(items);
    return new Promise((resolve, reject) => {
      this.#pending.push({ buf, resolve, reject });
      this.#flushing ??= this.#flushLoop();
    });
  }

  async #flushLoop(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      try {
        const cur = this.#segments[this.#segments.length - 1]!;
        if (this.#size > SEGMENT_SIZE) await this.#newSegment(cur.index + 1);
        const bufs = batch.map((p) => p.buf);
        const total = bufs.reduce((n, b) => n + b.length, 0);
        await this.#fh!.writev(bufs);
        await this.#fh!.datasync();
        this.#size += total;
        for (const p of batch) p.resolve();
        for (const l of this.#listeners) l();
      } catch (err: unknown) {
        for (const p of batch) p.reject(new Error(`writing the loki.write WAL failed: ${(err as Error).message}`));
      }
    }
    this.#flushing = undefined;
  }

  subscribe(l: () => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** Moves a position that points before the oldest segment, or at a segment's end, forward. */
  normalize(pos: number): number {
    const first = this.#segments[0]!;
    if (segmentOf(pos) < first.index || pos < this.tail) return this.tail;
    return pos;
  }

  /** Committed records at or after `from` (up to about `READ_BYTES`), and the next position. */
  async read(from: number): Promise<WalRead> {
    let pos = this.normalize(from);
    for (;;) {
      const seg = segmentOf(pos);
      const off = offsetOf(pos);
      const last = this.#segments[this.#segments.length - 1]!;
      const nextSeg = this.#segments.find((x) => x.index > seg);
      let fh: FileHandle;
      try {
        fh = await open(join(this.dir, segName(seg)), 'r');
      } catch {
        if (!nextSeg) return { records: [], next: pos };
        pos = position(nextSeg.index, SEGMENT_HEADER_SIZE);
        continue;
      }
      try {
        const size = seg === last.index ? this.#size : (await fh.stat()).size;
        if (off >= size) {
          if (!nextSeg || seg === last.index) return { records: [], next: pos };
          pos = position(nextSeg.index, SEGMENT_HEADER_SIZE);
          continue;
        }
        let buf = Buffer.allocUnsafe(Math.min(size - off, READ_BYTES));
        let n = (await fh.read(buf, 0, buf.length, off)).bytesRead;
        const first = readFrame(buf, 0, n, MAX_RECORD);
        if (first.kind === 'partial' && first.need <= size - off) {
          // One record larger than a read: read it whole.
          buf = Buffer.allocUnsafe(first.need);
          n = (await fh.read(buf, 0, first.need, off)).bytesRead;
        }
        const records: { end: number; items: PreparedEntry[] }[] = [];
        let p = 0;
        for (;;) {
          const f = readFrame(buf, p, n, MAX_RECORD);
          if (f.kind !== 'record') {
            if (f.kind === 'corrupt' && records.length === 0) {
              this.#log.warn(`loki.write: WAL segment ${segName(seg)} is corrupt at offset ${off + p} (${f.reason}); skipping the rest of it`);
              if (!nextSeg) return { records, next: position(seg, size) };
              pos = position(nextSeg.index, SEGMENT_HEADER_SIZE);
            }
            break;
          }
          records.push({ end: position(seg, off + f.end), items: this.#decode(buf, f.payloadStart, f.end) });
          p = f.end;
        }
        if (records.length > 0) return { records, next: position(seg, off + p) };
        if (segmentOf(pos) === seg) return { records, next: pos };
      } finally {
        await fh.close();
      }
    }
  }

  #decode(buf: Buffer, start: number, end: number): PreparedEntry[] {
    const rows = JSON.parse(buf.toString('utf8', start, end)) as Row[];
    return rows.map(([key, tenant, ms, ns, line, sm]) => {
      const labels: Labels = this.#labels.parse(key);
      const entry: LogEntry = sm ? { labels, line, timestampMs: ms, timestampNanos: ns, structuredMetadata: sm.map(([name, value]) => ({ name, value })) } : { labels, line, timestampMs: ms, timestampNanos: ns };
      let bytes = Buffer.byteLength(line);
      if (sm) for (const [n, v] of sm) bytes += n.length + v.length;
      return { entry, key, tenant, bytes };
    });
  }

  marker(name: string): number | undefined {
    return this.#markers.get(name);
  }

  setMarker(name: string, pos: number): void {
    this.#markers.set(name, pos);
  }

  async flushMarkers(names: Iterable<string>): Promise<void> {
    for (const name of names) {
      const v = this.#markers.get(name);
      if (v === undefined) continue;
      const file = join(this.dir, 'markers', encodeURIComponent(name));
      await writeFile(`${file}.tmp`, String(v));
      await rename(`${file}.tmp`, file);
    }
  }

  /** Deletes segments delivered by every endpoint in `names`, or older than `maxAgeMs`. */
  async truncate(names: readonly string[], maxAgeMs: number): Promise<number> {
    const now = this.#now();
    const cur = this.#segments[this.#segments.length - 1]!;
    if (now - cur.createdMs > maxAgeMs && this.#size > SEGMENT_HEADER_SIZE) await this.#newSegment(cur.index + 1);
    const low = names.length === 0 ? this.head : Math.min(...names.map((n) => this.#markers.get(n) ?? this.tail));
    let removed = 0;
    while (this.#segments.length > 1) {
      const s = this.#segments[0]!;
      const delivered = low >= position(this.#segments[1]!.index, 0);
      const expired = now - s.createdMs > maxAgeMs;
      if (!delivered && !expired) break;
      if (!delivered) this.#log.warn(`loki.write: WAL segment ${segName(s.index)} is older than max_segment_age and is deleted with undelivered entries`);
      await rm(join(this.dir, segName(s.index)), { force: true });
      this.#segments.shift();
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
    await this.#fh?.close();
    this.#fh = undefined;
  }
}

export interface ReaderOptions {
  readonly name: string;
  readonly wal: LogsWal;
  readonly queue: EndpointQueue;
  readonly minReadMs: number;
  readonly maxReadMs: number;
  readonly logger: Logger;
}

/** Feeds one endpoint's queue from the WAL and advances its marker over delivered records. */
export class WalReader {
  readonly #o: ReaderOptions;
  #pos: number;
  readonly #inflight: { end: number; done: boolean }[] = [];
  #wake: (() => void) | undefined;
  #signal = false;
  readonly #stop = new AbortController();
  #stopping = false;
  readonly #loop: Promise<void>;
  readonly #unsubscribe: () => void;

  constructor(o: ReaderOptions) {
    this.#o = o;
    this.#pos = o.wal.normalize(o.wal.marker(o.name) ?? o.wal.tail);
    if (o.wal.marker(o.name) === undefined) o.wal.setMarker(o.name, this.#pos);
    this.#unsubscribe = o.wal.subscribe(() => this.#poke());
    this.#loop = this.#run();
  }

  #poke(): void {
    this.#signal = true;
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #advance(): void {
    let marker: number | undefined;
    while (this.#inflight[0]?.done) marker = this.#inflight.shift()!.end;
    if (marker !== undefined) this.#o.wal.setMarker(this.#o.name, marker);
  }

  /** Everything read was delivered and the reader is at the WAL head. */
  caughtUp(): boolean {
    return this.#inflight.length === 0 && this.#pos >= this.#o.wal.head;
  }

  async #run(): Promise<void> {
    let wait = this.#o.minReadMs;
    while (!this.#stopping) {
      this.#signal = false;
      let r: WalRead;
      try {
        r = await this.#o.wal.read(this.#pos);
      } catch (err: unknown) {
        this.#o.logger.warn(`loki.write: reading the WAL for endpoint ${this.#o.name} failed: ${(err as Error).message}`);
        r = { records: [], next: this.#pos };
      }
      for (const rec of r.records) {
        const slot = { end: rec.end, done: false };
        this.#inflight.push(slot);
        const ack: Ack = {
          remaining: rec.items.length,
          done: () => {
            slot.done = true;
            this.#advance();
          },
        };
        try {
          await this.#o.queue.enqueue(rec.items, ack);
        } catch {
          // The queue shut down: the record stays undelivered in the WAL.
          this.#pos = rec.end;
          return;
        }
      }
      this.#pos = r.next;
      if (r.records.length > 0) {
        wait = this.#o.minReadMs;
        continue;
      }
      if (this.#signal) continue;
      await sleep(wait, this.#stop.signal, (wake) => (this.#wake = wake));
      this.#wake = undefined;
      wait = Math.min(wait * 2, this.#o.maxReadMs);
    }
  }

  /** Stops reading (entries already queued keep their acks). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#unsubscribe();
    this.#stop.abort();
    this.#poke();
    await this.#loop;
  }
}
