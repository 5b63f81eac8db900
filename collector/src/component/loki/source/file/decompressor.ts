/**
 * Reads a compressed log file (`decompression { enabled = true, format = "gz" | "z" | "bz2" }`)
 * once, as Alloy's decompressor does: after `initial_delay`, the whole file is decompressed,
 * decoded (`encoding`, default UTF-8) and split into lines (a trailing "\r" is dropped, a final
 * line without newline counts); each line is forwarded with the read time as its timestamp.
 * The position is the number of lines forwarded (saved in positions.yml like a byte offset), so a
 * restart skips lines already sent. The file is not followed after it was read.
 *
 * `poll()` never throws: a file that cannot be read or decompressed keeps `lastError` and is
 * retried on the next poll.
 */
import { readFile, stat } from 'node:fs/promises';
import { TextDecoder, promisify } from 'node:util';
import zlib from 'node:zlib';
// Imported statically so bundles (the standalone executable) carry it.
import seekBzip from 'seek-bzip';
import type { Labels, LogEntry } from '../../../../loki/types.js';
import type { Positions } from './positions.js';

export const DECOMPRESSION_FORMATS = ['gz', 'z', 'bz2'] as const;
export type DecompressionFormat = (typeof DECOMPRESSION_FORMATS)[number];

/** Lines longer than this end the read (as Alloy's 2 MB scanner limit). */
const MAX_LINE_CHARS = 2_000_000;
const BATCH = 1000;

const gunzip = promisify(zlib.gunzip);
const inflate = promisify(zlib.inflate);
const bunzip = (input: Buffer): Buffer => seekBzip.decode(input);

/** What `loki.source.file` drives for each file: a tailer, or this reader for compressed files. */
export interface FileReader {
  readonly path: string;
  readonly lastError: string | undefined;
  readonly offset: number;
  poll(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DecompressorOptions {
  readonly path: string;
  readonly labels: Labels;
  readonly positions: Positions;
  readonly encoding: string;
  readonly format: DecompressionFormat;
  readonly initialDelayMs: number;
  readonly forward: (entries: readonly LogEntry[]) => Promise<void>;
  readonly onRead?: (path: string, lines: number, offset: number, size: number) => void;
  readonly now?: () => number;
}

export async function decompress(buf: Buffer, format: DecompressionFormat): Promise<Buffer> {
  switch (format) {
    case 'gz':
      return gunzip(buf);
    case 'z':
      return inflate(buf);
    case 'bz2':
      return bunzip(buf);
  }
}

export class Decompressor implements FileReader {
  readonly path: string;
  readonly #o: DecompressorOptions;
  readonly #startedAt: number;
  #lines: number;
  #done = false;
  lastError: string | undefined;

  constructor(o: DecompressorOptions) {
    this.#o = o;
    this.path = o.path;
    this.#startedAt = (o.now ?? Date.now)();
    this.#lines = o.positions.get(o.path)?.offset ?? 0;
  }

  get offset(): number {
    return this.#lines;
  }

  async poll(): Promise<boolean> {
    if (this.#done) return false;
    const now = this.#o.now ?? Date.now;
    if (now() - this.#startedAt < this.#o.initialDelayMs) return false;
    try {
      const progressed = await this.#read();
      this.lastError = undefined;
      this.#done = true;
      return progressed;
    } catch (err: unknown) {
      this.lastError = `decompressing as ${this.#o.format} failed: ${err instanceof Error ? err.message : String(err)}`;
      return false;
    }
  }

  async #read(): Promise<boolean> {
    const raw = await readFile(this.path);
    const size = (await stat(this.path)).size;
    const plain = await decompress(raw, this.#o.format);
    const text = new TextDecoder(this.#o.encoding || 'utf-8').decode(plain);
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const skip = this.#lines;
    let progressed = false;
    for (let i = skip; i < lines.length; i += BATCH) {
      const batch: LogEntry[] = [];
      const ts = (this.#o.now ?? Date.now)();
      for (let j = i; j < Math.min(i + BATCH, lines.length); j++) {
        let line = lines[j]!;
        if (line.length > MAX_LINE_CHARS) throw new Error(`line ${j + 1} is longer than ${MAX_LINE_CHARS} characters`);
        if (line.endsWith('\r')) line = line.slice(0, -1);
        batch.push({ labels: this.#o.labels, line, timestampMs: ts, timestampNanos: 0 });
      }
      await this.#o.forward(batch);
      this.#lines = i + batch.length;
      this.#o.positions.set(this.path, { offset: this.#lines, ino: '' });
      this.#o.onRead?.(this.path, batch.length, this.#lines, size);
      progressed = true;
    }
    return progressed;
  }

  async close(): Promise<void> {
    // Nothing is held open between polls.
  }
}
