// Import layering of the collector: the runtime and the layers below it know no concrete
// component; only entry points (cli, the operator, tests) import the component list.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const src = path.dirname(fileURLToPath(import.meta.url));
const LOW_LAYERS = ['runtime', 'syntax', 'server', 'cluster', 'logging'];

async function sourceFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sourceFiles(p)));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function importsOf(text: string): string[] {
  return [...text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]!);
}

describe('collector layering', () => {
  it.each(LOW_LAYERS)('%s/ imports nothing from component/', async (layer) => {
    const offenders: string[] = [];
    for (const f of await sourceFiles(path.join(src, layer))) {
      for (const spec of importsOf(await fs.readFile(f, 'utf8'))) {
        if (!spec.startsWith('.')) continue;
        const target = path.resolve(path.dirname(f), spec);
        if (target.startsWith(path.join(src, 'component') + path.sep)) offenders.push(`${path.relative(src, f)} → ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('the import scan sees real imports (guards the regex)', () => {
    expect(importsOf("import { a } from './x.js';\nexport { b } from '../y.js';\nimport type { C } from 'z';\n")).toEqual(['./x.js', '../y.js', 'z']);
  });
});
