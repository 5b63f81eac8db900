// The shipped examples must decode as Collectors and carry configs the collector accepts.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { defaultRegistry } from '../../collector/src/component/registry.js';
import { validateConfig } from '../../collector/src/runtime/index.js';
import { decodeCollector } from './api/v1alpha1/collector-types.js';

describe('examples/collector*.yaml', () => {
  it.each(['collector.yaml'])('GIVEN examples/%s THEN it decodes and its config validates', async (file) => {
    const text = readFileSync(fileURLToPath(new URL(`../../examples/${file}`, import.meta.url)), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const decoded = decodeCollector(doc.toJS());
      if (!decoded.ok) throw new Error(decoded.message);
      const diags = (await validateConfig(new Map([['config.alloy', decoded.collector.spec.config ?? '']]), { registry: defaultRegistry(), stabilityLevel: decoded.collector.spec.stabilityLevel }));
      expect(diags.filter((d) => d.severity === 'error').map((d) => `${d.start.line}:${d.start.column} ${d.message}`)).toStrictEqual([]);
    }
  });
});
