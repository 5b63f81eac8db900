import { createHash } from 'node:crypto';
import { z } from 'zod';
import { loadConfig, loadConfigWithComponents } from './loader.js';
import { syntaxEvaluator } from './evaluator.js';
import { ComponentRegistry } from './registry.js';
import { validateConfig } from './validate.js';
import { SpecCache } from './module-loader.js';
import type { ParseResult } from '../syntax/index.js';
import type { ComponentDefinition, Stability } from './component.js';

const idle = { run: (s: AbortSignal) => new Promise<void>((r) => s.addEventListener('abort', () => r())), update: () => undefined };

const source: ComponentDefinition<{ value: number }, { output: number }> = {
  name: 'test.source',
  stability: 'generally-available',
  args: z.object({ value: z.number() }),
  exports: ['output'],
  build: (o, a) => (o.onStateChange({ output: a.value }), idle),
};
const sink: ComponentDefinition<{ input?: number; name?: string }, object> = {
  name: 'test.sink',
  stability: 'generally-available',
  args: z.object({ input: z.number().optional(), name: z.string().optional() }),
  exports: [],
  build: () => idle,
};
const lab: ComponentDefinition<object, object> = {
  name: 'test.lab',
  stability: 'experimental',
  args: z.object({}),
  exports: [],
  build: () => idle,
};

const registry = new ComponentRegistry([source, sink, lab]);
const evaluator = syntaxEvaluator();

function load(src: string, stabilityLevel?: Stability) {
  return loadConfig(new Map([['main.alloy', src]]), { registry, evaluator, ...(stabilityLevel ? { stabilityLevel } : {}) });
}

const at = (d: { start: { line: number; column: number }; message: string }): string => `${d.start.line}:${d.start.column}: ${d.message}`;

describe('loadConfig: graph building', () => {
  const cases: Array<{ name: string; src: string; level?: Stability; want: string[]; deps?: Record<string, string[]> }> = [
    {
      name: 'references become dependencies (longest prefix), stdlib is not a component',
      src: 'test.source "a" { value = 1 }\ntest.sink "b" {\n  input = test.source.a.output\n  name = sys.env("HOME")\n}\n',
      want: [],
      deps: { 'test.source.a': [], 'test.sink.b': ['test.source.a'] },
    },
    {
      name: 'unknown component name',
      src: 'foo.bar "x" {}\n',
      want: ['1:1: cannot find the definition of component name "foo.bar"'],
    },
    {
      name: 'missing label',
      src: '\ntest.sink {}\n',
      want: ['2:1: component "test.sink" must have a label, e.g. test.sink "default" { ... }'],
    },
    {
      name: 'duplicate id',
      src: 'test.sink "a" {}\ntest.sink "a" {}\n',
      want: ['2:1: block test.sink.a already declared at main.alloy:1:1'],
    },
    {
      name: 'unknown reference',
      src: 'test.sink "b" {\n  input = test.source.nope.output\n}\n',
      want: ['2:11: component "test.source.nope.output" does not exist or is out of scope'],
    },
    {
      name: 'missing export',
      src: 'test.source "a" { value = 1 }\ntest.sink "b" {\n  input = test.source.a.outptu\n}\n',
      want: ['3:11: component "test.source.a" does not export "outptu"; it exports: output'],
    },
    {
      name: 'cycle reported on every block of the cycle',
      src: 'test.source "a" { value = test.source.b.output }\ntest.source "b" { value = test.source.a.output }\n',
      want: [
        '1:1: cycle detected: test.source.b, test.source.a',
        '2:1: cycle detected: test.source.b, test.source.a',
      ],
    },
    {
      name: 'a reference to a component whose name starts with a stdlib name warns (the component wins)',
      src: 'declare "string" {\n  export "out" { value = 1 }\n}\nstring "a" { }\ntest.sink "b" {\n  input = string.a.out\n}\n',
      want: ['6:11: a component is shadowing an existing stdlib name'],
      deps: { 'string.a': [], 'test.sink.b': ['string.a'] },
    },
    {
      name: 'a component referencing its own exports',
      src: 'test.source "a" { value = test.source.a.output }\n',
      want: ['1:1: cannot reference self'],
    },
    {
      name: 'stability gating names the flag and the level needed',
      src: 'test.lab "x" {}\n',
      want: [
        '1:1: component "test.lab" is at stability level "experimental", which is below the minimum allowed stability level "generally-available". Use --stability.level command-line flag to enable "experimental" features',
      ],
    },
    { name: 'stability level experimental admits it', src: 'test.lab "x" {}\n', level: 'experimental', want: [] },
    {
      name: 'experimental stdlib function is gated, deprecated name warns',
      src: 'test.sink "b" {\n  name = array.combine_maps([], [], [])[0].x\n}\ntest.sink "c" {\n  name = env("HOME")\n}\n',
      want: [
        '2:10: array.combine_maps is at stability level "experimental", which is below the minimum allowed stability level "generally-available". Use --stability.level command-line flag to enable "experimental" features',
        '5:10: this stdlib function is deprecated; please refer to the documentation for updated usage and alternatives (use "sys.env")',
      ],
    },
    {
      name: 'livedebugging and tracing are accepted, other unsupported config blocks are errors',
      src: 'livedebugging {\n  enabled = true\n}\ntracing {\n  sampling_fraction = 0.5\n}\nhttp {}\n',
      want: [
 '7:1: block "http" is not supported by this collector yet',
      ],
    },
    {
      name: 'tracing with write_to is rejected with the reason',
      src: 'tracing {\n  write_to = [otelcol.exporter.otlp.x.input]\n}\n',
      want: ['2:15: tracing.write_to is not supported: this collector does not export its own traces; remove write_to (or the tracing block)'],
    },
    {
      name: 'logging declared twice',
      src: 'logging {}\nlogging {\n  level = "debug"\n}\n',
      want: ['2:1: block logging already declared at main.alloy:1:1'],
    },
    {
      name: 'syntax errors come through with positions',
      src: 'test.sink "a" {\n  input = \n}\n',
      want: [expect.stringMatching(/^3:1: /) as unknown as string],
    },
  ];
  it.each(cases)('$name', ({ src, level, want, deps }) => {
    const r = load(src, level);
    expect(r.diags.map(at)).toEqual(want);
    if (deps) expect(Object.fromEntries(r.components.map((c) => [c.id, c.dependencies]))).toEqual(deps);
  });

  it('decodes the logging block with defaults', () => {
    expect(load('logging {\n  level = "debug"\n}\n').logging.args).toEqual({ level: 'debug', format: 'logfmt' });
    expect(load('').logging.args).toEqual({ level: 'info', format: 'logfmt' });
    expect(load('logging {\n  level = "loud"\n}\n').diags.map((d) => d.start.line)).toEqual([2]);
  });

  it('evaluates a spec with its dependencies exports in scope', () => {
    const r = load('test.source "a" { value = 1 }\ntest.sink "b" { input = test.source.a.output + 1 }\n');
    const b = r.components.find((c) => c.id === 'test.sink.b')!;
    expect(b.evaluate((id) => (id === 'test.source.a' ? { output: 41 } : undefined))).toEqual({ value: { input: 42 }, diags: [] });
  });

  it('reuses parse results for unchanged files and drops files that are gone', () => {
    const cache = new Map<string, { src: string; parsed: import('../syntax/index.js').ParseResult }>();
    const a = 'test.source "a" { value = 1 }\n';
    loadConfig(new Map([['a.alloy', a], ['b.alloy', 'test.sink "b" {}\n']]), { registry, evaluator, parseCache: cache });
    const first = cache.get('a.alloy')!.parsed;
    const r = loadConfig(new Map([['a.alloy', a]]), { registry, evaluator, parseCache: cache });
    expect(cache.get('a.alloy')!.parsed).toBe(first);
    expect([...cache.keys()]).toEqual(['a.alloy']);
    expect(r.components.map((c) => c.id)).toEqual(['test.source.a']);
    loadConfig(new Map([['a.alloy', 'test.source "a" { value = 2 }\n']]), { registry, evaluator, parseCache: cache });
    expect(cache.get('a.alloy')!.parsed).not.toBe(first);
  });

  it('hashes sources independent of map order', () => {
    const a = loadConfig(new Map([['x', '1'], ['y', '2']]), { registry, evaluator }).hash;
    const b = loadConfig(new Map([['y', '2'], ['x', '1']]), { registry, evaluator }).hash;
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
  });

  it('hashes a single file by its contents only, as upstream alloy_config_hash does', () => {
    const text = 'logging {\n  level = "info"\n}\n';
    const mountedHere = loadConfig(new Map([['/etc/alloy/config.alloy', text]]), { registry, evaluator }).hash;
    const mountedThere = loadConfig(new Map([['/var/lib/kubelet/pods/x/config.alloy', text]]), { registry, evaluator }).hash;
    expect(mountedHere).toBe(createHash('sha256').update(text).digest('hex'));
    expect(mountedThere).toBe(mountedHere);
  });
});

describe('validateConfig', () => {
  it('checks argument types of every component without running anything', async () => {
    const diags = (await validateConfig(new Map([['v.alloy', 'test.source "a" {\n  value = "nope"\n}\ntest.sink "b" {\n  input = test.source.a.output\n  bogus = 1\n}\n']]), {
      registry,
    }));
    expect(diags.map((d) => d.start.line)).toEqual([2, 6]);
    expect(diags[1]!.message).toContain('bogus');
  });

  it('accepts a valid config and defaults to generally-available', async () => {
    expect((await validateConfig(new Map([['v.alloy', 'test.source "a" { value = 1 }\n']]), { registry }))).toEqual([]);
    expect((await validateConfig(new Map([['v.alloy', 'test.lab "a" {}\n']]), { registry }))).toHaveLength(1);
    expect((await validateConfig(new Map([['v.alloy', 'test.lab "a" {}\n']]), { registry, stabilityLevel: 'experimental' }))).toEqual([]);
  });
});

describe('validateConfig: values known only at run time', () => {
  const unset = 'ALLOY_TS_VALIDATE_TEST_UNSET_VARIABLE';
  it('does not fail on an attribute that reads the environment, while the loader (alloy run) still reports it', async () => {
    expect(process.env[unset]).toBeUndefined();
    const src = `test.source "a" {\n  value = sys.env("${unset}")\n}\ntest.sink "b" {\n  name = env("${unset}")\n  input = "not a number"\n}\n`;
    const diags = (await validateConfig(new Map([['v.alloy', src]]), { registry }));
    // Only the statically wrong attribute is an error (the deprecated alias is a warning).
    expect(diags.map((d) => `${d.severity} ${d.start.line}: ${d.message}`)).toEqual([
      'warning 5: this stdlib function is deprecated; please refer to the documentation for updated usage and alternatives (use "sys.env")',
      'error 6: "input" should be number, got string',
    ]);
    const loaded = loadConfig(new Map([['v.alloy', src]]), { registry, evaluator: syntaxEvaluator() });
    const runDiags = loaded.components.flatMap((c) => c.evaluate(() => undefined).diags);
    expect(runDiags.map((d) => d.start.line)).toEqual([2, 6]);
  });

  it('leaves function results to run time (array.combine_maps([], [], []) fails only when loaded) but keeps static checks', async () => {
    const src = 'test.sink "b" {\n  name = array.combine_maps([], [], [])\n}\n';
    expect((await validateConfig(new Map([['v.alloy', src]]), { registry, stabilityLevel: 'experimental' }))).toEqual([]);
    // The stability level of the function is static: still reported.
    expect((await validateConfig(new Map([['v.alloy', src]]), { registry })).map((d) => d.message)).toEqual([expect.stringMatching(/^array.combine_maps is at stability level "experimental"/)]);
    const loaded = loadConfig(new Map([['v.alloy', src]]), { registry, evaluator: syntaxEvaluator(), stabilityLevel: 'experimental' });
    expect(loaded.components[0]!.evaluate(() => undefined).diags.map((d) => d.message)).toEqual([expect.stringContaining('merge conditions must not be empty')]);
  });

  it('a logging block reading the environment passes validation', async () => {
    expect((await validateConfig(new Map([['v.alloy', 'logging {\n  level = sys.env("ALLOY_TS_VALIDATE_TEST_UNSET_VARIABLE")\n}\n']]), { registry }))).toEqual([]);
  });

  it('still reports syntax errors inside such attributes', async () => {
    const diags = (await validateConfig(new Map([['v.alloy', `test.sink "b" {\n  name = sys.env("X") +\n}\n`]]), { registry }));
    expect(diags).toHaveLength(1);
    expect(diags[0]!.message).toMatch(/expected expression/);
  });
});

describe('loadConfigWithComponents: large configs', () => {
  /** `n` chained components: each sink reads the source before it. */
  function big(n: number, bad = false): Map<string, string> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(`test.source "s${i}" { value = ${i} }\ntest.sink "k${i}" { input = test.source.s${i}.output }\n`);
    if (bad) out.push('test.sink "last" { input = test.source.missing.output }\n');
    return new Map([['main.alloy', out.join('')]]);
  }

  it('yields to the event loop while loading, with the same result as loadConfig', async () => {
    const sources = big(1500);
    const sync = loadConfig(sources, { registry, evaluator });
    let turns = 0;
    let loading = true;
    const tick = (): void => {
      if (!loading) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const sliced = await loadConfigWithComponents(sources, { registry, evaluator });
    loading = false;
    // 3,000 blocks take well over one 5 ms slice: the event loop turned during the load.
    expect(turns).toBeGreaterThan(0);
    expect(sliced.diags).toStrictEqual(sync.diags);
    expect(sliced.hash).toBe(sync.hash);
    expect(sliced.components.map((c) => [c.id, c.dependencies])).toStrictEqual(sync.components.map((c) => [c.id, c.dependencies]));
  });

  it('reports the error of a large config at its place', async () => {
    const r = await loadConfigWithComponents(big(1500, true), { registry, evaluator });
    expect(r.diags.map((d) => `${d.start.line}: ${d.message}`)).toStrictEqual(['3001: component "test.source.missing.output" does not exist or is out of scope']);
  });
});

describe('loadConfig: specs kept across loads (SpecCache)', () => {
  const base = 'test.source "a" { value = 1 }\ntest.sink "b" { input = test.source.a.output }\ntest.sink "c" { input = test.source.a.output }\n';
  function loader() {
    const parseCache = new Map<string, { readonly src: string; readonly parsed: ParseResult }>();
    const specCache = new SpecCache();
    return (src: string) => loadConfig(new Map([['main.alloy', src]]), { registry, evaluator, parseCache, specCache });
  }
  const byId = (l: ReturnType<typeof load>) => new Map(l.components.map((c) => [c.id, c]));

  it('reuses the specs of untouched blocks and makes new ones for edited blocks', () => {
    const next = loader();
    const first = byId(next(base));
    const same = byId(next(base));
    for (const [id, spec] of first) expect(same.get(id)).toBe(spec);
    const edited = byId(next(base.replace('value = 1', 'value = 2')));
    expect(edited.get('test.source.a')).not.toBe(first.get('test.source.a'));
    expect(edited.get('test.sink.b')).toBe(first.get('test.sink.b'));
    expect(edited.get('test.source.a')!.evaluate(() => undefined).value).toStrictEqual({ value: 2 });
  });

  it('resolves references again when the set of components changes', () => {
    const next = loader();
    const first = byId(next(base));
    const removed = next(base.replace('test.source "a" { value = 1 }\n', 'test.source "z" { value = 1 }\n'));
    expect(removed.diags.map((d) => d.message)).toStrictEqual([
      'component "test.source.a.output" does not exist or is out of scope',
      'component "test.source.a.output" does not exist or is out of scope',
    ]);
    // Back to the first set of components: the first load's resolution holds again.
    const back = byId(next(base));
    expect(back.get('test.sink.b')).toBe(first.get('test.sink.b'));
    expect(back.get('test.sink.b')!.dependencies).toStrictEqual(['test.source.a']);
  });

  it('does not keep specs whose block had a diagnostic, nor those of a load with a cycle', () => {
    const next = loader();
    const cyc = 'test.source "a" { value = 1 }\ntest.source "b" { value = test.source.c.output }\ntest.source "c" { value = test.source.b.output }\n';
    const one = next(cyc);
    expect(one.diags.some((d) => d.message.startsWith('cycle detected'))).toBe(true);
    const two = next(cyc);
    expect(two.diags.filter((d) => d.message.startsWith('cycle detected')).length).toBe(2);
    expect(byId(two).get('test.source.b')).not.toBe(byId(one).get('test.source.b'));
    expect(byId(two).get('test.source.a')).not.toBe(byId(one).get('test.source.a'));
    const bad = 'test.source "a" { value = 1 }\ntest.sink "b" { input = test.source.a.nope }\n';
    expect(byId(next(bad)).get('test.sink.b')).not.toBe(byId(next(bad)).get('test.sink.b'));
  });
});

describe('loadConfig: specs that read only component exports (inputsOnly)', () => {
  it('marks blocks of literals and component references, not those reading the stdlib or calling functions', () => {
    const l = load(
      [
        'test.source "a" { value = 1 + 2 }',
        'test.sink "b" { input = test.source.a.output }',
        'test.sink "c" { name = sys.env("HOME") }',
        'test.sink "d" { input = test.source.a.output + 1 }',
        'test.sink "e" { name = constants.os }',
        'test.sink "f" { name = string.format("%d", test.source.a.output) }',
        '',
      ].join('\n'),
    );
    expect(l.diags).toEqual([]);
    expect(Object.fromEntries(l.components.map((c) => [c.label, c.inputsOnly === true]))).toStrictEqual({ a: true, b: true, c: false, d: true, e: false, f: false });
  });
});

