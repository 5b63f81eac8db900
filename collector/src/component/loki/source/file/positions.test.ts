import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Positions } from './positions.js';

describe('positions file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'loki-pos-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips offsets and inodes, writes only when changed', async () => {
    const f = path.join(dir, 'sub', 'positions.yml');
    const { positions } = await Positions.open(f);
    positions.set('/var/log/a.log', { offset: 42, ino: '1:2' });
    await positions.flush();
    expect(readFileSync(f, 'utf8')).toBe('positions:\n  /var/log/a.log: "42"\ninodes:\n  /var/log/a.log: "1:2"\n');
    writeFileSync(f, 'positions:\n  /var/log/a.log: "42"\ninodes:\n  /var/log/a.log: "1:2"\n# untouched\n');
    positions.set('/var/log/a.log', { offset: 42, ino: '1:2' });
    await positions.flush();
    expect(readFileSync(f, 'utf8')).toContain('# untouched');
    const again = await Positions.open(f);
    expect(again.positions.get('/var/log/a.log')).toStrictEqual({ offset: 42, ino: '1:2' });
  });

  it('reads a promtail positions file and reports a corrupt one', async () => {
    const legacy = path.join(dir, 'promtail.yaml');
    writeFileSync(legacy, 'positions:\n  /var/log/syslog: "1234"\n');
    expect((await Positions.open(legacy)).positions.get('/var/log/syslog')).toStrictEqual({ offset: 1234, ino: '' });
    const bad = path.join(dir, 'bad.yml');
    writeFileSync(bad, 'positions: [unclosed');
    const r = await Positions.open(bad);
    expect(r.warning).toMatch(/is corrupt [^]*reading files from the start/);
    expect(r.positions.paths()).toStrictEqual([]);
  });
});
