import { PassThrough } from 'node:stream';
import { LogManager, loggingArgs, logfmtValue } from './logger.js';

function capture(): { stream: PassThrough; lines: () => string[] } {
  const stream = new PassThrough();
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('LogManager', () => {
  it('writes logfmt with component_path/component_id on component loggers', async () => {
    const { stream, lines } = capture();
    const lm = new LogManager({ stream });
    lm.component('prometheus.scrape.default').info('scrape failed', { target: 'http://x y', err: new Error('boom') });
    await tick();
    expect(lines()[0]).toMatch(
      /^ts=\S+ level=info msg="scrape failed" component_path=\/ component_id=prometheus.scrape.default target="http:\/\/x y" err=boom$/,
    );
  });

  it('reconfigures level and format for loggers created before the change', async () => {
    const { stream, lines } = capture();
    const lm = new LogManager({ stream });
    const child = lm.component('a.b');
    child.debug('hidden');
    lm.configure({ level: 'debug', format: 'json' });
    child.debug('shown', { n: 1 });
    lm.configure({ level: 'error', format: 'json' });
    child.warn('hidden too');
    await tick();
    expect(lines()).toHaveLength(1);
    expect(JSON.parse(lines()[0]!)).toEqual({ ts: expect.any(String), level: 'debug', msg: 'shown', component_path: '/', component_id: 'a.b', n: 1 });
  });

  it('validates the logging block with a message naming the allowed values', () => {
    expect(loggingArgs.parse({})).toEqual({ level: 'info', format: 'logfmt' });
    const r = loggingArgs.safeParse({ level: 'verbose' });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('debug');
  });

  it('quotes logfmt values only when needed', () => {
    expect(logfmtValue('plain')).toBe('plain');
    expect(logfmtValue('')).toBe('""');
    expect(logfmtValue('a="b"')).toBe('"a=\\"b\\""');
  });
});
