/**
 * Container log files and the readers behind `kubectl logs`. Each container instance writes
 * stdout and stderr (interleaved, as a terminal would see them) to
 * `<podDir>/logs/<container>/<restartCount>.log`. Readers support `tailLines`, `limitBytes` and
 * `follow` (tails the file until the instance exits and the file is drained, or the reader is
 * destroyed).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';

export function logFilePath(podDir: string, container: string, instance: number): string {
  return path.join(podDir, 'logs', container, `${instance}.log`);
}

export interface LogReadOptions {
  readonly follow: boolean;
  readonly tailLines?: number;
  readonly limitBytes?: number;
  /** Polled while following; true once the instance has exited. */
  readonly finished: () => boolean;
  readonly pollMs?: number;
}

function tail(buf: Buffer, lines: number): Buffer {
  if (lines <= 0) return Buffer.alloc(0);
  let end = buf.length;
  if (end > 0 && buf[end - 1] === 0x0a) end--;
  let count = 0;
  for (let i = end - 1; i >= 0; i--) {
    if (buf[i] === 0x0a && ++count === lines) return buf.subarray(i + 1);
  }
  return buf;
}

export function readLog(file: string, opts: LogReadOptions): Readable {
  let offset = 0;
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  let first = true;
  const limit = opts.limitBytes ?? Infinity;
  const out = new Readable({
    read() {
      // data is pushed by the poll loop
    },
    destroy(err, cb) {
      if (timer) clearTimeout(timer);
      cb(err);
    },
  });
  const pump = (): void => {
    if (out.destroyed) return;
    let chunk: Buffer;
    try {
      const all = fs.readFileSync(file);
      chunk = all.subarray(offset);
      offset = all.length;
    } catch {
      chunk = Buffer.alloc(0);
    }
    if (first && opts.tailLines !== undefined) chunk = tail(chunk, opts.tailLines);
    first = false;
    if (chunk.length > 0 && sent < limit) {
      const part = chunk.subarray(0, Math.max(0, limit - sent));
      sent += part.length;
      out.push(part);
    }
    const finished = opts.finished();
    if (!opts.follow || sent >= limit || finished) {
      if (finished && opts.follow) {
        // one last read after exit so nothing written just before exit is lost
        try {
          const rest = fs.readFileSync(file).subarray(offset);
          if (rest.length > 0 && sent < limit) out.push(rest.subarray(0, Math.max(0, limit - sent)));
        } catch {
          // file gone with the pod
        }
      }
      out.push(null);
      return;
    }
    timer = setTimeout(pump, opts.pollMs ?? 100);
  };
  pump();
  return out;
}
