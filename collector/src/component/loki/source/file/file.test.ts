import { getEventListeners } from 'node:events';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../../runtime/component.js';
import { formatStreamLabels } from '../../../../loki/labels.js';
import type { LogEntry, LogsReceiver } from '../../../../loki/types.js';
import { argumentsSchema, LokiSourceFileComponent, type Exports } from './file.js';
import { expandGlob, globToRegExp } from '../../../../fs/glob.js';
import { Positions } from './positions.js';
import { FileTailer } from './tailer.js';
import { eventually } from '../../../../clock/eventually.test-support.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });

class Collect implements LogsReceiver {
  readonly got: LogEntry[] = [];
  failing = false;
  async append(entries: readonly LogEntry[]): Promise<void> {
    if (this.failing) throw new Error('downstream down');
    this.got.push(...entries);
  }
  lines(): string[] {
    return this.got.map((e) => e.line);
  }
  async until(n: number, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (this.got.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    if (this.got.length < n) throw new Error(`got ${this.got.length} lines (${JSON.stringify(this.lines())}), wanted ${n}`);
  }
}

const fast = { file_watch: { min_poll_frequency: '5ms', max_poll_frequency: '20ms' }, file_match: { sync_period: '30ms' } };

describe('loki.source.file', () => {
  let dir: string;
  let data: string;
  const running: { ac: AbortController; done: Promise<void> }[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'loki-file-'));
    data = path.join(dir, 'data');
  });
  afterEach(async () => {
    for (const r of running.splice(0)) {
      r.ac.abort();
      await r.done;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(sink: LogsReceiver, extra: Record<string, unknown>): Promise<{ stop: () => Promise<void>; c: LokiSourceFileComponent; signal: AbortSignal }> {
    const args = argumentsSchema.parse({ forward_to: [sink], ...fast, ...extra });
    const opts: ComponentOptions<Exports> = {
      id: 'loki.source.file.test',
      logger: log,
      registry: new Registry(),
      dataPath: data,
      onStateChange: () => undefined,
      setHealth: () => undefined,
      getService: () => {
        throw new Error('no services');
      },
    };
    const c = await LokiSourceFileComponent.create(opts, args);
    const ac = new AbortController();
    const r = { ac, done: c.run(ac.signal) };
    running.push(r);
    return {
      c,
      signal: ac.signal,
      stop: async () => {
        ac.abort();
        await r.done;
        running.splice(running.indexOf(r), 1);
      },
    };
  }

  it('expands the docs glob, labels entries with filename and target labels, forwards only complete lines', async () => {
    writeFileSync(path.join(dir, 'a.log'), 'a1\na2\r\n');
    writeFileSync(path.join(dir, 'b.log'), 'b1\npartial');
    writeFileSync(path.join(dir, 'c.txt'), 'not matched\n');
    const sink = new Collect();
    await start(sink, { targets: [{ __path__: path.join(dir, '*.log'), job: 'varlogs', __meta_x: 'dropped' }] });
    await sink.until(3);
    expect(sink.lines().sort()).toStrictEqual(['a1', 'a2', 'b1']);
    const a = sink.got.find((e) => e.line === 'a1')!;
    expect(formatStreamLabels(a.labels)).toBe(`{filename="${path.join(dir, 'a.log')}", job="varlogs"}`);
    appendFileSync(path.join(dir, 'b.log'), ' done\n');
    await sink.until(4);
    expect(sink.lines()[3]).toBe('partial done');
    // A file created later is discovered by the next glob scan.
    writeFileSync(path.join(dir, 'new.log'), 'n1\n');
    await sink.until(5);
    expect(sink.lines()[4]).toBe('n1');
  });

  it('resumes from the positions file after a restart: no duplicates, no loss', async () => {
    const f = path.join(dir, 'app.log');
    writeFileSync(f, 'l1\nl2\n');
    const sink = new Collect();
    const first = await start(sink, { targets: [{ __path__: f }] });
    await sink.until(2);
    await first.stop();
    expect(readFileSync(path.join(data, 'positions.yml'), 'utf8')).toContain(`${f}: "6"`);
    appendFileSync(f, 'l3\n');
    await start(sink, { targets: [{ __path__: f }] });
    await sink.until(3);
    // Window, not synchronisation: proves no line already sent before the restart arrives again.
    await new Promise((r) => setTimeout(r, 50));
    expect(sink.lines()).toStrictEqual(['l1', 'l2', 'l3']);
  });

  it('follows rename rotation (old file read to its end) and copytruncate', async () => {
    const f = path.join(dir, 'app.log');
    writeFileSync(f, 'r1\n');
    const sink = new Collect();
    await start(sink, { targets: [{ __path__: f }] });
    await sink.until(1);
    appendFileSync(f, 'r2\nr3-unterminated');
    renameSync(f, `${f}.1`);
    writeFileSync(f, 'r4-a-longer-line\n');
    await sink.until(4);
    expect(sink.lines()).toStrictEqual(['r1', 'r2', 'r3-unterminated', 'r4-a-longer-line']);
    truncateSync(f, 0);
    writeFileSync(f, 't1\n');
    await sink.until(5);
    expect(sink.lines()[4]).toBe('t1');
    // Truncated and refilled past the old offset between two polls.
    writeFileSync(f, 'u1-is-longer-than-before\n');
    await sink.until(6);
    expect(sink.lines()[5]).toBe('u1-is-longer-than-before');
  });

  it('keeps lines while downstream fails and delivers them once it recovers', async () => {
    const f = path.join(dir, 'app.log');
    writeFileSync(f, 'x1\n');
    const sink = new Collect();
    sink.failing = true;
    const { c } = await start(sink, { targets: [{ __path__: f }] });
    await eventually(() => c.currentHealth().state === 'unhealthy', 5_000, 'unhealthy while downstream fails');
    sink.failing = false;
    await sink.until(1);
    expect(sink.lines()).toStrictEqual(['x1']);
  });

  it('tail_from_end skips existing content; UTF-16LE files decode', async () => {
    const f = path.join(dir, 'old.log');
    writeFileSync(f, 'old\n');
    const u = path.join(dir, 'utf16.log');
    writeFileSync(u, Buffer.from('héllo\nwörld\n', 'utf16le'));
    const sink = new Collect();
    const { c } = await start(sink, { targets: [{ __path__: f }], tail_from_end: true });
    const sink2 = new Collect();
    mkdirSync(path.join(dir, 'd2'));
    data = path.join(dir, 'd2');
    await start(sink2, { targets: [{ __path__: u }], encoding: 'UTF-16LE' });
    const opened = (): boolean => (c.debugInfo() as { files: { path: string; offset: number }[] }).files.some((x) => x.path === f && x.offset === 'old\n'.length);
    await eventually(opened, 5_000, `${f} opened at its end`);
    appendFileSync(f, 'new\n');
    await sink.until(1);
    expect(sink.lines()).toStrictEqual(['new']);
    await sink2.until(2);
    expect(sink2.lines()).toStrictEqual(['héllo', 'wörld']);
  });

  it('rejects bad arguments with the fix named', () => {
    expect(() => argumentsSchema.parse({ forward_to: [], targets: [{ job: 'x' }] })).toThrow(/has no __path__ label/);
    expect(() => argumentsSchema.parse({ forward_to: [], targets: [], encoding: 'klingon' })).toThrow(/not a supported IANA encoding/);
  });

  it('globs: doublestar, classes, alternatives, excludes', async () => {
    mkdirSync(path.join(dir, 'x/y'), { recursive: true });
    for (const p of ['x/a.log', 'x/y/b.log', 'x/y/c.txt', 'x/.hidden.log']) writeFileSync(path.join(dir, p), '');
    expect(await expandGlob(path.join(dir, '**/*.log'))).toStrictEqual([path.join(dir, 'x/a.log'), path.join(dir, 'x/y/b.log')]);
    expect(await expandGlob(path.join(dir, 'x/**/*.{log,txt}'))).toHaveLength(3);
    expect(await expandGlob(path.join(dir, 'x/[a-b].log'))).toStrictEqual([path.join(dir, 'x/a.log')]);
    expect(globToRegExp('/var/log/**/*.gz').test('/var/log/a/b/c.gz')).toBe(true);
    expect(globToRegExp('/var/log/*.gz').test('/var/log/a/c.gz')).toBe(false);
  });

  it('tailer: a file truncated and refilled past the old offset between polls is read from 0', async () => {
    const f = path.join(dir, 'ct.log');
    writeFileSync(f, 'aaa\n');
    const got: string[] = [];
    const { positions } = await Positions.open(path.join(dir, 'p.yml'));
    const t = new FileTailer({ path: f, labels: [], positions, encoding: '', tailFromEnd: false, forward: async (es) => void got.push(...es.map((e) => e.line)) });
    expect(await t.poll()).toBe(true);
    writeFileSync(f, 'bbbbbbbb\n');
    expect(await t.poll()).toBe(true);
    expect(got).toStrictEqual(['aaa', 'bbbbbbbb']);
    await t.close();
  });

  it('tailer: lines written after the last read and cut away by copytruncate are read from the rotated copy', async () => {
    const f = path.join(dir, 'app.log');
    writeFileSync(f, 'l1\nl2\n');
    // Same length as the copy but other bytes before the offset: not the copy of this file.
    writeFileSync(path.join(dir, 'app.log.old'), 'x1\nx2\nl3\nl4\nl5\n');
    const got: string[] = [];
    const recovered: string[] = [];
    const { positions } = await Positions.open(path.join(dir, 'p.yml'));
    const t = new FileTailer({
      path: f,
      labels: [],
      positions,
      encoding: '',
      tailFromEnd: false,
      forward: async (es) => void got.push(...es.map((e) => e.line)),
      onRecovered: (copy, n) => void recovered.push(`${path.basename(copy)}:${n}`),
    });
    expect(await t.poll()).toBe(true);
    appendFileSync(f, 'l3\nl4\nl5-partial');
    copyFileSync(f, `${f}.1`);
    truncateSync(f, 0);
    appendFileSync(f, 'n1\n');
    expect(await t.poll()).toBe(true);
    expect(got).toStrictEqual(['l1', 'l2', 'l3', 'l4', 'l5-partial', 'n1']);
    expect(recovered).toStrictEqual(['app.log.1:3']);
    // Refilled past the old offset before the next read: recovered as well.
    appendFileSync(f, 'n2\n');
    expect(await t.poll()).toBe(true);
    copyFileSync(f, `${f}.1`);
    truncateSync(f, 0);
    appendFileSync(f, 'm1-long-enough-to-pass-the-old-offset\n');
    expect(await t.poll()).toBe(true);
    expect(got.slice(6)).toStrictEqual(['n2', 'm1-long-enough-to-pass-the-old-offset']);
    appendFileSync(f, 'm2\n');
    copyFileSync(f, `${f}.1`);
    truncateSync(f, 0);
    appendFileSync(f, 'z-long-enough-to-pass-the-old-offset-again-and-more\n');
    expect(await t.poll()).toBe(true);
    expect(got.slice(8)).toStrictEqual(['m2', 'z-long-enough-to-pass-the-old-offset-again-and-more']);
    await t.close();
  });

  it('reads on change events, not only by polling, and adds no abort listener per file', async () => {
    const files = Array.from({ length: 15 }, (_, i) => path.join(dir, `w${i}.log`));
    for (const f of files) writeFileSync(f, 'first\n');
    const sink = new Collect();
    // Polling once an hour: after the first read, only change events can bring lines in.
    const { signal } = await start(sink, { targets: [{ __path__: path.join(dir, 'w*.log') }], file_watch: { min_poll_frequency: '1h', max_poll_frequency: '1h' } });
    await sink.until(15);
    // The component's own waits (positions flush, glob re-scan, stopping the tailers), none per file.
    expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(3);
    appendFileSync(files[3]!, 'second\n');
    await sink.until(16);
    expect(sink.lines()[15]).toBe('second');
    // Rename rotation is seen through the directory watch too.
    renameSync(files[3]!, `${files[3]}.1`);
    writeFileSync(files[3]!, 'third\n');
    await sink.until(17);
    expect(sink.lines()[16]).toBe('third');
  });
});
