import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { waitFor } from '../harness/wait.js';
import { LogWriter, readLog } from './container-logs.js';

async function text(s: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const c of s) out += String(c);
  return out;
}

describe('container logs (CRI format)', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes CRI lines per stream, partial lines tagged P on close, and reads them back as kubectl logs does', async () => {
    const file = path.join(dir, 'c', '0.log');
    const w = new LogWriter(file);
    const out = new PassThrough();
    const err = new PassThrough();
    w.attach(out, 'stdout');
    w.attach(err, 'stderr');
    out.write('one\ntw');
    err.write('oops\n');
    out.write('o\nthree');
    await new Promise((r) => setImmediate(r));
    w.close();
    const raw = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(raw.map((l) => l.replace(/^\S+ /, ''))).toEqual(['stdout F one', 'stderr F oops', 'stdout F two', 'stdout P three']);
    expect(raw[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /);

    const done = { follow: false, finished: () => true };
    expect(await text(readLog(file, done))).toBe('one\noops\ntwo\n');
    expect(await text(readLog(file, { ...done, tailLines: 2 }))).toBe('oops\ntwo\n');
    expect(await text(readLog(file, { ...done, limitBytes: 6 }))).toBe('one\noo');
    expect((await text(readLog(file, { ...done, timestamps: true }))).split('\n')[0]).toMatch(/^\S+Z one$/);
  });

  it('--since drops older lines; -f follows until the instance finishes', async () => {
    const file = path.join(dir, 'x.log');
    fs.writeFileSync(file, `2020-01-01T00:00:00.000000000Z stdout F ancient\n${new Date().toISOString().replace('Z', '000000Z')} stdout F recent\n`);
    expect(await text(readLog(file, { follow: false, finished: () => true, sinceSeconds: 60 }))).toBe('recent\n');

    let finished = false;
    const stream = readLog(file, { follow: true, finished: () => finished, pollMs: 10 });
    let got = '';
    stream.on('data', (c: Buffer) => (got += c.toString()));
    const ended = new Promise((r) => stream.once('end', r));
    fs.appendFileSync(file, `${new Date().toISOString().replace('Z', '000000Z')} stdout F later\n`);
    await waitFor(() => got.includes('later\n'), { timeoutMs: 5_000, what: 'the line appended while following' });
    finished = true;
    await ended;
    expect(got).toBe('ancient\nrecent\nlater\n');
  });

  it('sinceTime keeps lines from that second on (second precision, as the API server)', async () => {
    const file = path.join(dir, 'y.log');
    fs.writeFileSync(file, '2024-01-01T00:00:04.900000000Z stdout F before\n2024-01-01T00:00:05.100000000Z stdout F same-second\n2024-01-01T00:00:06.000000000Z stdout F after\n');
    expect(await text(readLog(file, { follow: false, finished: () => true, sinceTime: '2024-01-01T00:00:05.500Z' }))).toBe('same-second\nafter\n');
  });
});
