import { compileRules, processLabels, withDefaults } from '../collector/src/prom/relabel/relabel.js';
import { generateSeries, RULES, runRelabelBench } from './relabel.js';

describe('relabel benchmark harness', () => {
  it('uses rules that keep some series, drop others and rewrite the kept ones', async () => {
    const rules = compileRules(RULES.map(withDefaults));
    const out = generateSeries(200).map((s) => processLabels(s, rules));
    const kept = out.filter((x) => x !== null);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(out.length);
    for (const k of kept) {
      const names = k!.map((l) => l.name);
      expect(names).toEqual(expect.arrayContaining(['shard', 'team', 'pod_ref', 'container_lc']));
      expect(names.some((n) => n.startsWith('__meta_'))).toBe(false);
    }
    const f = await runRelabelBench(200, 20);
    expect(f.kept).toBeGreaterThan(0);
    for (const v of [f.uncachedSamplesPerSec, f.componentWarmSamplesPerSec, f.componentEqualCopiesSamplesPerSec, f.regexOursPerSec, f.regexRe2jsPerSec]) expect(v).toBeGreaterThan(0);
  });
});
