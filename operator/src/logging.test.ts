import { PassThrough } from 'node:stream';
import { createLogger } from './logging.js';

function capture(level: string): { logger: ReturnType<typeof createLogger>; lines: () => string[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  return { logger: createLogger(level, 'logfmt', out), lines: () => text.split('\n').filter((l) => l !== '') };
}

describe('createLogger', () => {
  it('writes messages at and above the level and drops the others', async () => {
    const { logger, lines } = capture('warn');
    logger.info('applied', { object: 'x' });
    logger.debug('detail');
    logger.warn('reconcile failed; retrying', { collector: 'ns/a' });
    logger.error('boom');
    await new Promise((r) => setImmediate(r));
    expect(lines()).toHaveLength(2);
    expect(lines()[0]).toMatch(/level=warn msg="reconcile failed; retrying" component=alloy-operator collector=ns\/a$/);
    expect(lines()[1]).toMatch(/level=error msg=boom/);
  });

  it('keeps every level at debug, and a dropped call still returns the logger', async () => {
    const { logger, lines } = capture('debug');
    logger.debug('detail');
    logger.info('applied');
    await new Promise((r) => setImmediate(r));
    expect(lines().map((l) => /level=(\w+)/.exec(l)?.[1])).toEqual(['debug', 'info']);
    expect(capture('error').logger.info('x')).toBeDefined();
  });

  it('refuses an unknown level, naming the flag', () => {
    expect(() => createLogger('trace', 'logfmt')).toThrow(/--log-level must be error, warn, info or debug/);
  });
});
