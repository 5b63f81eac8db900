import { TextParser } from '../collector/src/prom/textparse/textparse.js';
import { generateExposition, runTextparseBench } from './textparse.js';

describe('textparse benchmark harness', () => {
  it('generates a parseable workload of the requested size in both formats and measures it', async () => {
    for (const format of ['prometheus', 'openmetrics'] as const) {
      const p = new TextParser(generateExposition(500, format), format);
      let n = 0;
      for (let k = p.next(); k !== 'eof'; k = p.next()) if (k === 'series') n++;
      expect(n).toBeGreaterThanOrEqual(500);
    }
    const f = await runTextparseBench(300, 20);
    expect(f.series).toBeGreaterThanOrEqual(300);
    for (const v of [f.coldSamplesPerSec, f.warmSamplesPerSec, f.openMetricsColdSamplesPerSec, f.scrapeLoopSamplesPerSec]) expect(v).toBeGreaterThan(0);
  });
});
