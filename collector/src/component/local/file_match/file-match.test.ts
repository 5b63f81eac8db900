import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../runtime/component.js';
import { argumentsSchema, component, matchTargets, type Exports } from './file-match.js';

const log = winston.createLogger({ silent: true });

describe('local.file_match', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'file-match-'));
    for (const f of ['a.log', 'b.txt', 'sub/c.log', 'sub/deep/d.log', 'sub/deep/skip.log']) {
      mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      writeFileSync(path.join(dir, f), 'x\n');
    }
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('expands ** globs, keeps the other labels and applies __path_exclude__', async () => {
    const got = await matchTargets([{ __path__: `${dir}/**/*.log`, __path_exclude__: `${dir}/**/skip.log`, job: 'x' }], 0);
    expect(got).toStrictEqual(
      ['a.log', 'sub/c.log', 'sub/deep/d.log'].map((f) => ({ __path__: path.join(dir, f), __path_exclude__: `${dir}/**/skip.log`, job: 'x' })),
    );
  });

  it('ignore_older_than drops files not modified recently', async () => {
    const old = (Date.now() - 3_600_000) / 1000;
    utimesSync(path.join(dir, 'a.log'), old, old);
    const got = await matchTargets([{ __path__: `${dir}/*.log` }], 60_000);
    expect(got).toStrictEqual([]);
    const all = await matchTargets([{ __path__: `${dir}/*.log` }], 0);
    expect(all.map((t) => t['__path__'])).toStrictEqual([path.join(dir, 'a.log')]);
  });

  it('exports on build, re-syncs every sync_period and on update', async () => {
    const exports: Exports[] = [];
    const opts: ComponentOptions<Exports> = {
      id: 'local.file_match.t',
      logger: log,
      registry: new Registry(),
      dataPath: dir,
      onStateChange: (e) => exports.push(e),
      setHealth: () => undefined,
      getService: () => {
        throw new Error('none');
      },
    };
    const c = await component.build(opts, argumentsSchema.parse({ path_targets: [{ __path__: `${dir}/*.txt` }], sync_period: '20ms' }));
    expect(exports.at(-1)!.targets).toStrictEqual([{ __path__: path.join(dir, 'b.txt') }]);
    const ac = new AbortController();
    const done = c.run(ac.signal);
    writeFileSync(path.join(dir, 'e.txt'), 'y');
    const until = async (n: number): Promise<void> => {
      const end = Date.now() + 5000;
      while (exports.at(-1)!.targets.length !== n && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
      expect(exports.at(-1)!.targets).toHaveLength(n);
    };
    await until(2);
    await c.update(argumentsSchema.parse({ path_targets: [{ __path__: `${dir}/**/*.log` }], sync_period: '1h' }));
    await until(4);
    ac.abort();
    await done;
  });

  it('rejects a target without __path__ and a zero sync_period', () => {
    const r = argumentsSchema.safeParse({ path_targets: [{ job: 'x' }], sync_period: '0s' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.message).join('\n')).toMatch(/sync_period must be greater than 0[\s\S]*no __path__ label/);
  });
});
