import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Counter, Registry } from 'prom-client';
import { z } from 'zod';
import { LogManager } from '../logging/logger.js';
import type { ComponentDefinition } from './component.js';
import { syntaxEvaluator } from './evaluator.js';
import { ComponentRegistry } from './registry.js';
import { Runtime } from './runtime.js';
import { validateConfig } from './validate.js';
import type { HttpService } from './services.js';

interface Probe {
  updates: unknown[];
  args: unknown;
}
const probes = new Map<string, Probe>();

const source: ComponentDefinition<{ value: number }, { output: number }> = {
  name: 'test.source',
  stability: 'generally-available',
  args: z.object({ value: z.number() }),
  exports: ['output'],
  build(opts, args) {
    const p: Probe = { updates: [], args };
    probes.set(opts.id + '@' + opts.dataPath, p);
    new Counter({ name: 'test_source_builds_total', help: 'Builds.', registers: [opts.registry] }).inc();
    opts.onStateChange({ output: args.value });
    if (args.value < 0) opts.setHealth('unhealthy', 'negative value');
    return {
      run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())),
      update(a) {
        p.updates.push(a);
        p.args = a;
        opts.onStateChange({ output: a.value });
        opts.setHealth(a.value < 0 ? 'unhealthy' : 'healthy', a.value < 0 ? 'negative value' : 'ok');
      },
    };
  },
};

const sink: ComponentDefinition<{ input: number }, object> = {
  name: 'test.sink',
  stability: 'generally-available',
  args: z.object({ input: z.number() }),
  exports: [],
  build(opts, args) {
    const p: Probe = { updates: [], args };
    probes.set(opts.id, p);
    return {
      run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())),
      update(a) {
        p.updates.push(a);
        p.args = a;
      },
    };
  },
};

const routed: Array<{ path: string; id: string }> = [];
const router: ComponentDefinition<{ path: string }, object> = {
  name: 'test.router',
  stability: 'generally-available',
  args: z.object({ path: z.string() }),
  exports: [],
  build(opts, args) {
    const http = opts.getService<HttpService>('http');
    if (!http.route) throw new Error('no root routes in this http service');
    http.route(args.path, () => undefined);
    routed.push({ path: args.path, id: opts.id });
    return { run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())), update: () => undefined };
  },
};

const registry = new ComponentRegistry([source, sink, router]);

const PIPE = (extra = '') => `declare "pipe" {
  argument "v" { }
  argument "offset" {
    optional = true
    default  = 100
  }
  test.source "s" { value = argument.v.value + argument.offset.value${extra} }
  export "out" { value = test.source.s.output }
}
`;

function runtime(): Runtime {
  return new Runtime({
    configPath: '/unused',
    storagePath: '/tmp/declare-test',
    stabilityLevel: 'generally-available',
    logs: new LogManager({ stream: new PassThrough().resume() }),
    registry: new Registry(),
    services: new Map(),
    components: registry,
    evaluator: syntaxEvaluator(),
    buildInfo: { version: 'v0', revision: '', branch: '' },
  });
}

const src = (s: string): Map<string, string> => new Map([['main.alloy', s]]);

beforeEach(() => probes.clear());

describe('declare (custom components)', () => {
  it('runs the body per instance, feeds arguments (with defaults) and publishes exports to dependents', async () => {
    const rt = runtime();
    const r = await rt.loadSources(src(`${PIPE()}pipe "a" { v = 5 }\npipe "b" {\n  v      = 1\n  offset = 0\n}\ntest.sink "k" { input = pipe.a.out + pipe.b.out }\n`));
    expect(r.message).toBe('');
    expect(probes.get('test.sink.k')!.args).toEqual({ input: 106 });
    const a = rt.components().find((c) => c.id === 'pipe.a')!;
    expect(a.exports).toEqual({ out: 105 });
    expect(a.health.state).toBe('healthy');
    expect(a.debugInfo).toEqual({ components: [{ id: 'test.source.s', health: 'healthy', message: 'started component' }] });
    // Inner metrics are exposed, labelled with the nested id.
    const text = (await Promise.all(rt.registries().map((x) => x.metrics()))).join('\n');
    expect(text).toContain('test_source_builds_total{component_id="pipe.a/test.source.s"} 1');
    expect(text).toContain('test_source_builds_total{component_id="pipe.b/test.source.s"} 1');
    await rt.stop();
  });

  it('updates instances in place on reload: same instance, inner component updated, dependents follow', async () => {
    const rt = runtime();
    await rt.loadSources(src(`${PIPE()}pipe "a" { v = 5 }\ntest.sink "k" { input = pipe.a.out }\n`));
    const inst = rt.components().find((c) => c.id === 'pipe.a')!.instance;
    const inner = [...probes.entries()].find(([k]) => k.startsWith('test.source.s@'))![1];

    // No-op reload: nothing is updated.
    await rt.loadSources(src(`${PIPE()}pipe "a" { v = 5 }\ntest.sink "k" { input = pipe.a.out }\n`));
    expect(inner.updates).toEqual([]);
    expect(probes.get('test.sink.k')!.updates).toEqual([]);

    // Argument change.
    await rt.loadSources(src(`${PIPE()}pipe "a" { v = 7 }\ntest.sink "k" { input = pipe.a.out }\n`));
    await rt.controller.idle();
    expect(rt.components().find((c) => c.id === 'pipe.a')!.instance).toBe(inst);
    expect(inner.updates).toEqual([{ value: 107 }]);
    expect(probes.get('test.sink.k')!.updates).toEqual([{ input: 107 }]);

    // Body change: same instance again, the inner component is updated, not rebuilt.
    await rt.loadSources(src(`${PIPE(' * 2')}pipe "a" { v = 7 }\ntest.sink "k" { input = pipe.a.out }\n`));
    await rt.controller.idle();
    expect(rt.components().find((c) => c.id === 'pipe.a')!.instance).toBe(inst);
    expect(inner.updates).toEqual([{ value: 107 }, { value: 207 }]);
    expect(probes.get('test.sink.k')!.args).toEqual({ input: 207 });
    await rt.stop();
  });

  it('reports inner health on the instance', async () => {
    const rt = runtime();
    await rt.loadSources(src(`${PIPE()}pipe "a" {\n  v      = -1\n  offset = 0\n}\n`));
    expect(rt.components()[0]!.health).toMatchObject({ state: 'unhealthy', message: 'negative value' });
    await rt.stop();
  });

  it('rejects declares that instantiate themselves', async () => {
    const diags = (await validateConfig(src('declare "a" {\n  b "x" { }\n}\ndeclare "b" {\n  a "y" { }\n}\na "top" { }\n'), { registry }));
    expect(diags.map((d) => `${d.start.line}: ${d.message}`)).toEqual(
      expect.arrayContaining(['1: declare "a" instantiates itself: a -> b -> a', '4: declare "b" instantiates itself: a -> b -> a']),
    );
  });

  it('validates declares and instances statically with positions', async () => {
    const diags = (await validateConfig(
      src(`declare "pipe" {
  argument "v" { }
  test.source "s" { value = argument.nope.value }
  test.source "t" { value = "x" }
  export "out" { value = test.source.s.output }
}
pipe "a" { }
pipe "b" {
  v     = 1
  extra = 2
}
test.sink "k" { input = pipe.a.missing }
export "top" { value = 1 }
`),
      { registry },
    ));
    expect(diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`)).toEqual([
      '3:29: argument "nope" is not declared in this module; declare it with argument "nope" { }',
      '4:29: "value" should be number, got string',
      '7:1: missing required attribute "v"',
      '10:3: unrecognized attribute name "extra"',
      '12:25: component "pipe.a" does not export "missing"; it exports: out',
      '13:1: block "export" is only allowed inside a declare block',
    ]);
  });
});

describe('import.file and import.string', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'imports-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('imports declares from a directory module under a namespace (module_path-relative) and picks up module changes on reload', async () => {
    await fs.mkdir(path.join(dir, 'lib'));
    // Two files of one module: "double" uses "ident" from the other file by its local name.
    await fs.writeFile(path.join(dir, 'lib', 'a.alloy'), 'declare "ident" {\n  argument "v" { }\n  test.source "s" { value = argument.v.value }\n  export "out" { value = test.source.s.output }\n}\n');
    await fs.writeFile(path.join(dir, 'lib', 'b.alloy'), 'declare "double" {\n  argument "v" { }\n  ident "i" { v = argument.v.value * 2 }\n  export "out" { value = ident.i.out }\n}\n');
    const main = path.join(dir, 'main.alloy');
    const text = 'import.file "lib" {\n  filename = file.path_join(module_path, "lib")\n}\nimport.string "inline" {\n  content = "declare \\"three\\" {\\n  export \\"out\\" { value = 3 }\\n}\\n"\n}\nlib.double "d" { v = 21 }\ninline.three "t" { }\ntest.sink "k" { input = lib.double.d.out + inline.three.t.out }\n';
    const rt = runtime();
    const r = await rt.loadSources(new Map([[main, text]]));
    expect(r.message).toBe('');
    expect(probes.get('test.sink.k')!.args).toEqual({ input: 45 });
    const inst = rt.components().find((c) => c.id === 'lib.double.d')!.instance;
    const hash = rt.configHash;

    // Editing the imported module is picked up without an explicit reload (the module is watched).
    await fs.writeFile(path.join(dir, 'lib', 'b.alloy'), 'declare "double" {\n  argument "v" { }\n  ident "i" { v = argument.v.value * 3 }\n  export "out" { value = ident.i.out }\n}\n');
    for (let i = 0; i < 500 && (probes.get('test.sink.k')!.args as { input: number }).input !== 66; i++) await new Promise((r) => setTimeout(r, 20));
    await rt.controller.idle();
    expect(rt.components().find((c) => c.id === 'lib.double.d')!.instance).toBe(inst);
    expect(probes.get('test.sink.k')!.args).toEqual({ input: 66 });
    expect(rt.configHash).not.toBe(hash);
    await rt.stop();
  }, 20_000);

  it('passes root routes through to the outer http service unprefixed (a receiver inside a custom component serves the same path)', async () => {
    const outerRoutes: string[] = [];
    const http: HttpService = {
      listenAddr: '127.0.0.1:12345',
      memoryAddr: 'alloy.internal:12345',
      dialAddress: (a) => a,
      pathFor: (id) => `/api/v0/component/${id}/`,
      mount: () => () => undefined,
      route: (p) => (outerRoutes.push(p), () => undefined),
    } as HttpService;
    const rt = new Runtime({
      configPath: '/unused',
      storagePath: '/tmp/declare-test',
      stabilityLevel: 'generally-available',
      logs: new LogManager({ stream: new PassThrough().resume() }),
      registry: new Registry(),
      services: new Map([['http', http]]),
      components: registry,
      evaluator: syntaxEvaluator(),
      buildInfo: { version: 'v0', revision: '', branch: '' },
    });
    routed.length = 0;
    const r = await rt.loadSources(src('declare "proxy" {\n  test.router "r" { path = "/api/v1/metrics/write" }\n}\nproxy "p" { }\n'));
    expect(r.message).toBe('');
    expect(routed).toEqual([{ path: '/api/v1/metrics/write', id: 'test.router.r' }]);
    expect(outerRoutes).toEqual(['/api/v1/metrics/write']);
    await rt.stop();
  });

  it('reports a missing module file, non-declare content and component references in import arguments', async () => {
    const main = path.join(dir, 'main.alloy');
    const diags = (await validateConfig(
      new Map([[main, `import.file "nope" {\n  filename = "${dir}/missing.alloy"\n}\nimport.string "bad" {\n  content = "test.sink \\"x\\" { input = 1 }"\n}\ntest.source "s" { value = 1 }\nimport.string "dyn" {\n  content = test.source.s.output\n}\n`]]),
      { registry },
    ));
    expect(diags.map((d) => d.message).sort()).toEqual([
      'import.file: reading "' + dir + '/missing.alloy": no such file or directory',
      'a module imported by import.string "bad" may only contain declare blocks',
      'import.string arguments must not reference components in this collector (they are read when the config loads)',
    ].sort());
  });
});
