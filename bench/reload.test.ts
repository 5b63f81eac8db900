import { generateConfig, runReloadBench } from './reload.js';

describe('reload benchmark harness', () => {
  it('generates chained components and measures reloads that keep every instance', async () => {
    expect(generateConfig(12)).toContain('input = bench.counter.c10.value');
    const f = await runReloadBench(40);
    expect(f.instancesKept).toBe(true);
    for (const v of [f.loadMs, f.noopReloadMs, f.oneChangedReloadMs, f.reloadMaxPauseMs]) expect(Number.isFinite(v)).toBe(true);
  });
});
