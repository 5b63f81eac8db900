import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expandExecStart, parseEnvironment, parseEnvironmentFile, parseUnit, serviceValue, splitWords } from './systemd-unit.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('systemd unit runner', () => {
  it('expands ExecStart as systemd does: $VAR splits into words, ${VAR} stays one word, empty vanishes', () => {
    const env = new Map([
      ['CUSTOM_ARGS', '--server.http.listen-addr=0.0.0.0:12345  --stability.level=experimental'],
      ['CONFIG_FILE', '/etc/alloy/config.alloy'],
      ['EMPTY', ''],
      ['SPACED', 'a b'],
    ]);
    expect(expandExecStart('/usr/bin/alloy run $CUSTOM_ARGS --storage.path=/var/lib/alloy/data $CONFIG_FILE', env)).toEqual([
      '/usr/bin/alloy',
      'run',
      '--server.http.listen-addr=0.0.0.0:12345',
      '--stability.level=experimental',
      '--storage.path=/var/lib/alloy/data',
      '/etc/alloy/config.alloy',
    ]);
    expect(expandExecStart('/bin/x $EMPTY $UNSET --f=${SPACED} "q r"', env)).toEqual(['/bin/x', '--f=a b', 'q r']);
    expect(() => expandExecStart('-/bin/x', env)).toThrow(/prefixes/);
  });

  it('parses an EnvironmentFile: comments, quotes, escapes, continuation', () => {
    const env = parseEnvironmentFile('# c\n; c\nA="x y"\nB = \'z\'\nC=plain\nD="a\\"b"\nE=one \\\ntwo\n\nF=\n');
    expect([...env]).toEqual([
      ['A', 'x y'],
      ['B', 'z'],
      ['C', 'plain'],
      ['D', 'a"b'],
      ['E', 'one two'],
      ['F', ''],
    ]);
    expect(() => parseEnvironmentFile('not an assignment\n')).toThrow(/KEY=VALUE/);
  });

  it('splits words and refuses an unterminated quote', () => {
    expect(splitWords(`a "b c" 'd e' f\\ g`)).toEqual(['a', 'b c', 'd e', 'f g']);
    expect(() => splitWords('a "b')).toThrow(/unterminated/);
  });

  it('reads the shipped alloy.service as upstream lays it out', () => {
    const unit = parseUnit(readFileSync(path.join(root, 'packaging/deb/files/alloy.service'), 'utf8'));
    expect(serviceValue(unit, 'User')).toBe('alloy');
    expect(serviceValue(unit, 'EnvironmentFile')).toBe('/etc/default/alloy');
    expect(serviceValue(unit, 'WorkingDirectory')).toBe('/var/lib/alloy');
    expect(serviceValue(unit, 'ExecStart')).toBe('/usr/bin/alloy run $CUSTOM_ARGS --storage.path=/var/lib/alloy/data $CONFIG_FILE');
    expect(serviceValue(unit, 'ExecReload')).toBe('/usr/bin/env kill -HUP $MAINPID');
    expect(serviceValue(unit, 'Restart')).toBe('always');
    expect([...parseEnvironment(unit.service.get('Environment') ?? [], 'h1')]).toEqual([
      ['HOSTNAME', 'h1'],
      ['ALLOY_DEPLOY_MODE', 'deb'],
    ]);
    const defaults = parseEnvironmentFile(readFileSync(path.join(root, 'packaging/deb/files/default'), 'utf8'));
    expect([...defaults]).toEqual([
      ['CONFIG_FILE', '/etc/alloy/config.alloy'],
      ['CUSTOM_ARGS', ''],
      ['RESTART_ON_UPGRADE', 'true'],
    ]);
  });
});
