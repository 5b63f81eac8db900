// Component modules load when a configuration first names them: the registry, the loader's
// pending-component pass (imports), validation and the runtime's reload path.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { LogManager } from '../logging/logger.js';
import type { ComponentDefinition } from './component.js';
import { syntaxEvaluator } from './evaluator.js';
import { ComponentRegistry, type LazyComponent } from './registry.js';
import { Runtime } from './runtime.js';
import { validateConfig } from './validate.js';

function idle(name: string): ComponentDefinition<{ n: number }, object> {
  return {
    name,
    stability: 'generally-available',
    args: z.object({ n: z.number() }),
    exports: [],
    build: () => ({ run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())), update: () => undefined }),
  };
}

/** A lazy entry that counts its loads; `fail` makes the import reject. */
function lazy(name: string, opts: { fail?: string; wrongName?: boolean } = {}): LazyComponent & { loads: number } {
  const entry = {
    name,
    loads: 0,
    load: async (): Promise<object> => {
      entry.loads++;
      await new Promise((r) => setImmediate(r));
      if (opts.fail) throw new Error(opts.fail);
      return { component: idle(opts.wrongName ? `${name}_other` : name), unrelated: 42 };
    },
  };
  return entry;
}

const src = (text: string): Map<string, string> => new Map([['main.alloy', text]]);

describe('ComponentRegistry with lazy components', () => {
  it('lists lazy names, answers get() only once loaded, and imports a module once however many ask', async () => {
    const a = lazy('test.a');
    const b = lazy('test.b');
    const reg = new ComponentRegistry([a, b, idle('test.eager')]);
    expect(reg.names()).toEqual(['test.a', 'test.b', 'test.eager']);
    expect(reg.has('test.a')).toBe(true);
    expect(reg.get('test.a')).toBeUndefined();
    expect(reg.isPending('test.a')).toBe(true);
    expect(reg.isPending('test.eager')).toBe(false);
    await Promise.all([reg.ensure(['test.a', 'nope.x', 'test.eager']), reg.ensure(['test.a'])]);
    expect(a.loads).toBe(1);
    expect(b.loads).toBe(0);
    expect(reg.get('test.a')?.name).toBe('test.a');
    expect(reg.isPending('test.a')).toBe(false);
    await reg.ensureAll();
    expect([a.loads, b.loads]).toEqual([1, 1]);
  });

  it('refuses a module that does not define the component registered for it, and retries a failed import', async () => {
    const wrong = lazy('test.wrong', { wrongName: true });
    const reg = new ComponentRegistry([wrong]);
    await expect(reg.ensure(['test.wrong'])).rejects.toThrow('the module registered for component "test.wrong" does not export its definition');
    await expect(reg.ensure(['test.wrong'])).rejects.toThrow('does not export its definition');
    expect(wrong.loads).toBe(2);
    expect(() => new ComponentRegistry([lazy('bad')])).toThrow('must be dotted identifiers');
    expect(() => new ComponentRegistry([lazy('test.a'), idle('test.a')])).toThrow('registered twice');
  });

  it('validateConfig loads what the config names (also inside declare bodies and imported modules), nothing else', async () => {
    const top = lazy('test.top');
    const inDeclare = lazy('test.indeclare');
    const inModule = lazy('test.inmodule');
    const unused = lazy('test.unused');
    const reg = new ComponentRegistry([top, inDeclare, inModule, unused]);
    const mod = 'declare "m" {\n  test.inmodule "x" { n = 1 }\n}\n';
    const diags = await validateConfig(
      src(`test.top "a" { n = 1 }\ndeclare "d" {\n  test.indeclare "y" { n = 2 }\n}\nd "i" { }\nimport.string "mod" {\n  content = ${JSON.stringify(mod)}\n}\nmod.m "j" { }\n`),
      { registry: reg },
    );
    expect(diags).toEqual([]);
    expect([top.loads, inDeclare.loads, inModule.loads, unused.loads]).toEqual([1, 1, 1, 0]);
    // A type error in a lazily loaded component is still found at its position.
    const bad = await validateConfig(src('test.unused "u" { n = "x" }\n'), { registry: reg });
    expect(bad.map((d) => `${d.start.line}:${d.start.column} ${d.message}`)).toEqual([expect.stringMatching(/^1:\d+ "n" should be number, got string/)]);
  });

  it('a module that fails to load is one diagnostic at the block naming it; an unknown name keeps the upstream error', async () => {
    const reg = new ComponentRegistry([lazy('test.broken', { fail: 'Cannot find module grpc' })]);
    const diags = await validateConfig(src('no.such "b" { }\n\ntest.broken "a" { n = 1 }\n'), { registry: reg });
    expect(diags.map((d) => `${d.start.line}:${d.start.column} ${d.message}`)).toEqual([
      '1:1 cannot find the definition of component name "no.such"',
      '3:1 component "test.broken" could not be loaded (an installation problem, not a config error): Cannot find module grpc',
    ]);
  });
});

describe('Runtime with lazy components', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rt-lazy-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  function runtime(configPath: string, reg: ComponentRegistry): Runtime {
    return new Runtime({
      configPath,
      storagePath: path.join(dir, 'data'),
      stabilityLevel: 'generally-available',
      logs: new LogManager({ stream: new PassThrough().resume() }),
      registry: new Registry(),
      services: new Map(),
      components: reg,
      evaluator: syntaxEvaluator(),
      buildInfo: { version: 'v0', revision: '', branch: '' },
    });
  }

  it('loads a component on the reload that first names it; a module that fails keeps the running config', async () => {
    const a = lazy('test.a');
    const b = lazy('test.b');
    const broken = lazy('test.broken', { fail: 'boom' });
    const cfg = path.join(dir, 'config.alloy');
    await fs.writeFile(cfg, 'test.a "x" { n = 1 }\n');
    const rt = runtime(cfg, new ComponentRegistry([a, b, broken]));
    expect((await rt.load()).ok).toBe(true);
    expect([a.loads, b.loads, broken.loads]).toEqual([1, 0, 0]);
    const running = rt.components()[0]!.instance;

    await fs.writeFile(cfg, 'test.a "x" { n = 1 }\ntest.b "y" { n = 2 }\n');
    expect((await rt.load()).ok).toBe(true);
    expect([a.loads, b.loads]).toEqual([1, 1]);
    expect(rt.components().map((c) => c.id)).toEqual(['test.a.x', 'test.b.y']);
    expect(rt.components()[0]!.instance).toBe(running);

    await fs.writeFile(cfg, 'test.a "x" { n = 1 }\ntest.broken "z" { n = 3 }\n');
    const failed = await rt.load();
    expect(failed.ok).toBe(false);
    expect(failed.message).toMatch(/component "test\.broken" could not be loaded .*: boom/);
    expect(rt.components().map((c) => c.id)).toEqual(['test.a.x', 'test.b.y']);
    await rt.stop();
  });
});
