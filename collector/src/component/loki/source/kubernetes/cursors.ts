/**
 * Where each container's log was read up to (`<dataPath>/positions.yml`), so a collector restart
 * neither repeats nor loses lines: `positions: {"cursor-<ns>/<pod>:<container>:<uid>":
 * "<RFC3339Nano timestamp of the last forwarded entry> <entries forwarded at exactly it>"}`.
 *
 * Contracts: `set` is in memory; `flush` writes atomically (temp file + rename) only when
 * something changed; an unreadable or corrupt file is reported once and treated as empty.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';

export interface Cursor {
  /** Epoch milliseconds and nanoseconds inside the millisecond of the last forwarded entry. */
  readonly ms: number;
  readonly nanos: number;
  /** How many forwarded entries carry exactly that timestamp. */
  readonly count: number;
}

const PREFIX = 'cursor-';

/** `<RFC3339Nano> <count>`, the positions file's value (also the peer handover answer). */
export function formatCursor(c: Cursor): string {
  const iso = new Date(c.ms - (c.ms % 1000)).toISOString().slice(0, 19);
  const frac = String(c.ms % 1000).padStart(3, '0') + String(c.nanos).padStart(6, '0');
  return `${iso}.${frac}Z ${c.count}`;
}

export function parseCursor(v: string): Cursor | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z (\d+)$/.exec(v);
  if (!m) return undefined;
  const base = Date.parse(`${m[1]}Z`);
  if (Number.isNaN(base)) return undefined;
  return { ms: base + Number(m[2]!.slice(0, 3)), nanos: Number(m[2]!.slice(3)), count: Number(m[3]) };
}

/** Whether `a` is further into the log than `b` (later timestamp, or more entries at the same one). */
export function cursorAfter(a: Cursor, b: Cursor | undefined): boolean {
  if (b === undefined) return true;
  if (a.ms !== b.ms) return a.ms > b.ms;
  if (a.nanos !== b.nanos) return a.nanos > b.nanos;
  return a.count > b.count;
}

export class Cursors {
  readonly file: string;
  readonly #map = new Map<string, Cursor>();
  #dirty = false;
  #flushing: Promise<void> = Promise.resolve();

  private constructor(file: string) {
    this.file = file;
  }

  /** Loads `file` (missing = empty); returns the problem with an unreadable or corrupt file. */
  static async open(file: string): Promise<{ cursors: Cursors; warning?: string }> {
    const c = new Cursors(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { cursors: c };
      return { cursors: c, warning: `cannot read positions file ${file}: ${(err as Error).message}; reading container logs from their start` };
    }
    try {
      const doc = (YAML.parse(text) ?? {}) as { positions?: Record<string, unknown> };
      for (const [k, v] of Object.entries(doc.positions ?? {})) {
        const cur = k.startsWith(PREFIX) ? parseCursor(String(v)) : undefined;
        if (cur) c.#map.set(k.slice(PREFIX.length), cur);
      }
    } catch (err) {
      return { cursors: c, warning: `positions file ${file} is corrupt (${(err as Error).message}); reading container logs from their start` };
    }
    return { cursors: c };
  }

  get(key: string): Cursor | undefined {
    return this.#map.get(key);
  }

  set(key: string, c: Cursor): void {
    this.#map.set(key, c);
    this.#dirty = true;
  }

  remove(key: string): void {
    if (this.#map.delete(key)) this.#dirty = true;
  }

  /** Writes the file when anything changed since the last flush; serialised. */
  flush(): Promise<void> {
    const run = this.#flushing.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      const positions: Record<string, string> = {};
      for (const [k, v] of [...this.#map].sort(([a], [b]) => (a < b ? -1 : 1))) positions[PREFIX + k] = formatCursor(v);
      try {
        await mkdir(path.dirname(this.file), { recursive: true });
        const tmp = `${this.file}.tmp`;
        await writeFile(tmp, YAML.stringify({ positions }, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }));
        await rename(tmp, this.file);
      } catch (err) {
        this.#dirty = true;
        throw err;
      }
    });
    this.#flushing = run.catch(() => undefined);
    return run;
  }
}
