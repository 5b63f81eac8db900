import { describe, expect, it } from '@jest/globals';
import type { ConfigDiagnostic, ConfigValidator } from './collector-reconciler.js';
import { memoizeValidator } from './validation-cache.js';

/** A validator that counts its calls and reports an error for configs containing "bad". */
function counting(): { validate: ConfigValidator; calls: () => number } {
  let calls = 0;
  const validate: ConfigValidator = (sources, opts) => {
    calls++;
    const out: ConfigDiagnostic[] = [];
    for (const [file, text] of sources) {
      if (text.includes('bad')) out.push({ severity: 'error', message: `bad at level ${opts.stabilityLevel ?? 'default'}`, start: { file, line: 1, column: 1 } });
    }
    return out;
  };
  return { validate, calls: () => calls };
}

const one = (file: string, text: string): ReadonlyMap<string, string> => new Map([[file, text]]);

describe('memoizeValidator', () => {
  it('GIVEN the same config and level twice WHEN validated THEN the validator runs once and both answers are equal', async () => {
    const v = counting();
    const memo = memoizeValidator(v.validate);
    const first = await memo(one('config.alloy', 'bad'), { stabilityLevel: 'generally-available' });
    const second = await memo(one('config.alloy', 'bad'), { stabilityLevel: 'generally-available' });
    expect(v.calls()).toBe(1);
    expect(second).toStrictEqual(first);
    expect(first).toStrictEqual([{ severity: 'error', message: 'bad at level generally-available', start: { file: 'config.alloy', line: 1, column: 1 } }]);
  });

  it('GIVEN a different text, file name or level WHEN validated THEN each is validated on its own', async () => {
    const v = counting();
    const memo = memoizeValidator(v.validate);
    await memo(one('config.alloy', 'ok'), { stabilityLevel: 'generally-available' });
    await memo(one('config.alloy', 'ok '), { stabilityLevel: 'generally-available' });
    await memo(one('other.alloy', 'ok'), { stabilityLevel: 'generally-available' });
    const experimental = await memo(one('config.alloy', 'bad'), { stabilityLevel: 'experimental' });
    const ga = await memo(one('config.alloy', 'bad'), { stabilityLevel: 'generally-available' });
    expect(v.calls()).toBe(5);
    expect(experimental[0]?.message).toBe('bad at level experimental');
    expect(ga[0]?.message).toBe('bad at level generally-available');
  });

  it('GIVEN file names and texts that concatenate alike WHEN validated THEN they do not share an entry', async () => {
    const v = counting();
    const memo = memoizeValidator(v.validate);
    await memo(one('a', 'bc'), {});
    await memo(one('ab', 'c'), {});
    expect(v.calls()).toBe(2);
  });

  it('GIVEN more configs than maxEntries WHEN validated THEN the least recently used one is validated again', async () => {
    const v = counting();
    const memo = memoizeValidator(v.validate, 2);
    await memo(one('f', 'a'), {});
    await memo(one('f', 'b'), {});
    await memo(one('f', 'a'), {}); // a is now the most recently used
    await memo(one('f', 'c'), {}); // drops b
    expect(v.calls()).toBe(3);
    await memo(one('f', 'a'), {});
    expect(v.calls()).toBe(3);
    await memo(one('f', 'b'), {});
    expect(v.calls()).toBe(4);
  });

  it('GIVEN a validator that throws WHEN called again THEN it is tried again', async () => {
    let calls = 0;
    const memo = memoizeValidator(() => {
      calls++;
      if (calls === 1) throw new Error('module failed to load');
      return [];
    });
    await expect(memo(one('f', 'x'), {})).rejects.toThrow('module failed to load');
    await expect(memo(one('f', 'x'), {})).resolves.toStrictEqual([]);
    expect(calls).toBe(2);
  });

  it('GIVEN maxEntries below 1 WHEN wrapping THEN it throws naming the option', () => {
    expect(() => memoizeValidator(() => [], 0)).toThrow('maxEntries must be a whole number >= 1, got 0');
  });
});
