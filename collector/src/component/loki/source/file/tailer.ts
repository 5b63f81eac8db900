/**
 * Follows one file by polling: reads complete lines from the stored offset, forwards them, and
 * advances the offset only after `forward` resolved (so a restart resumes without loss or
 * duplicates). Handles rotation by rename/re-create (the old file is read to its end, including
 * a final unterminated line, then the new file from offset 0) and truncation (copytruncate: the
 * offset resets to 0, also when the file was refilled past the old offset between polls, detected
 * by the byte before the offset no longer being a newline). A line is forwarded only once its
 * newline has been written.
 *
 * `poll()` never throws: errors are kept in `lastError` and retried on the next poll.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { TextDecoder } from 'node:util';
import type { Labels, LogEntry } from '../../../../loki/types.js';
import type { Positions } from './positions.js';

/** Bytes read per step; a line longer than `MAX_LINE_BYTES` is cut there. */
const CHUNK_BYTES = 256 * 1024;
export const MAX_LINE_BYTES = 8 * 1024 * 1024;

export interface TailerOptions {
  readonly path: string;
  readonly labels: Labels;
  readonly positions: Positions;
  readonly encoding: string;
  readonly tailFromEnd: boolean;
  readonly forward: (entries: readonly LogEntry[]) => Promise<void>;
  readonly onRead?: (path: string, lines: number, offset: number, size: number) => void;
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
    this.#ino = '';
    this.#first = false;
  }

  /** Reads and forwards complete lines up to the current end; `final` also emits a trailing partial line. */
  async #drain(final: boolean): Promise<boolean> {
    const fh = this.#fh!;
    const size = Number((await fh.stat({ bigint: true })).size);
    if (size < this.#offset || (size > this.#offset && (await this.#rewritten(fh)))) {
      // Truncated in place (copytruncate), possibly already refilled past the old offset.
      this.#offset = 0;
      this.#o.positions.set(this.path, { offset: 0, ino: this.#ino });
    }
    let progressed = false;
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
      this.#atLineStart = !cut;
      this.#o.positions.set(this.path, { offset: this.#offset, ino: this.#ino });
      this.#o.onRead?.(this.path, entries.length, this.#offset, size);
      progressed = true;
    }
    if (this.#buf.length > CHUNK_BYTES) this.#buf = Buffer.allocUnsafe(CHUNK_BYTES);
    return progressed;
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
