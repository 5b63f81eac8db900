import { parseFlags } from '../cli-kit/flags.js';
import { RELOADER_FLAGS } from './command.js';

describe('config-reloader flags', () => {
  it('accepts the upstream reloaders\' flag names as aliases', () => {
    const { values } = parseFlags(
      ['--watched-dir=/etc/alloy', '--reload-url=http://localhost:12345/-/reload', '--listen-address=:8080', '--watch-interval=10s', '--webhook-retries=3'],
      RELOADER_FLAGS,
    );
    expect(values.get('volume-dir')).toEqual(['/etc/alloy']);
    expect(values.get('webhook-url')).toBe('http://localhost:12345/-/reload');
    expect(values.get('web.listen-address')).toBe(':8080');
    expect(values.get('poll-interval')).toBe(10_000);
  });

  it('has the documented defaults', () => {
    const { values } = parseFlags(['--volume-dir', '/a', '--volume-dir=/b'], RELOADER_FLAGS);
    expect(values.get('volume-dir')).toEqual(['/a', '/b']);
    expect(values.get('webhook-url')).toBe('http://localhost:12345/-/reload');
    expect(values.get('web.listen-address')).toBe(':9533');
    expect(values.get('poll-interval')).toBe(30_000);
    expect(values.get('debounce')).toBe(1_000);
  });
});
