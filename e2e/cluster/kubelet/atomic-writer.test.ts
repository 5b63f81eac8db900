import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeAtomic, validatePayloadPath, type FileProjection } from './atomic-writer.js';
import { volumePayload, VolumeError } from './volumes.js';
import type { ConfigMap, Pod } from '../harness/k8s-types.js';

const file = (s: string, mode = 0o644): FileProjection => ({ data: Buffer.from(s), mode });

describe('writeAtomic (kubelet AtomicWriter layout)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aw-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('GIVEN a payload WHEN written THEN a timestamped dir, ..data symlink and per-key symlinks exist', async () => {
    expect(await writeAtomic(dir, new Map([['config.alloy', file('a')], ['sub/x.txt', file('x', 0o600)]]), new Date(Date.UTC(2026, 10, 25, 8, 0, 0)))).toBe(true);
    const ts = fs.readlinkSync(path.join(dir, '..data'));
    expect(ts).toMatch(/^\.\.2026_11_25_08_00_00\.\d+$/);
    expect(fs.readlinkSync(path.join(dir, 'config.alloy'))).toBe('..data/config.alloy');
    expect(fs.readlinkSync(path.join(dir, 'sub'))).toBe('..data/sub');
    expect(fs.readFileSync(path.join(dir, 'sub/x.txt'), 'utf8')).toBe('x');
    expect(fs.statSync(path.join(dir, ts, 'sub/x.txt')).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir).sort()).toEqual([ts, '..data', 'config.alloy', 'sub'].sort());
  });

  it('GIVEN unchanged content WHEN rewritten THEN nothing changes; changed content swaps ..data and drops removed keys and the old dir', async () => {
    await writeAtomic(dir, new Map([['a', file('1')], ['b', file('2')]]));
    const first = fs.readlinkSync(path.join(dir, '..data'));
    expect(await writeAtomic(dir, new Map([['a', file('1')], ['b', file('2')]]))).toBe(false);
    expect(fs.readlinkSync(path.join(dir, '..data'))).toBe(first);
    expect(await writeAtomic(dir, new Map([['a', file('3')]]))).toBe(true);
    const second = fs.readlinkSync(path.join(dir, '..data'));
    expect(second).not.toBe(first);
    expect(fs.readdirSync(dir).sort()).toEqual([second, '..data', 'a'].sort());
    expect(fs.readFileSync(path.join(dir, 'a'), 'utf8')).toBe('3');
  });

  it('rejects paths the real writer rejects', () => {
    expect(() => validatePayloadPath('/abs')).toThrow(/relative/);
    expect(() => validatePayloadPath('a/../b')).toThrow(/'\.\.'/);
    expect(() => validatePayloadPath('..data')).toThrow(/start with/);
  });
});

describe('volumePayload (ConfigMap projection)', () => {
  const pod: Pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [] } };
  const cm: ConfigMap = { metadata: { name: 'cfg', namespace: 'ns' }, data: { a: 'A', b: 'B' } };
  const ctx = (found: ConfigMap | undefined) => ({ pod, podIP: '127.0.1.1', hostIP: '127.0.0.1', podDir: '/x', stateDir: '/y', sources: { configMap: () => found, secret: () => undefined } });

  it('applies items (key → path, per-item mode) and defaultMode', () => {
    const out = volumePayload({ name: 'v', configMap: { name: 'cfg', defaultMode: 0o440, items: [{ key: 'a', path: 'dir/a.txt' }, { key: 'b', path: 'b', mode: 0o400 }] } }, ctx(cm))!;
    expect([...out.entries()].map(([k, v]) => [k, v.data.toString(), v.mode])).toEqual([['dir/a.txt', 'A', 0o440], ['b', 'B', 0o400]]);
  });

  it('fails a missing ConfigMap or key unless optional', () => {
    expect(() => volumePayload({ name: 'v', configMap: { name: 'cfg' } }, ctx(undefined))).toThrow(VolumeError);
    expect(volumePayload({ name: 'v', configMap: { name: 'cfg', optional: true } }, ctx(undefined))!.size).toBe(0);
    expect(() => volumePayload({ name: 'v', configMap: { name: 'cfg', items: [{ key: 'zz', path: 'zz' }] } }, ctx(cm))).toThrow(/key "zz" not found/);
  });
});
