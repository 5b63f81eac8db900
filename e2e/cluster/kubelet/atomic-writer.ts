/**
 * Projects a payload (path → content, mode) into a volume directory exactly the way the kubelet's
 * AtomicWriter (pkg/volume/util/atomic_writer.go) does, so tools that watch ConfigMap volumes see
 * the same filesystem events as on a real node:
 *
 *   <dir>/..2026_11_25_08_00_00.123456789/   the payload (timestamped dir, random suffix)
 *   <dir>/..data -> ..2026_11_25_08_00_00.123456789   swapped atomically by renaming `..data_tmp`
 *   <dir>/<key> -> ..data/<key>              one symlink per top-level payload path
 *
 * A write with unchanged content does nothing. Old timestamped dirs and user-visible paths that
 * left the payload are removed after the swap.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomInt } from 'node:crypto';

export interface FileProjection {
  readonly data: Buffer;
  readonly mode: number;
}

export type Payload = ReadonlyMap<string, FileProjection>;

const DATA_DIR = '..data';
const DATA_TMP = '..data_tmp';

/** Rejects paths the real AtomicWriter rejects: absolute, `..` elements, leading `..`. */
export function validatePayloadPath(p: string): void {
  if (p === '') throw new Error('invalid path: must not be empty');
  if (path.isAbsolute(p)) throw new Error(`invalid path ${JSON.stringify(p)}: must be relative`);
  if (p.split('/').some((seg) => seg === '..')) throw new Error(`invalid path ${JSON.stringify(p)}: must not contain '..'`);
  if (p.startsWith('..')) throw new Error(`invalid path ${JSON.stringify(p)}: must not start with '..'`);
}

function tsDirName(now: Date): string {
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}`;
  return `..${stamp}.${randomInt(1_000_000_000)}`;
}

async function readCurrent(dir: string): Promise<{ tsDir?: string; files: Map<string, Buffer> }> {
  let tsDir: string | undefined;
  try {
    tsDir = await fs.readlink(path.join(dir, DATA_DIR));
  } catch {
    return { files: new Map() };
  }
  const files = new Map<string, Buffer>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(dir, tsDir!, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else files.set(r, await fs.readFile(path.join(dir, tsDir!, r)));
    }
  };
  await walk('');
  return { tsDir, files };
}

function samePayload(current: Map<string, Buffer>, payload: Payload): boolean {
  if (current.size !== payload.size) return false;
  for (const [p, f] of payload) {
    const c = current.get(p);
    if (!c || !c.equals(f.data)) return false;
  }
  return true;
}

/** Writes `payload` into `dir`; returns true when the visible content changed. */
export async function writeAtomic(dir: string, payload: Payload, now: Date = new Date()): Promise<boolean> {
  for (const p of payload.keys()) validatePayloadPath(p);
  await fs.mkdir(dir, { recursive: true });
  const current = await readCurrent(dir);
  if (current.tsDir && samePayload(current.files, payload)) return false;

  const tsDir = tsDirName(now);
  const tsPath = path.join(dir, tsDir);
  await fs.mkdir(tsPath, { mode: 0o755 });
  for (const [p, f] of payload) {
    const full = path.join(tsPath, p);
    await fs.mkdir(path.dirname(full), { recursive: true, mode: 0o755 });
    await fs.writeFile(full, f.data, { mode: f.mode });
    await fs.chmod(full, f.mode);
  }
  await fs.rm(path.join(dir, DATA_TMP), { force: true });
  await fs.symlink(tsDir, path.join(dir, DATA_TMP));
  await fs.rename(path.join(dir, DATA_TMP), path.join(dir, DATA_DIR));

  const visible = new Set([...payload.keys()].map((p) => p.split('/')[0]!));
  for (const top of visible) {
    const link = path.join(dir, top);
    try {
      await fs.lstat(link);
    } catch {
      await fs.symlink(path.join(DATA_DIR, top), link);
    }
  }
  for (const old of current.files.keys()) {
    const top = old.split('/')[0]!;
    if (!visible.has(top)) await fs.rm(path.join(dir, top), { force: true, recursive: true });
  }
  if (current.tsDir && current.tsDir !== tsDir) await fs.rm(path.join(dir, current.tsDir), { recursive: true, force: true });
  return true;
}
