import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { LogManager } from '../logging/logger.js';
import type { ComponentDefinition, Stability } from './component.js';
import { syntaxEvaluator } from './evaluator.js';
import { itemKey } from './foreach.js';
import { ComponentRegistry } from './registry.js';
import { Runtime } from './runtime.js';
import { validateConfig } from './validate.js';

interface Sink {
  input: number;
  updates: number;
  stopped: boolean;
}
/** By data path: every foreach item has its own. */
const sinks = new Map<string, Sink>();

const source: ComponentDefinition<{ value: number }, { output: number }> = {
  name: 'test.source',
  stability: 'generally-available',
  args: z.object({ value: z.number() }),
  exports: ['output'],
  build(opts, args) {
    opts.onStateChange({ output: args.value });
    return {
      run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())),
      update: (a) => opts.onStateChange({ output: a.value }),
    };
  },
};

const sink: ComponentDefinition<{ input: number }, object> = {
  name: 'test.sink',
  stability: 'generally-available',
  args: z.object({ input: z.number() }),
  exports: [],
  build(opts, args) {
    const s: Sink = { input: args.input, updates: 0, stopped: false };
    sinks.set(opts.dataPath, s);
    return {
      run: (sig) =>
        new Promise<void>((r) =>
          sig.addEventListener('abort', () => {
            s.stopped = true;
            r();
          }),
        ),
      update(a) {
        s.input = a.input;
        s.updates++;
      },
    };
  },
};

const registry = new ComponentRegistry([source, sink]);

function runtime(level: Stability = 'experimental'): Runtime {
  return new Runtime({
    configPath: '/unused',
    storagePath: '/data',
    stabilityLevel: level,
    logs: new LogManager({ stream: new PassThrough().resume() }),
    registry: new Registry(),
    services: new Map(),
    components: registry,
    evaluator: syntaxEvaluator(),
    buildInfo: { version: 'v0', revision: '', branch: '' },
  });
}

const config = (items: string, base = 10): Map<string, string> =>
  new Map([
    [
      'main.alloy',
      `test.source "s" { value = ${base} }
foreach "f" {
  collection = [${items}]
  var        = "each"
  template {
    test.source "local" { value = 1 }
    test.sink "k" { input = each + test.source.s.output + test.source.local.output }
  }
}
`,
    ],
  ]);

beforeEach(() => sinks.clear());

describe('foreach', () => {
  it('runs the template per item with the item and outside exports in scope; reloads keep unchanged items', async () => {
    const rt = runtime();
    expect((await rt.loadSources(config('1, 2, 3'))).message).toBe('');
    const inputs = (): Record<string, number> => Object.fromEntries([...sinks].filter(([, s]) => !s.stopped).map(([p, s]) => [p, s.input]));
    expect(inputs()).toEqual({
      '/data/foreach.f/1/test.sink.k': 12,
      '/data/foreach.f/2/test.sink.k': 13,
      '/data/foreach.f/3/test.sink.k': 14,
    });
    const two = sinks.get('/data/foreach.f/2/test.sink.k')!;

    await rt.loadSources(config('2, 3, 4'));
    expect(sinks.get('/data/foreach.f/1/test.sink.k')!.stopped).toBe(true);
    expect(sinks.get('/data/foreach.f/2/test.sink.k')).toBe(two);
    expect(two.updates).toBe(0);
    expect(inputs()).toEqual({
      '/data/foreach.f/2/test.sink.k': 13,
      '/data/foreach.f/3/test.sink.k': 14,
      '/data/foreach.f/4/test.sink.k': 15,
    });

    // An outside export change reaches every item.
    await rt.loadSources(config('2, 3, 4', 20));
    await rt.controller.idle();
    await rt.controller.idle();
    expect(two.updates).toBe(1);
    expect(inputs()['/data/foreach.f/4/test.sink.k']).toBe(25);
    const f = rt.components().find((c) => c.id === 'foreach.f')!;
    expect(f.health.state).toBe('healthy');
    expect((f.debugInfo as { items: Array<{ key: string }> }).items.map((i) => i.key)).toEqual(['2', '3', '4']);
    await rt.stop();
  });

  it('is experimental: rejected at the default stability level with the flag named', async () => {
    const diags = (await validateConfig(config('1'), { registry }));
    expect(diags.map((d) => `${d.start.line}: ${d.message}`)).toEqual([
      '2: foreach block "f" is at stability level "experimental", which is below the minimum allowed stability level "generally-available". Use --stability.level command-line flag to enable "experimental" features',
    ]);
  });

  it('checks templates statically: var, outside components and template-local components resolve; others do not', async () => {
    const src = new Map([
      [
        'main.alloy',
        `foreach "f" {
  collection = [1]
  var        = "each"
  template {
    test.sink "k" { input = each + nope.thing.x }
  }
}
foreach "g" {
  collection = [1]
  var        = some_var
  template { }
}
`,
      ],
    ]);
    const diags = (await validateConfig(src, { registry, stabilityLevel: 'experimental' }));
    expect(diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`)).toEqual([
      '5:36: component "nope.thing.x" does not exist or is out of scope',
      '10:3: foreach: var must be a string literal naming the item variable, e.g. var = "each"',
    ]);
  });

  it('nested foreach: the inner template sees the outer variable and its own; validation agrees', async () => {
    const src = new Map([
      [
        'main.alloy',
        `foreach "outer" {
  collection = [[1, 2], [3]]
  var        = "group"
  template {
    foreach "inner" {
      collection = group
      var        = "item"
      template {
        test.sink "k" { input = item * 100 + group[0] }
      }
    }
  }
}
`,
      ],
    ]);
    expect((await validateConfig(src, { registry, stabilityLevel: 'experimental' }))).toEqual([]);
    const rt = runtime();
    expect((await rt.loadSources(src)).message).toBe('');
    const inputs = Object.fromEntries([...sinks].map(([p, s]) => [p, s.input]));
    expect(Object.values(inputs).sort((a, b) => a - b)).toEqual([101, 201, 303]);
    await rt.stop();
  });

  it('derives safe item keys', () => {
    expect(itemKey('web', '', false)).toBe('web');
    expect(itemKey({ name: 'app-1', ns: 'prod' }, 'name', false)).toBe('app-1');
    expect(itemKey('../etc', '', false)).toMatch(/^[0-9a-f]{16}$/);
    expect(itemKey('web', '', true)).toMatch(/^[0-9a-f]{16}$/);
  });
});
