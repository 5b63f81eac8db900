import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeLabels, WriteRequestEncoder } from '../../../prom/remotewrite/proto.js';
import { compress } from '../../../prom/snappy/snappy.js';
import { DecodePool } from './decode-pool.js';
import { parseDecodeWorkers } from './decode-workers.js';

function body(n: number): Buffer {
  const enc = new WriteRequestEncoder();
  for (let i = 0; i < n; i++) enc.addSample(encodeLabels([{ name: '__name__', value: 'm' }, { name: 'i', value: String(i) }]), 1000 + i, i);
  return compress(enc.finish());
}

// The pool with real decode workers runs from the compiled build: e2e/metrics/receive-workers.e2e.ts.
describe('DecodePool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'decode-pool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('with no workers decodes on the calling thread, admitting the series before building them', async () => {
    const pool = new DecodePool({ workers: 0, maxDecodedBytes: 1 << 20, limitName: 'the limit' });
    expect(pool.workers).toBe(0);
    const admitted: number[] = [];
    const out = await pool.decode(body(3), {}, (n) => admitted.push(n));
    expect(admitted).toEqual([3]);
    expect('request' in out && [...out.request.values]).toEqual([0, 1, 2]);
    await expect(pool.decode(body(3), {}, () => { throw new Error('budget spent'); })).rejects.toThrow('budget spent');
    expect(await pool.decode(compress(Buffer.alloc(2 << 20)), {}, () => undefined)).toEqual({ error: { status: 413, message: expect.stringContaining('the limit') } });
  });

  it('uses the calling thread when the worker script does not exist', () => {
    const pool = new DecodePool({ workers: 2, maxDecodedBytes: 1 << 20, limitName: 'l', workerUrl: pathToFileURL(path.join(dir, 'missing.js')) });
    expect(pool.workers).toBe(0);
  });

  it('rejects what a dying worker held, and after 3 deaths decodes on the calling thread', async () => {
    const script = path.join(dir, 'dies.mjs');
    writeFileSync(script, "throw new Error('cannot start');\n");
    const pool = new DecodePool({ workers: 1, maxDecodedBytes: 1 << 20, limitName: 'l', workerUrl: pathToFileURL(script) });
    expect(pool.workers).toBe(1);
    for (let i = 0; i < 3; i++) await expect(pool.decode(body(2), {}, () => undefined)).rejects.toThrow(/the decode worker stopped \(cannot start\)/);
    expect(pool.workers).toBe(0);
    const out = await pool.decode(body(2), {}, () => undefined);
    expect('request' in out && out.request.length).toBe(2);
    await pool.close();
  }, 30_000);

  it('parses the flag: auto or a whole number, naming the flag otherwise', () => {
    expect(parseDecodeWorkers('0')).toBe(0);
    expect(parseDecodeWorkers('3')).toBe(3);
    expect(parseDecodeWorkers('auto')).toBeGreaterThanOrEqual(0);
    expect(() => parseDecodeWorkers('two')).toThrow('--prometheus.receive-http.decode-workers: expected auto or a whole number from 0 to 64');
    expect(() => parseDecodeWorkers('65')).toThrow(/from 0 to 64/);
  });
});
