/**
 * Container log files in the CRI format a real kubelet keeps
 * (`<RFC3339Nano> <stdout|stderr> <F|P> <content>`), one file per container instance at
 * `<podDir>/logs/<container>/<restartCount>.log`, and the readers behind `kubectl logs`
 * (`--timestamps`, `--since`, `--tail`, `--limit-bytes`, `-f`; following ends when the instance
 * has exited and its file is drained, or when the reader is destroyed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

export function logFilePath(podDir: string, container: string, instance: number): string {
  return path.join(podDir, 'logs', container, `${instance}.log`);
}

const rfc3339Nano = (d: Date): string => d.toISOString().replace('Z', '000000Z');

/** Appends a container's stdout/stderr to its log file, line by line, synchronously (ordered, no loss on exit). */
export class LogWriter {
  #fd: number;
  #partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.#fd = fs.openSync(file, 'a');
  }

  attach(stream: NodeJS.ReadableStream | null, name: 'stdout' | 'stderr'): void {
    if (!stream) return;
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => this.#write(name, chunk));
    stream.on('error', () => undefined);
  }

  #write(name: 'stdout' | 'stderr', chunk: string): void {
    const text = this.#partial[name] + chunk;
    const lines = text.split('\n');
    this.#partial[name] = lines.pop() ?? '';
    if (lines.length === 0) return;
    const ts = rfc3339Nano(new Date());
    this.#append(lines.map((l) => `${ts} ${name} F ${l}\n`).join(''));
  }

  #append(s: string): void {
    try {
      fs.writeSync(this.#fd, s);
    } catch {
      // pod directory removed while the stream drains
    }
  }

  /** Flushes unterminated lines (tagged `P`, partial) and closes the file. */
  close(): void {
    const ts = rfc3339Nano(new Date());
    for (const name of ['stdout', 'stderr'] as const) {
      if (this.#partial[name]) this.#append(`${ts} ${name} P ${this.#partial[name]}\n`);
      this.#partial[name] = '';
    }
    try {
      fs.closeSync(this.#fd);
    } catch {
      // already closed
    }
  }
}

export interface LogReadOptions {
  readonly follow: boolean;
  readonly tailLines?: number;
  readonly limitBytes?: number;
  readonly timestamps?: boolean;
  readonly sinceSeconds?: number;
  /** RFC3339; entries stamped before it (truncated to the second) are skipped. */
  readonly sinceTime?: string;
  /** Polled while following; true once the instance has exited. */
  readonly finished: () => boolean;
  readonly pollMs?: number;
}

interface Entry {
  readonly ts: string;
  readonly text: string;
}

/** Parses complete CRI lines; P-tagged parts are joined with the line that completes them. */
function parseLines(lines: string[], carry: { partial: string }): Entry[] {
  const out: Entry[] = [];
  for (const line of lines) {
    const a = line.indexOf(' ');
    const b = line.indexOf(' ', a + 1);
    const c = line.indexOf(' ', b + 1);
    if (a < 0 || b < 0 || c < 0) continue;
    const ts = line.slice(0, a);
    const tag = line.slice(b + 1, c);
    const content = line.slice(c + 1);
    if (tag === 'P') {
      carry.partial += content;
      continue;
    }
    out.push({ ts, text: carry.partial + content });
    carry.partial = '';
  }
  return out;
}

export function readLog(file: string, opts: LogReadOptions): Readable {
  let offset = 0;
  let sent = 0;
  let buffered = '';
  let timer: NodeJS.Timeout | undefined;
  let first = true;
  const carry = { partial: '' };
  const limit = opts.limitBytes ?? Infinity;
  const sinceTimeMs = opts.sinceTime !== undefined ? Math.floor(Date.parse(opts.sinceTime) / 1000) * 1000 : undefined;
  const since = opts.sinceSeconds !== undefined ? new Date(Date.now() - opts.sinceSeconds * 1000).toISOString() : undefined;
  const out = new Readable({
    read() {
      // data is pushed by the poll loop
    },
    destroy(err, cb) {
      if (timer) clearTimeout(timer);
      cb(err);
    },
  });
  const drain = (): void => {
    let chunk = '';
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const size = fs.fstatSync(fd).size;
        if (size > offset) {
          const buf = Buffer.alloc(size - offset);
          fs.readSync(fd, buf, 0, buf.length, offset);
          offset = size;
          chunk = buf.toString('utf8');
        }
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // file gone with the pod
    }
    const lines = (buffered + chunk).split('\n');
    buffered = lines.pop() ?? '';
    let entries = parseLines(lines, carry);
    if (since) entries = entries.filter((e) => e.ts.slice(0, 23) >= since.slice(0, 23));
    if (sinceTimeMs !== undefined) entries = entries.filter((e) => Date.parse(e.ts) >= sinceTimeMs);
    if (first && opts.tailLines !== undefined) entries = opts.tailLines <= 0 ? [] : entries.slice(-opts.tailLines);
    first = false;
    const text = entries.map((e) => (opts.timestamps ? `${e.ts} ${e.text}\n` : `${e.text}\n`)).join('');
    if (text && sent < limit) {
      const bytes = Buffer.from(text);
      const part = bytes.subarray(0, Math.max(0, limit - sent));
      sent += part.length;
      out.push(part);
    }
  };
  const pump = (): void => {
    if (out.destroyed) return;
    const finished = opts.finished();
    drain();
    if (!opts.follow || sent >= limit || finished) {
      out.push(null);
      return;
    }
    timer = setTimeout(pump, opts.pollMs ?? 100);
  };
  pump();
  return out;
}
