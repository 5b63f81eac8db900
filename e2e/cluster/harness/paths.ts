/** Locations inside this repository, valid both from sources (Jest) and from the build (`dist/`). */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The repository root: the nearest ancestor holding this project's package.json. */
export function repoRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'alloy-ts') return (cached = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the alloy-ts repository root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}
