/**
 * Path globs for `__path__` / `__path_exclude__` with doublestar semantics (as Alloy's
 * `local.file_match`): `*` and `?` match within one path segment, `[a-z]`/`[!a-z]` classes,
 * `{a,b}` alternatives, and `**` as a whole segment matches zero or more directories.
 * Only regular files are returned; unreadable directories are skipped.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const MAGIC = /[*?[{]/;

export function hasMagic(p: string): boolean {
  return MAGIC.test(p);
}

function escapeRe(s: string): string {
  return s.replace(/[.+^$()|\\/]/g, '\\$&');
}

/** A regex source for one segment pattern (no `/`). */
function segmentSource(seg: string): string {
  let out = '';
  let i = 0;
  let braces = 0;
  while (i < seg.length) {
    const c = seg[i]!;
    if (c === '\\' && i + 1 < seg.length) {
      out += escapeRe(seg[i + 1]!);
      i += 2;
      continue;
    }
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        let body = seg.slice(i + 1, end);
        if (body.startsWith('!') || body.startsWith('^')) body = '^' + body.slice(1);
        out += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = end;
      }
    } else if (c === '{') {
      braces++;
      out += '(?:';
    } else if (c === '}' && braces > 0) {
      braces--;
      out += ')';
    } else if (c === ',' && braces > 0) out += '|';
    else out += escapeRe(c);
    i++;
  }
  if (braces > 0) throw new Error(`invalid glob segment ${JSON.stringify(seg)}: unclosed "{"`);
  return out;
}

/** Compiles a whole-path glob into a RegExp (used for `__path_exclude__`). */
export function globToRegExp(pattern: string): RegExp {
  const segs = pattern.split('/');
  let src = '^';
  segs.forEach((seg, i) => {
    if (seg === '**') {
      src += i === segs.length - 1 ? '.*' : '(?:[^/]*/)*';
      return;
    }
    src += segmentSource(seg);
    if (i < segs.length - 1) src += '/';
  });
  return new RegExp(src + '$');
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

async function dirs(p: string): Promise<string[]> {
  try {
    return (await readdir(p, { withFileTypes: true })).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name);
  } catch {
    return [];
  }
}

/** Expands an absolute (or cwd-relative) glob to the sorted list of matching regular files. */
export async function expandGlob(pattern: string): Promise<string[]> {
  const abs = path.resolve(pattern);
  if (!hasMagic(abs)) return (await isFile(abs)) ? [abs] : [];
  const segs = abs.split('/').slice(1);
  const out = new Set<string>();
  const walk = async (dir: string, i: number, depth: number): Promise<void> => {
    if (depth > 64) return;
    if (i === segs.length) {
      if (await isFile(dir)) out.add(dir);
      return;
    }
    const seg = segs[i]!;
    if (seg === '**') {
      await walk(dir, i + 1, depth + 1);
      for (const d of await dirs(dir)) await walk(path.join(dir, d), i, depth + 1);
      return;
    }
    if (!hasMagic(seg)) {
      await walk(path.join(dir, seg.replace(/\\(.)/g, '$1')), i + 1, depth + 1);
      return;
    }
    const re = new RegExp('^' + segmentSource(seg) + '$');
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names.sort()) if (re.test(n) && !(n.startsWith('.') && !seg.startsWith('.'))) await walk(path.join(dir, n), i + 1, depth + 1);
  };
  await walk('/', 0, 0);
  return [...out].sort();
}

/** The files modified within the last `maxAgeMs` (files that vanished are left out). */
export async function recentFiles(files: readonly string[], maxAgeMs: number, now = Date.now()): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    try {
      if ((await stat(f)).mtimeMs >= now - maxAgeMs) out.push(f);
    } catch {
      // gone since it was listed
    }
  }
  return out;
}
