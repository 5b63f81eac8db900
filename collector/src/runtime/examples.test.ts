// Every shipped example (examples/*.alloy, several taken from the Alloy docs) must validate with
// the collector's real component registry, so a doc snippet never silently stops loading.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDiagnostics } from '../syntax/index.js';
import { defaultRegistry } from '../component/registry.js';
import { validateConfig } from './validate.js';

const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../examples');

describe('examples/*.alloy', () => {
  it('validate cleanly (no errors, no warnings)', async () => {
    const files = (await fs.readdir(examples)).filter((f) => f.endsWith('.alloy')).sort();
    expect(files).toEqual(expect.arrayContaining(['logging.alloy', 'proxy-edge.alloy', 'proxy-ingest.alloy', 'self-scrape.alloy']));
    for (const f of files) {
      const p = path.join(examples, f);
      const sources = new Map([[p, await fs.readFile(p, 'utf8')]]);
      const diags = (await validateConfig(sources, { registry: defaultRegistry() }));
      expect(formatDiagnostics(diags, sources)).toBe('');
    }
  });
});
