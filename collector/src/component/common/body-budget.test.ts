import { deflateSync, gzipSync } from 'node:zlib';
import { compress } from '../../prom/snappy/snappy.js';
import { BodyBudget, BodyError, BodyLease, inflate, snappyDecode } from './body-budget.js';

const MiB = 1024 * 1024;

describe('body budget', () => {
  it('inflates a gzip bomb only up to the limit, then answers 413 and holds nothing', async () => {
    const budget = new BodyBudget(64 * MiB);
    const lease = new BodyLease(budget);
    const honest = gzipSync(Buffer.alloc(95 * MiB)); // ~95 KiB on the wire
    expect(honest.length).toBeLessThan(200 * 1024);
    // An honest trailer is refused without inflating; a lying one (here: zeroed) is inflated only to the limit.
    await expect(inflate(honest, 'gzip', 4 * MiB, lease, 'max_send_message_size')).rejects.toMatchObject({ status: 413, message: expect.stringMatching(/declares 99614720 decompressed bytes/) as unknown });
    expect(budget.peak).toBe(0);
    const bomb = Buffer.from(honest);
    bomb.writeUInt32LE(10, bomb.length - 4);
    const err = await inflate(bomb, 'gzip', 4 * MiB, lease, 'max_send_message_size').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyError);
    expect((err as BodyError).status).toBe(413);
    expect((err as BodyError).message).toMatch(/decompressed body exceeds max_send_message_size \(4194304 bytes\)/);
    // Streaming: stopped within one zlib chunk past the limit.
    expect(budget.peak).toBeLessThanOrEqual(4 * MiB + 64 * 1024);
    lease.release();
    expect(budget.inFlight).toBe(0);
  });

  it('answers 503 with Retry-After once the process-wide budget is spent, and serves again after release', async () => {
    const budget = new BodyBudget(8 * MiB);
    const a = new BodyLease(budget);
    const ok = await inflate(deflateSync(Buffer.alloc(6 * MiB, 1)), 'deflate', 16 * MiB, a, 'limit');
    expect(ok.length).toBe(6 * MiB);
    const b = new BodyLease(budget);
    const err = await inflate(gzipSync(Buffer.alloc(6 * MiB)), 'gzip', 16 * MiB, b, 'limit').catch((e: unknown) => e);
    expect((err as BodyError).status).toBe(503);
    expect((err as BodyError).retryAfter).toBe(1);
    expect((err as BodyError).message).toMatch(/budget 8 MiB/);
    b.release();
    a.release();
    expect(budget.inFlight).toBe(0);
    const c = new BodyLease(budget);
    expect((await inflate(gzipSync(Buffer.alloc(6 * MiB)), 'gzip', 16 * MiB, c, 'limit')).length).toBe(6 * MiB);
    c.release();
  });

  it('checks a snappy preamble against the limit and the budget before allocating', () => {
    const budget = new BodyBudget(8 * MiB);
    const lease = new BodyLease(budget);
    const bomb = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x04, 0x00]); // announces 1 GiB
    expect(() => snappyDecode(bomb, 32 * MiB, lease, 'limit')).toThrow(expect.objectContaining({ status: 413 }));
    expect(() => snappyDecode(compress(Buffer.alloc(9 * MiB)), 32 * MiB, lease, 'limit')).toThrow(expect.objectContaining({ status: 413 }));
    const other = new BodyLease(budget);
    other.take(4 * MiB);
    expect(() => snappyDecode(compress(Buffer.alloc(5 * MiB)), 32 * MiB, lease, 'limit')).toThrow(expect.objectContaining({ status: 503 }));
    other.release();
    expect(() => snappyDecode(Buffer.from([0x05, 0xff]), 32 * MiB, lease, 'limit')).toThrow(expect.objectContaining({ status: 400 }));
    expect(snappyDecode(compress(Buffer.from('hello')), 32 * MiB, lease, 'limit').toString()).toBe('hello');
    lease.release();
    expect(budget.inFlight).toBe(0);
  });

  it('rejects corrupt gzip with 400', async () => {
    const lease = new BodyLease(new BodyBudget(MiB));
    await expect(inflate(Buffer.from('not gzip'), 'gzip', MiB, lease, 'limit')).rejects.toMatchObject({ status: 400 });
  });
});

describe('entry counting', () => {
  it('counts JSON arrays and raw lines as upper bounds of entries', async () => {
    const { countJsonArrays, countLines } = await import('./body-budget.js');
    expect(countJsonArrays(Buffer.from('{"streams":[{"stream":{},"values":[["1","a"],["2","b"]]}]}'))).toBe(4);
    expect(countLines(Buffer.from('a\nb\nc'))).toBe(3);
  });

  it('answers 413 (not 503) for a request that could never fit in the budget', () => {
    const budget = new BodyBudget(MiB);
    const other = new BodyLease(budget);
    other.take(MiB / 2);
    const lease = new BodyLease(budget);
    expect(() => lease.take(MiB / 4 * 3)).toThrow(expect.objectContaining({ status: 503 }));
    expect(() => lease.take(2 * MiB)).toThrow(expect.objectContaining({ status: 413, message: expect.stringMatching(/send smaller batches/) as unknown }));
    other.release();
  });
});
