/**
 * Follows one file: each `poll()` reads complete lines from the stored offset to the current end,
 * forwards them, and advances the offset only after `forward` resolved (so a restart resumes
 * without loss or duplicates). The component calls `poll()` on every change event of the file's
 * directory (fs.watch) and on a polling timer as a fallback. A line is forwarded only once its
 * newline has been written.
 *
 * Rotation:
 * - rename/re-create (inode changes): the old file is read to its end through the open handle
 *   (including a final unterminated line), then the new file from offset 0. Nothing is lost.
 * - copytruncate (same inode, size below the offset, or refilled past it: the byte before the
 *   offset is no longer a newline): the lines between the offset and the old end are no longer in
 *   the file. They are read from the rotated copy when one is found next to the file (a sibling
 *   whose name starts with the file's name, modified within the last minute, not tailed itself,
 *   and whose bytes just before the offset equal the last bytes read), then the file is read from 0.
 *   What remains lost is only what copytruncate itself loses: lines written between the copy and
 *   the truncation, plus the unread tail when the copy is compressed, moved elsewhere or not kept.
 *
 * `poll()` never throws: errors are kept in `lastError` and retried on the next poll.
 */
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { TextDecoder } from 'node:util';
import type { Labels, LogEntry } from '../../../../loki/types.js';
import type { Positions } from './positions.js';

/** Bytes read per step; a line longer than `MAX_LINE_BYTES` is cut there. */
const CHUNK_BYTES = 256 * 1024;
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** Bytes before the offset remembered to recognise a copytruncate copy. */
const TAIL_BYTES = 256;
/** A rotated copy older than this is not the copy of the current truncation. */
const COPY_MAX_AGE_MS = 60_000;

export interface TailerOptions {
  readonly path: string;
  readonly labels: Labels;
  readonly positions: Positions;
  readonly encoding: string;
  readonly tailFromEnd: boolean;
  readonly forward: (entries: readonly LogEntry[]) => Promise<void>;
  readonly onRead?: (path: string, lines: number, offset: number, size: number) => void;
  /** Whether another tailer follows `path` (a rotated copy read by it is not read again here). */
  readonly isTailed?: (path: string) => boolean;
  /** Told when lines are recovered from a rotated copy after a copytruncate. */
  readonly onRecovered?: (copy: string, lines: number) => void;
}

type Newline = { find(buf: Buffer, from: number, to: number): number; width: number };

function newlineFor(encoding: string): Newline {
  const enc = encoding.toLowerCase().replace(/[^a-z0-9]/g, '');
  if (enc === 'utf16le' || enc === 'utf16' || enc === 'ucs2') {
    return {
      width: 2,
      find: (buf, from, to) => {
        for (let i = from; i + 1 < to; i += 2) if (buf[i] === 0x0a && buf[i + 1] === 0) return i;
        return -1;
      },
    };
  }
  if (enc === 'utf16be') {
    return {
      width: 2,
      find: (buf, from, to) => {
        for (let i = from; i + 1 < to; i += 2) if (buf[i] === 0 && buf[i + 1] === 0x0a) return i;
        return -1;
      },
    };
  }
  return {
    width: 1,
    find: (buf, from, to) => {
      const i = buf.indexOf(0x0a, from);
      return i >= 0 && i < to ? i : -1;
    },
  };
}

/** Throws with a clear message when `encoding` is not a known IANA name. */
export function checkEncoding(encoding: string): void {
  if (encoding === '') return;
  try {
    new TextDecoder(encoding);
  } catch {
    throw new Error(`encoding ${JSON.stringify(encoding)} is not a supported IANA encoding name (e.g. "UTF-8", "UTF-16LE", "ISO-8859-1", "windows-1252")`);
  }
}

export class FileTailer {
  readonly path: string;
  readonly #o: TailerOptions;
  readonly #nl: Newline;
  readonly #decoder: TextDecoder | undefined;
  #fh: FileHandle | undefined;
  #ino = '';
  #offset = 0;
  #buf = Buffer.allocUnsafe(CHUNK_BYTES);
  #first = true;
  /** False after a line was cut at MAX_LINE_BYTES (the offset is then mid-line). */
  #atLineStart = true;
  /** The last bytes read before `#offset` (at most `TAIL_BYTES`). */
  #tail = Buffer.alloc(0);
  lastError: string | undefined;

  constructor(o: TailerOptions) {
    this.path = o.path;
    this.#o = o;
    this.#nl = newlineFor(o.encoding || 'utf-8');
    const enc = (o.encoding || 'utf-8').toLowerCase();
    this.#decoder = enc === 'utf-8' || enc === 'utf8' ? undefined : new TextDecoder(o.encoding);
  }

  get offset(): number {
    return this.#offset;
  }

  /** One polling step; resolves true when lines were forwarded. */
  async poll(): Promise<boolean> {
    try {
      const r = await this.#poll();
      this.lastError = undefined;
      return r;
    } catch (err: unknown) {
      this.lastError = err instanceof Error ? err.message : String(err);
      return false;
    }
  }

  async #poll(): Promise<boolean> {
    let st;
    try {
      st = await stat(this.path, { bigint: true });
    } catch (err: unknown) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      st = undefined;
    }
    const ino = st ? `${st.dev}:${st.ino}` : '';
    if (this.#fh && ino !== this.#ino) {
      // Rotated away (renamed or deleted): finish the old file, then switch.
      const progressed = await this.#drain(true);
      await this.#fh.close().catch(() => undefined);
      this.#fh = undefined;
      if (!st) return progressed;
      this.#openAt(0);
    }
    if (!st) return false;
    if (!this.#fh) {
      this.#fh = await open(this.path, 'r');
      const fst = await this.#fh.stat({ bigint: true });
      const openedIno = `${fst.dev}:${fst.ino}`;
      this.#ino = openedIno;
      if (this.#first) {
        this.#first = false;
        const saved = this.#o.positions.get(this.path);
        if (saved && (saved.ino === '' || saved.ino === openedIno) && saved.offset <= Number(fst.size)) this.#offset = saved.offset;
        else if (!saved && this.#o.tailFromEnd) this.#offset = Number(fst.size);
        else this.#offset = 0;
      }
      this.#o.positions.set(this.path, { offset: this.#offset, ino: this.#ino });
    }
    return this.#drain(false);
  }

  #openAt(offset: number): void {
    this.#offset = offset;
    this.#tail = Buffer.alloc(0);
    this.#atLineStart = true;
    this.#ino = '';
    this.#first = false;
  }

  /** Reads and forwards complete lines up to the current end; `final` also emits a trailing partial line. */
  async #drain(final: boolean): Promise<boolean> {
    const fh = this.#fh!;
    const size = Number((await fh.stat({ bigint: true })).size);
    let progressed = false;
    if (size < this.#offset || (size > this.#offset && (await this.#rewritten(fh)))) {
      // Truncated in place (copytruncate), possibly already refilled past the old offset.
      progressed = await this.#recoverFromCopy();
      this.#offset = 0;
      this.#tail = Buffer.alloc(0);
      this.#atLineStart = true;
      this.#o.positions.set(this.path, { offset: 0, ino: this.#ino });
    }
    while (this.#offset < size) {
      const want = Math.min(this.#buf.length, size - this.#offset);
      const { bytesRead } = await fh.read(this.#buf, 0, want, this.#offset);
      if (bytesRead === 0) break;
      const buf = this.#buf;
      const entries: LogEntry[] = [];
      let start = 0;
      const now = Date.now();
      for (;;) {
        const nl = this.#nl.find(buf, start, bytesRead);
        if (nl < 0) break;
        entries.push(this.#entry(buf, start, nl, now));
        start = nl + this.#nl.width;
      }
      let consumed = start;
      let cut = false;
      if (entries.length === 0) {
        const atEnd = this.#offset + bytesRead >= size;
        if (bytesRead === buf.length && buf.length < MAX_LINE_BYTES) {
          // A line longer than the buffer: grow and re-read.
          const next = Buffer.allocUnsafe(Math.min(buf.length * 2, MAX_LINE_BYTES));
          this.#buf = next;
          continue;
        }
        if (bytesRead === buf.length || (final && atEnd)) {
          entries.push(this.#entry(buf, 0, bytesRead, now));
          consumed = bytesRead;
          cut = true;
        } else break;
      } else if (final && this.#offset + bytesRead >= size && start < bytesRead) {
        entries.push(this.#entry(buf, start, bytesRead, now));
        consumed = bytesRead;
      }
      await this.#o.forward(entries);
      this.#offset += consumed;
      this.#remember(buf, consumed);
      this.#atLineStart = !cut;
      this.#o.positions.set(this.path, { offset: this.#offset, ino: this.#ino });
      this.#o.onRead?.(this.path, entries.length, this.#offset, size);
      progressed = true;
    }
    if (this.#buf.length > CHUNK_BYTES) this.#buf = Buffer.allocUnsafe(CHUNK_BYTES);
    return progressed;
  }

  #remember(buf: Buffer, consumed: number): void {
    if (consumed >= TAIL_BYTES) this.#tail = Buffer.from(buf.subarray(consumed - TAIL_BYTES, consumed));
    else this.#tail = Buffer.concat([this.#tail, buf.subarray(0, consumed)]).subarray(-TAIL_BYTES);
  }

  /**
   * After a copytruncate: finds the rotated copy of this file (see the file contract) and forwards
   * its lines from the old offset to its end. Resolves true when lines were forwarded.
   */
  async #recoverFromCopy(): Promise<boolean> {
    const tail = this.#tail;
    const from = this.#offset;
    if (from === 0 || tail.length === 0 || !this.#atLineStart) return false;
    const dir = path.dirname(this.path);
    const base = path.basename(this.path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return false;
    }
    const now = Date.now();
    const candidates: { file: string; mtime: number }[] = [];
    for (const n of names) {
      if (n === base || !n.startsWith(base) || /\.(gz|bz2|xz|zst|z|zip|lz4)$/i.test(n)) continue;
      const file = path.join(dir, n);
      if (this.#o.isTailed?.(file)) continue;
      try {
        const st = await stat(file);
        if (st.isFile() && st.size > from && now - st.mtimeMs <= COPY_MAX_AGE_MS) candidates.push({ file, mtime: st.mtimeMs });
      } catch {
        // Gone meanwhile.
      }
    }
    candidates.sort((a, b) => b.mtime - a.mtime);
    for (const c of candidates) {
      let fh: FileHandle | undefined;
      try {
        fh = await open(c.file, 'r');
        const probe = Buffer.allocUnsafe(tail.length);
        const { bytesRead } = await fh.read(probe, 0, tail.length, from - tail.length);
        if (bytesRead !== tail.length || !probe.equals(tail)) continue;
        const size = Number((await fh.stat()).size);
        const lines = await this.#forwardRange(fh, from, size);
        this.#o.onRecovered?.(c.file, lines);
        return lines > 0;
      } catch {
        continue;
      } finally {
        await fh?.close().catch(() => undefined);
      }
    }
    return false;
  }

  /** Forwards the lines of `fh` in [from, to), the last one even without its newline. */
  async #forwardRange(fh: FileHandle, from: number, to: number): Promise<number> {
    let pos = from;
    let carry = Buffer.alloc(0);
    let lines = 0;
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    while (pos < to) {
      const { bytesRead } = await fh.read(chunk, 0, Math.min(chunk.length, to - pos), pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      const entries: LogEntry[] = [];
      const now = Date.now();
      let start = 0;
      for (;;) {
        const nl = this.#nl.find(buf, start, buf.length);
        if (nl < 0) break;
        entries.push(this.#entry(buf, start, nl, now));
        start = nl + this.#nl.width;
      }
      carry = Buffer.from(buf.subarray(start));
      if (carry.length >= MAX_LINE_BYTES) {
        entries.push(this.#entry(carry, 0, carry.length, now));
        carry = Buffer.alloc(0);
      }
      if (entries.length > 0) await this.#o.forward(entries);
      lines += entries.length;
    }
    if (carry.length > 0) {
      await this.#o.forward([this.#entry(carry, 0, carry.length, Date.now())]);
      lines++;
    }
    return lines;
  }

  /**
   * The offset always sits right after a newline (lines are consumed whole); if the byte before
   * it is no longer a newline, the file was truncated and rewritten between two polls.
   */
  async #rewritten(fh: FileHandle): Promise<boolean> {
    if (this.#offset === 0 || this.#nl.width !== 1 || !this.#atLineStart) return false;
    const one = Buffer.allocUnsafe(1);
    const { bytesRead } = await fh.read(one, 0, 1, this.#offset - 1);
    return bytesRead === 1 && one[0] !== 0x0a;
  }

  #entry(buf: Buffer, start: number, end: number, now: number): LogEntry {
    let line = this.#decoder ? this.#decoder.decode(buf.subarray(start, end)) : buf.toString('utf8', start, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    return { labels: this.#o.labels, line, timestampMs: now, timestampNanos: 0 };
  }

  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => undefined);
  }
}
