import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { LogManager } from '../logging/logger.js';
import type { ComponentDefinition } from './component.js';
import { syntaxEvaluator } from './evaluator.js';
import { ComponentRegistry } from './registry.js';
import { readConfigSources, Runtime } from './runtime.js';

const idle: ComponentDefinition<{ n: number }, object> = {
  name: 'test.idle',
  stability: 'generally-available',
  args: z.object({ n: z.number() }),
  exports: [],
  build: () => ({ run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())), update: () => undefined }),
};

describe('Runtime', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rt-'));
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  function runtime(configPath: string, stream = new PassThrough().resume(), evaluator = syntaxEvaluator()): { rt: Runtime; logs: LogManager } {
    const logs = new LogManager({ stream });
    const rt = new Runtime({
      configPath,
      storagePath: path.join(dir, 'data'),
      stabilityLevel: 'generally-available',
      logs,
      registry: new Registry(),
      services: new Map(),
      components: new ComponentRegistry([idle]),
      evaluator,
      buildInfo: { version: 'v0', revision: '', branch: '' },
    });
    return { rt, logs };
  }

  it('applies the logging block on load and leaves logging, hash and components alone when a reload fails', async () => {
    const cfg = path.join(dir, 'config.alloy');
    await fs.writeFile(cfg, 'logging {\n  level  = "debug"\n  format = "json"\n}\ntest.idle "a" { n = 1 }\n');
    const { rt, logs } = runtime(cfg);
    expect((await rt.load()).ok).toBe(true);
    expect(logs.current).toEqual({ level: 'debug', format: 'json' });
    const hash = rt.configHash;
    const instance = rt.components()[0]!.instance;

    await fs.writeFile(cfg, 'logging {\n  level = "error"\n}\ntest.idle "a" { n = "x" }\ntest.idle "b" { n = 2 }\n');
    const bad = await rt.load();
    expect(bad.ok).toBe(false);
    expect(bad.message).toMatch(/config\.alloy:4:/);
    expect(logs.current).toEqual({ level: 'debug', format: 'json' });
    expect(rt.configHash).toBe(hash);
    expect(rt.components().map((c) => c.id)).toEqual(['test.idle.a']);
    expect(rt.components()[0]!.instance).toBe(instance);
    expect(rt.isReady()).toBe(true);
    await rt.stop();
  });

  it('logs load warnings in the format the logging block asks for, from the first line', async () => {
    const cfg = path.join(dir, 'config.alloy');
    // The deprecated "env" function is a load warning.
    await fs.writeFile(cfg, 'logging {\n  format = "json"\n}\nlivedebugging {\n  enabled = true\n}\ntest.idle "a" { n = encoding.from_json(coalesce(env("NO_SUCH_VAR_X"), "1")) }\n');
    const out = new PassThrough();
    const lines: string[] = [];
    out.on('data', (b: Buffer) => lines.push(...b.toString('utf8').split('\n').filter((l) => l !== '')));
    const { rt } = runtime(cfg, out);
    expect((await rt.load()).ok).toBe(true);
    await rt.stop();
    const warning = lines.find((l) => l.includes('config has warnings'));
    expect(warning).toBeDefined();
    expect(JSON.parse(warning!)).toMatchObject({ level: 'warn', msg: 'config has warnings' });
    for (const l of lines) expect(() => JSON.parse(l) as unknown).not.toThrow();
  });

  it('rejects a too-deeply nested config with a diagnostic and keeps the running graph', async () => {
    const cfg = path.join(dir, 'config.alloy');
    await fs.writeFile(cfg, 'test.idle "a" { n = 1 }\n');
    const { rt } = runtime(cfg);
    expect((await rt.load()).ok).toBe(true);
    await fs.writeFile(cfg, 'test.idle "a" {\n  n = ' + '['.repeat(3000) + ']'.repeat(3000) + '\n}\n');
    const bad = await rt.load();
    expect(bad.ok).toBe(false);
    expect(bad.message).toMatch(/config\.alloy:2:\d+: nesting too deep \(max \d+ /);
    expect(rt.components().map((c) => c.id)).toEqual(['test.idle.a']);
    await rt.stop();
  });

  it('turns an unexpected exception while loading into a failed load naming it; the running graph stays', async () => {
    const cfg = path.join(dir, 'config.alloy');
    await fs.writeFile(cfg, 'test.idle "a" { n = 1 }\n');
    let explode = false;
    const base = syntaxEvaluator();
    const evaluator = {
      ...base,
      collectReferences: (body: Parameters<typeof base.collectReferences>[0]) => {
        if (explode) throw new RangeError('Maximum call stack size exceeded');
        return base.collectReferences(body);
      },
    };
    const { rt } = runtime(cfg, undefined, evaluator);
    expect((await rt.load()).ok).toBe(true);
    const instance = rt.components()[0]!.instance;
    explode = true;
    await fs.writeFile(cfg, 'test.idle "a" { n = 2 }\n');
    const bad = await rt.reload();
    expect(bad.ok).toBe(false);
    expect(bad.message).toContain('internal error while loading the configuration (the running configuration is unchanged): Maximum call stack size exceeded');
    expect(rt.components()[0]!.instance).toBe(instance);
    await rt.stop();
  });

  it('loads every *.alloy directly in a directory (following symlinks) as one config', async () => {
    await fs.writeFile(path.join(dir, 'a.alloy'), 'test.idle "a" { n = 1 }\n');
    await fs.mkdir(path.join(dir, 'nested'));
    await fs.writeFile(path.join(dir, 'nested', 'x.alloy'), 'test.idle "ignored" { n = 1 }\n');
    await fs.writeFile(path.join(dir, 'real-b.txt'), 'test.idle "b" { n = 2 }\n');
    await fs.symlink('real-b.txt', path.join(dir, 'b.alloy'));
    expect([...(await readConfigSources(dir)).keys()].map((p) => path.basename(p))).toEqual(['a.alloy', 'b.alloy']);
    const { rt } = runtime(dir);
    expect((await rt.load()).ok).toBe(true);
    expect(rt.components().map((c) => c.id)).toEqual(['test.idle.a', 'test.idle.b']);
    await rt.stop();
  });

  it('a reload of unchanged text keeps every instance yet reads sys.env again, and an edit in a large file applies', async () => {
    const cfg = path.join(dir, 'config.alloy');
    const envName = `ALLOY_TS_RUNTIME_TEST_${process.pid}`;
    const blocks = Array.from({ length: 200 }, (_, i) => `test.idle "c${i}" { n = ${i} }\n`);
    const text = `test.idle "env" { n = encoding.from_json(sys.env("${envName}")) }\n${blocks.join('')}`;
    await fs.writeFile(cfg, text);
    process.env[envName] = '1';
    try {
      const { rt } = runtime(cfg);
      expect((await rt.load()).ok).toBe(true);
      const before = new Map(rt.components().map((c) => [c.id, c.instance]));
      process.env[envName] = '2';
      expect((await rt.load()).ok).toBe(true);
      expect(rt.controller.component('test.idle.env')!.arguments).toStrictEqual({ n: 2 });
      await fs.writeFile(cfg, text.replace('test.idle "c100" { n = 100 }', 'test.idle "c100" { n = 999 }'));
      expect((await rt.load()).ok).toBe(true);
      expect(rt.controller.component('test.idle.c100')!.arguments).toStrictEqual({ n: 999 });
      expect(rt.controller.component('test.idle.c101')!.arguments).toStrictEqual({ n: 101 });
      for (const c of rt.components()) expect(c.instance).toBe(before.get(c.id));
      await rt.stop();
    } finally {
      delete process.env[envName];
    }
  });

  it('reports a missing path and an empty directory clearly', async () => {
    await expect(readConfigSources(path.join(dir, 'nope.alloy'))).rejects.toThrow('no such file or directory');
    await fs.mkdir(path.join(dir, 'empty'));
    await expect(readConfigSources(path.join(dir, 'empty'))).rejects.toThrow('contains no *.alloy files');
    const { rt } = runtime(path.join(dir, 'nope.alloy'));
    const r = await rt.load();
    expect(r.ok).toBe(false);
    expect(r.message).toContain('nope.alloy');
    await rt.stop();
  });
});

describe('Runtime: logging { write_to }', () => {
  interface Received {
    labels: ReadonlyArray<{ name: string; value: string }>;
    line: string;
  }
  const received = new Map<string, Received[]>();
  const logSink: ComponentDefinition<object, { receiver: { append(entries: readonly Received[]): Promise<void> } }> = {
    name: 'test.logsink',
    stability: 'generally-available',
    args: z.object({}),
    exports: ['receiver'],
    build(opts) {
      const got: Received[] = [];
      received.set(opts.id, got);
      opts.onStateChange({ receiver: { append: async (entries) => void got.push(...entries) } });
      return { run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r())), update: () => undefined };
    },
  };

  it('sends every log line, as written, to the receivers labelled component="alloy"; a reload without write_to stops it', async () => {
    const logs = new LogManager({ stream: new PassThrough().resume() });
    const rt = new Runtime({
      configPath: '/unused',
      storagePath: '/unused',
      stabilityLevel: 'generally-available',
      logs,
      registry: new Registry(),
      services: new Map(),
      components: new ComponentRegistry([logSink]),
      evaluator: syntaxEvaluator(),
      buildInfo: { version: 'v0', revision: '', branch: '' },
    });
    const cfg = (writeTo: string): Map<string, string> =>
      new Map([['main.alloy', `logging {\n  format   = "json"\n  ${writeTo}\n}\ntest.logsink "a" { }\ntest.logsink "b" { }\n`]]);
    expect((await rt.loadSources(cfg('write_to = [test.logsink.a.receiver, test.logsink.b.receiver]'))).message).toBe('');
    logs.root.warn('hello from the collector', { k: 'v' });
    for (const id of ['test.logsink.a', 'test.logsink.b']) {
      const mine = received.get(id)!.filter((e) => e.line.includes('hello from the collector'));
      expect(mine).toHaveLength(1);
      expect(mine[0]!.labels).toEqual([{ name: 'component', value: 'alloy' }]);
      expect(JSON.parse(mine[0]!.line)).toMatchObject({ level: 'warn', msg: 'hello from the collector', k: 'v' });
    }
    expect((await rt.loadSources(cfg(''))).message).toBe('');
    logs.root.warn('not forwarded');
    expect([...received.values()].flat().some((e) => e.line.includes('not forwarded'))).toBe(false);
    await rt.stop();
  });

  it('validation: a write_to naming a missing component is reported where it is written', async () => {
    const { validateConfig } = await import('./validate.js');
    const diags = (await validateConfig(new Map([['main.alloy', 'logging {\n  write_to = [loki.write.nope.receiver]\n}\n']]), { registry: new ComponentRegistry([logSink]) }));
    expect(diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`)).toEqual(['2:15: component "loki.write.nope.receiver" does not exist or is out of scope']);
  });
});
