import { parseDuration, parseFlags, UsageError, type FlagSpec } from './flags.js';

const specs: FlagSpec[] = [
  { name: 'server.http.listen-addr', kind: 'string', default: '127.0.0.1:12345', help: '' },
  { name: 'cluster.enabled', kind: 'bool', default: false, help: '' },
  { name: 'cluster.rejoin-interval', kind: 'duration', default: 60_000, help: '' },
  { name: 'cluster.max-join-peers', kind: 'int', default: 5, help: '' },
  { name: 'volume-dir', kind: 'stringList', default: [], help: '', repeatable: true },
];

describe('parseFlags', () => {
  it('accepts --flag=value and --flag value, bools bare or explicit, and keeps defaults', () => {
    const r = parseFlags(['run', '--server.http.listen-addr', '0.0.0.0:1', '--cluster.enabled', 'cfg.alloy', '--cluster.rejoin-interval=1m30s'], specs);
    expect(r.positionals).toEqual(['run', 'cfg.alloy']);
    expect(r.values.get('server.http.listen-addr')).toBe('0.0.0.0:1');
    expect(r.values.get('cluster.enabled')).toBe(true);
    expect(r.values.get('cluster.rejoin-interval')).toBe(90_000);
    expect(r.values.get('cluster.max-join-peers')).toBe(5);
    expect(parseFlags(['--cluster.enabled=false'], specs).values.get('cluster.enabled')).toBe(false);
  });

  it('collects repeatable flags', () => {
    expect(parseFlags(['--volume-dir=/a', '--volume-dir', '/b'], specs).values.get('volume-dir')).toEqual(['/a', '/b']);
  });

  it.each([
    [['--nope=1'], 'unknown flag: --nope'],
    [['--cluster.max-join-peers=x'], 'invalid value "x" for flag --cluster.max-join-peers: expected an integer'],
    [['--cluster.rejoin-interval=soon'], 'invalid duration "soon"'],
    [['--server.http.listen-addr'], 'flag --server.http.listen-addr needs a value'],
  ])('%j → %s', (args, msg) => {
    expect(() => parseFlags(args, specs)).toThrow(UsageError);
    expect(() => parseFlags(args, specs)).toThrow(msg);
  });

  it('parses Go durations', () => {
    expect(parseDuration('1h2m3s')).toBe(3_723_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(() => parseDuration('5')).toThrow('Go duration syntax');
  });
});
