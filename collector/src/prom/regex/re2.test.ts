import { RE2JS } from 're2js';
import { compileRe2, Re2SyntaxError } from './re2.js';

// [RE2 pattern, inputs that must match, inputs that must not match]
const table: Array<[string, string[], string[]]> = [
    ['(.*)', ['', 'abc', 'a;b'], ['a\nb']],
    ['f(.*)', ['foo', 'f'], ['xfoo']],
    ['foo|bar', ['foo', 'bar'], ['foobar', 'fo']],
    ['a.c', ['abc', 'a-c'], ['a\nc', 'abcd']],
    ['(?s)a.c', ['a\nc'], []],
    ['(?i)foo', ['FOO', 'Foo', 'foo'], ['fo']],
    ['x(?i:ab)y', ['xABy', 'xaBy'], ['XABy', 'xABY']],
    ['x(?i)ab', ['xAB'], ['XAB']],
    ['(?i)[a-c]+', ['ABC', 'abC'], ['d']],
    ['x(?i:[a-c])', ['xB'], ['XB']],
    ['\\d+', ['0123'], ['１', 'a']],
    ['\\s', [' ', '\t', '\n'], ['\u00a0', '\v']],
    ['\\S+', ['abc'], ['a b']],
    ['\\w+', ['a_1'], ['é', 'a-b']],
    ['[[:alpha:]]+', ['abcXYZ'], ['a1']],
    ['[[:^digit:]x]+', ['abx'], ['a1']],
    ['[^[:space:]]+', ['abc'], ['a b']],
    ['\\pL+', ['héllo', 'Ωμέγα'], ['a1']],
    ['\\p{Greek}+', ['Ωμέγα'], ['abc']],
    ['\\PL', ['1'], ['a']],
    ['[\\pN_]+', ['12_٣'], ['a']],
    ['\\Qa.b*\\E+', ['a.b*', 'a.b**'], ['axb']],
    ['\\Aabc\\z', ['abc'], ['abc\n']],
    ['abc$', ['abc'], ['abc\n']],
    ['(?P<name>[a-z]+)-(?<num>\\d+)', ['abc-12'], ['abc-']],
    ['a{2,3}', ['aa', 'aaa'], ['a', 'aaaa']],
    ['a{2,}', ['aaaaa'], ['a']],
    ['a{,2}', ['a{,2}'], ['aa']],
    ['\\x41\\x{1F600}', ['A😀'], ['A']],
    ['\\101', ['A'], ['101']],
    ['[\\x00-\\x1f]', ['\u0001'], [' ']],
    ['[]a]+', [']a]'], ['b']],
    ['[a-]+', ['a-'], ['b']],
    ['\\.\\-\\_', ['.-_'], ['a-_']],
    ['(?m)^a$\\n^b$', ['a\nb'], []],
    ['😀.', ['😀x', '😀😀'], ['😀']],
    ['^foo$', ['foo'], ['xfoo']],
    ['\\bfoo\\b', ['foo'], []],
    ['[/]', ['/'], []],
    ['a/b', ['a/b'], []],
  ];

describe('compileRe2: translation table', () => {
  it.each(table)('%s', (pattern, yes, no) => {
    const { regexp } = compileRe2(pattern);
    for (const s of yes) expect([s, regexp.test(s)]).toEqual([s, true]);
    for (const s of no) expect([s, regexp.test(s)]).toEqual([s, false]);
  });

  it('(?U) swaps greediness', () => {
    const { regexp } = compileRe2('(?U)(a+)(a*)');
    expect(regexp.exec('aaa')!.slice(1)).toEqual(['a', 'aa']);
    const { regexp: lazyInU } = compileRe2('(?U)(a+?)(a*)');
    expect(lazyInU.exec('aaa')!.slice(1)).toEqual(['aaa', '']);
  });

  it('reports capture group names by index, named and unnamed alike', () => {
    const c = compileRe2('(a)(?P<x>b)(?:c)(?<y>d)');
    expect(c.groupNames).toEqual([undefined, undefined, 'x', 'y']);
    expect(c.groupCount).toBe(3);
    expect(c.regexp.exec('abcd')!.slice(1)).toEqual(['a', 'b', 'd']);
  });

  it('uses no flags unless Unicode classes or astral characters need u; (?i) is folded per character', () => {
    expect(compileRe2('(?i)abc').regexp.flags).toBe('');
    expect(compileRe2('(?i)abc').regexp.source).toBe('^(?:[Aa][Bb][Cc])$');
    expect(compileRe2('(?i)\\pL+').regexp.flags).toBe('iu');
    expect(compileRe2('a(?i)\\pL').regexp.flags).toBe('u');
    expect(compileRe2('(?i)straße').regexp.test('STRASSE')).toBe(false); // simple folding only, as RE2
    expect(compileRe2('(?i)σ').regexp.test('Σ')).toBe(true);
  });
});

describe('compileRe2: linear-time fallback for catastrophic patterns', () => {
  // Run in a worker so a regression (exponential backtracking) is killed instead of hanging Jest.
  async function runsToCompletion(pattern: string, input: string): Promise<boolean | 'timeout'> {
    const { Worker } = await import('node:worker_threads');
    const { regexp } = compileRe2(pattern);
    const w = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
       parentPort.postMessage(new RegExp(workerData.source, workerData.flags).test(workerData.input));`,
      { eval: true, workerData: { source: regexp.source, flags: regexp.flags, input } },
    );
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        void w.terminate();
        resolve('timeout');
      }, 10_000);
      w.once('message', (m: boolean) => {
        clearTimeout(timer);
        void w.terminate();
        resolve(m);
      });
    });
  }

  it.each([
    ['(a*)*b', 'a'.repeat(40)],
    ['(?i)(a|a)*c', 'A'.repeat(40)],
    ['(x+x+)+y', 'x'.repeat(40)],
    ['(.*a){12}b', 'a'.repeat(60)],
    ['(?i)([a-z]+\\w*)+\\.', 'Ab'.repeat(25)],
  ])('%s on a long non-matching input finishes (RE2 is linear)', async (pattern, input) => {
    expect(await runsToCompletion(pattern, input)).toBe(false);
  }, 15_000);
});

describe('compileRe2: differential check against re2js (a port of RE2)', () => {
  const extra = ['', 'a', 'A', 'ab', 'abc\n', 'straße', '😀', ' \t', 'foo-bar_baz', 'ΣΑΣ', '123abc'];
  it.each(table)('%s agrees with RE2 on every input', (pattern, yes, no) => {
    const { regexp } = compileRe2(pattern);
    const ref = RE2JS.compile(`^(?:${pattern})$`);
    for (const s of [...yes, ...no, ...extra]) expect([s, regexp.test(s)]).toEqual([s, ref.matches(s)]);
  });

  it.each([
    ['(?P<host>[^:]+):(?P<port>\\d+)', '10.0.0.1:9100'],
    ['(.+?)(?::\\d+)?;(\\d+)', '10.1.2.3:8080;9102'],
    ['(a|ab)(c|bcd)(d*)', 'abcd'],
    ['(?U)(a+)(a*)', 'aaa'],
    ['(?i)(Foo)(BAR)?', 'fOo'],
    ['(x*)(x+)', 'xxxx'],
  ])('%s captures the same groups as RE2 on %j', (pattern, input) => {
    const m = compileRe2(pattern).regexp.exec(input);
    const ref = RE2JS.compile(`^(?:${pattern})$`).matcher(input);
    expect(ref.matches()).toBe(true);
    const groups = [...Array(ref.groupCount() + 1).keys()].map((i) => ref.group(i) ?? undefined);
    expect(m ? [...m] : null).toEqual(groups);
  });
});

describe('compileRe2: seeded random differential test against re2js', () => {
  it('agrees with RE2 (match and captures) on 400 generated patterns × 25 generated inputs', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const atoms = ['a', 'b', 'A', '.', '\\d', '\\w', '\\s', '\\S', '[a-c]', '[^b]', '(?i:a)', '(?i:[b-c])', '\\.', '[[:alpha:]]', '[[:^digit:]]', '(a|b)', '(?:ab)', '\\pL', 'é', '\\x41', '\\b', '$', '^', '(?s:.)', '\\Qa.\\E', '[\\d_]', '\\W', '(?m:^a)', '(?m:b$)', '\\z', '\\A', '[[:punct:]]', '\\pN', '(?i:é)', '\\PL', '[^\\n]', '(?i:[^a])', '(?P<n>a|)', '()'];
    const quants = ['', '', '', '*', '+', '?', '{1,2}', '*?', '+?', '{2}'];
    const alphabet = ['a', 'b', 'A', 'B', 'c', '.', '1', '_', ' ', 'é', 'É', '😀', '\n', 'ab'];
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      const parts: string[] = [];
      const n = 1 + rnd(4);
      for (let j = 0; j < n; j++) {
        const atom = atoms[rnd(atoms.length)]!;
        const q = atom === '^' || atom === '$' || atom === '\\b' ? '' : quants[rnd(quants.length)]!;
        parts.push(atom + q);
      }
      let pattern = parts.join('');
      if (rnd(4) === 0) pattern = `${pattern}|${atoms[rnd(atoms.length)]}`;
      if (rnd(6) === 0) pattern = `(?i)${pattern}`;
      if (rnd(8) === 0) pattern = `(?U)${pattern}`;
      let uid = 0;
      pattern = pattern.replace(/\(\?P<n>/g, () => `(?P<n${uid++}>`);
      const ours = compileRe2(pattern).regexp;
      const ref = RE2JS.compile(`^(?:${pattern})$`);
      for (let k = 0; k < 25; k++) {
        let input = '';
        const len = rnd(6);
        for (let c = 0; c < len; c++) input += alphabet[rnd(alphabet.length)];
        const want = ref.matches(input);
        if (ours.test(input) !== want) throw new Error(`pattern ${JSON.stringify(pattern)} on ${JSON.stringify(input)}: RE2 says ${want}`);
        // Captures too (what relabel expansion reads; unset = ''), except for groups that can match
        // empty inside a counted repeat, where JS and RE2 differ by design (documented in re2.ts).
        if (want && !/\(\?P<|\(\)/.test(pattern)) {
          const m = ours.exec(input)!;
          const rm = ref.matcher(input);
          rm.matches();
          const g = [...Array(rm.groupCount() + 1).keys()].map((x) => rm.group(x) ?? '');
          expect([pattern, input, [...m].map((x) => x ?? '')]).toEqual([pattern, input, g]);
        }
        compared++;
      }
    }
    expect(compared).toBe(10_000);
  });
});

describe('compileRe2: rejects what RE2 rejects', () => {
  const bad: Array<[string, string]> = [
    ['(a)\\1', 'backreference'],
    ['\\8', 'backreference'],
    ['(?=a)', 'lookahead'],
    ['(?!a)', 'lookahead'],
    ['(?<=a)b', 'lookbehind'],
    ['(?<!a)b', 'lookbehind'],
    ['(?P=n)', 'backreference'],
    ['a**', 'invalid nested repetition operator'],
    ['a++', 'invalid nested repetition operator'],
    ['a{1001}', 'repetition count'],
    ['a{3,2}', 'repetition range'],
    ['*a', 'missing argument to repetition operator'],
    ['(a', 'missing closing )'],
    ['a)', 'unmatched )'],
    ['[a', 'missing closing ]'],
    ['[z-a]', 'invalid character class range'],
    ['[[:foo:]]', 'unknown POSIX class'],
    ['\\p{Klingon}', 'unknown Unicode class'],
    ['\\C', '\\C'],
    ['\\Z', '\\Z'],
    ['\\y', 'invalid escape'],
    ['a\\', 'trailing backslash'],
    ['(?P<a>x)(?P<a>y)', 'duplicate capture group name'],
    ['(?i-)', 'invalid or unsupported Perl syntax'],
    ['(?x)a', 'invalid or unsupported Perl syntax'],
  ];
  it.each(bad)('%s → %s', (pattern, construct) => {
    let err: unknown;
    try {
      compileRe2(pattern);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Re2SyntaxError);
    expect((err as Error).message).toContain(construct);
    expect((err as Error).message).toContain(JSON.stringify(pattern));
    expect(() => RE2JS.compile(pattern)).toThrow(); // and RE2 rejects it too
  });
});
