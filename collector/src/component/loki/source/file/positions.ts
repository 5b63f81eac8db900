/**
 * The positions file (`<dataPath>/positions.yml`): how far each file has been read and
 * forwarded. Promtail-compatible `positions: {<path>: "<offset>"}` plus `inodes: {<path>: "<ino>"}`
 * so a file replaced while the collector was down is read from its start.
 *
 * Contracts: `set` is in memory; `flush` writes atomically (temp file + rename) and only when
 * something changed; a corrupt file is reported once and treated as empty (read from the start,
 * as Alloy's `on_positions_file_error = "restart_from_beginning"`).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';

export interface Position {
  readonly offset: number;
  readonly ino: string;
}

export class Positions {
  readonly file: string;
  #map = new Map<string, Position>();
  #dirty = false;
  #flushing: Promise<void> = Promise.resolve();

  private constructor(file: string) {
    this.file = file;
  }

  /** Loads `file` (missing = empty). Returns the problem with a corrupt file, if any. */
  static async open(file: string): Promise<{ positions: Positions; warning?: string }> {
    const p = new Positions(file);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err: unknown) {
      if ((err as { code?: string }).code === 'ENOENT') return { positions: p };
      return { positions: p, warning: `cannot read positions file ${file}: ${String(err)}; reading files from the start` };
    }
    try {
      const doc = (YAML.parse(text) ?? {}) as { positions?: Record<string, unknown>; inodes?: Record<string, unknown> };
      for (const [k, v] of Object.entries(doc.positions ?? {})) {
        const offset = Number(v);
        if (!Number.isSafeInteger(offset) || offset < 0) continue;
        p.#map.set(k, { offset, ino: String(doc.inodes?.[k] ?? '') });
      }
    } catch (err: unknown) {
      return { positions: p, warning: `positions file ${file} is corrupt (${err instanceof Error ? err.message : String(err)}); reading files from the start` };
    }
    return { positions: p };
  }

  get(p: string): Position | undefined {
    return this.#map.get(p);
  }

  set(p: string, pos: Position): void {
    const cur = this.#map.get(p);
    if (cur && cur.offset === pos.offset && cur.ino === pos.ino) return;
    this.#map.set(p, pos);
    this.#dirty = true;
  }

  remove(p: string): void {
    if (this.#map.delete(p)) this.#dirty = true;
  }

  paths(): string[] {
    return [...this.#map.keys()];
  }

  /** Writes the file if anything changed since the last flush; serialised. */
  flush(): Promise<void> {
    const run = this.#flushing.then(async () => {
      if (!this.#dirty) return;
      this.#dirty = false;
      const positions: Record<string, string> = {};
      const inodes: Record<string, string> = {};
      for (const [k, v] of [...this.#map].sort(([a], [b]) => (a < b ? -1 : 1))) {
        positions[k] = String(v.offset);
        if (v.ino) inodes[k] = v.ino;
      }
      try {
        await mkdir(path.dirname(this.file), { recursive: true });
        const tmp = `${this.file}.tmp`;
        await writeFile(tmp, YAML.stringify({ positions, inodes }, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }));
        await rename(tmp, this.file);
      } catch (err: unknown) {
        this.#dirty = true;
        throw err;
      }
    });
    this.#flushing = run.catch(() => undefined);
    return run;
  }
}
