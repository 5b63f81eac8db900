import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultRegistry } from '../../collector/src/component/registry.js';
import { ComponentRegistry } from '../../collector/src/runtime/registry.js';
import { BEGIN, componentsSection, END, withComponentsSection } from './readme-components.js';

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../README.md');

describe('README "Supported components"', () => {
  beforeAll(async () => {
    await defaultRegistry().ensureAll();
  });

  it('is current with the component registry (fix: npm run readme:components)', () => {
    const readme = readFileSync(README, 'utf8');
    const section = componentsSection(defaultRegistry());
    expect(readme).toContain(BEGIN);
    expect(withComponentsSection(readme, section)).toBe(readme);
    for (const name of defaultRegistry().names()) {
      const def = defaultRegistry().get(name)!;
      // Components this runtime cannot provide are listed with their reason, not in the table.
      expect(section).toContain(def.unavailable === undefined ? `| \`${name}\` |` : `Refused with the reason: \`${name}\` (${def.unavailable}).`);
    }
  });

  it('goes stale when the registry changes, and names missing upstream components', () => {
    const readme = readFileSync(README, 'utf8');
    const fewer = new ComponentRegistry(defaultRegistry().names().slice(1).map((n) => defaultRegistry().get(n)!));
    expect(withComponentsSection(readme, componentsSection(fewer))).not.toBe(readme);
    expect(componentsSection(fewer)).toContain(`\`${defaultRegistry().names()[0]}\``);
    expect(componentsSection(new ComponentRegistry([]))).toContain('`prometheus.scrape`, ');
    expect(() => withComponentsSection('# no markers\n', 'x')).toThrow('README.md has no');
    expect(withComponentsSection(`a\n${BEGIN}\nold\n${END}\nb`, 'NEW')).toBe('a\nNEW\nb');
  });
});
