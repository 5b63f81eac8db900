import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions, HealthState } from '../../../runtime/component.js';
import { Secret } from '../../../syntax/vm/value.js';
import { argumentsSchema, component, type Exports } from './file.js';

const log = winston.createLogger({ silent: true });

async function eventually(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('local.file', () => {
  let dir: string;
  let file: string;
  const stops: (() => Promise<void>)[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'local-file-'));
    file = path.join(dir, 'token');
    writeFileSync(file, 'one');
  });
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(args: Record<string, unknown>) {
    const exports: Exports[] = [];
    const health: { state: HealthState; message: string }[] = [];
    const opts: ComponentOptions<Exports> = {
      id: 'local.file.t',
      logger: log,
      registry: new Registry(),
      dataPath: dir,
      onStateChange: (e) => exports.push(e),
      setHealth: (state, message) => health.push({ state, message }),
      getService: () => {
        throw new Error('none');
      },
    };
    const c = await component.build(opts, argumentsSchema.parse({ filename: file, ...args }));
    const ac = new AbortController();
    const done = c.run(ac.signal);
    stops.push(async () => {
      ac.abort();
      await done;
    });
    const content = (): string | Secret | undefined => exports.at(-1)?.content;
    return { c, exports, health, content };
  }

  it('fsnotify: follows writes and atomic renames without waiting for poll_frequency', async () => {
    const { content } = await start({ poll_frequency: '1h' });
    expect(content()).toBe('one');
    writeFileSync(file, 'two');
    await eventually(() => content() === 'two', 'in-place write');
    writeFileSync(path.join(dir, 'tmp'), 'three');
    renameSync(path.join(dir, 'tmp'), file);
    await eventually(() => content() === 'three', 'atomic rename');
  });

  it('poll: re-reads every poll_frequency', async () => {
    const { content } = await start({ detector: 'poll', poll_frequency: '10ms' });
    writeFileSync(file, 'two');
    await eventually(() => content() === 'two', 'polled change');
  });

  it('is_secret exports a Secret', async () => {
    const { content } = await start({ is_secret: true });
    const v = content();
    expect(v).toBeInstanceOf(Secret);
    expect((v as Secret).reveal()).toBe('one');
  });

  it('an unreadable file makes it unhealthy and keeps the last content; recovery makes it healthy', async () => {
    const { content, health } = await start({ detector: 'poll', poll_frequency: '10ms' });
    rmSync(file);
    await eventually(() => health.at(-1)?.state === 'unhealthy', 'unhealthy');
    expect(health.at(-1)!.message).toMatch(/reading .*token failed \(keeping its last content\): ENOENT/);
    expect(content()).toBe('one');
    writeFileSync(file, 'back');
    await eventually(() => content() === 'back' && health.at(-1)?.state === 'healthy', 'recovery');
  });

  it('fails to build when the file cannot be read', async () => {
    await expect(start({ filename: path.join(dir, 'missing') })).rejects.toThrow(/reading .*missing failed: ENOENT/);
  });

  it('an update to an unreadable filename is rejected', async () => {
    const { c, content } = await start({});
    await expect((async () => c.update(argumentsSchema.parse({ filename: path.join(dir, 'nope') })))()).rejects.toThrow(/ENOENT/);
    expect(content()).toBe('one');
  });
});
