import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const src = path.resolve(here, '..');

/** Every module the entry loads statically (type-only imports excluded), transitively. */
function staticImports(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^import\s+(?!type\s)[^;]*?from\s+'([^']+)';/gms)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts')));
      else seen.add(spec);
    }
  };
  visit(entry);
  return seen;
}

describe('config-reloader entry (memory budget)', () => {
  it('loads node built-ins and the lean modules only: no runtime, components, winston, prom-client or zod', () => {
    const loaded = [...staticImports(path.join(here, 'main.ts'))].map((f) => (path.isAbsolute(f) ? path.relative(src, f) : f)).sort();
    expect(loaded).toStrictEqual([
      'cli-kit/flags.ts',
      'cli-kit/listen-addr.ts',
      'clock/clock.ts',
      'logging/logfmt.ts',
      'node:fs',
      'node:http',
      'node:path',
      'reloader/command.ts',
      'reloader/lean-log.ts',
      'reloader/lean-metrics.ts',
      'reloader/main.ts',
      'reloader/reloader.ts',
    ]);
  });
});
