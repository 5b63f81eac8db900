import { copyFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { ComponentOptions } from '../../../../runtime/component.js';
import type { LogEntry, LogsReceiver } from '../../../../loki/types.js';
import { argumentsSchema, LokiSourceFileComponent, type Exports } from './file.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const log = winston.createLogger({ silent: true });

class Collect implements LogsReceiver {
  readonly got: LogEntry[] = [];
  async append(entries: readonly LogEntry[]): Promise<void> {
    this.got.push(...entries);
  }
}

async function eventually(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('loki.source.file decompression and ignore_older_than', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'loki-decomp-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function run(sink: Collect, extra: Record<string, unknown>, until: () => boolean): Promise<void> {
    const args = argumentsSchema.parse({ forward_to: [sink], file_watch: { min_poll_frequency: '5ms', max_poll_frequency: '10ms' }, file_match: { sync_period: '20ms' }, ...extra });
    const opts: ComponentOptions<Exports> = {
      id: 'loki.source.file.t',
      logger: log,
      registry: new Registry(),
      dataPath: path.join(dir, 'data'),
      onStateChange: () => undefined,
      setHealth: () => undefined,
      getService: () => {
        throw new Error('none');
      },
    };
    const c = await LokiSourceFileComponent.create(opts, args);
    const ac = new AbortController();
    const done = c.run(ac.signal);
    try {
      await eventually(until, 'lines');
      // Window, not synchronisation: proves the file is not read a second time.
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      ac.abort();
      await done;
    }
  }

  const text = 'first line\r\nsecond line\n\nfourth line without newline';
  const want = ['first line', 'second line', '', 'fourth line without newline'];

  it.each([
    ['gz', (s: string) => gzipSync(s)],
    ['z', (s: string) => deflateSync(s)],
  ] as const)('reads a %s file once, line by line', async (format, compress) => {
    writeFileSync(path.join(dir, `app.log.${format}`), compress(text));
    const sink = new Collect();
    await run(sink, { targets: [{ __path__: `${dir}/*.${format}`, job: 'x' }], decompression: { enabled: true, format } }, () => sink.got.length >= 4);
    expect(sink.got.map((e) => e.line)).toStrictEqual(want);
  });

  it('reads bz2 (a file made by bzip2), and a restart skips the lines already sent', async () => {
    copyFileSync(path.join(here, 'testdata/lines.txt.bz2'), path.join(dir, 'app.log.bz2'));
    const sink = new Collect();
    const args = { targets: [{ __path__: `${dir}/*.bz2` }], decompression: { enabled: true, format: 'bz2' } };
    await run(sink, args, () => sink.got.length >= 4);
    expect(sink.got.map((e) => e.line)).toStrictEqual(want);
    const again = new Collect();
    await run(again, args, () => true);
    expect(again.got).toStrictEqual([]);
  });

  it('a file that does not decompress is reported, not fatal', async () => {
    writeFileSync(path.join(dir, 'bad.gz'), 'not gzip');
    writeFileSync(path.join(dir, 'good.gz'), gzipSync('ok\n'));
    const sink = new Collect();
    await run(sink, { targets: [{ __path__: `${dir}/*.gz` }], decompression: { enabled: true, format: 'gz' } }, () => sink.got.length >= 1);
    expect(sink.got.map((e) => e.line)).toStrictEqual(['ok']);
  });

  it('initial_delay holds the read back', async () => {
    writeFileSync(path.join(dir, 'a.gz'), gzipSync('x\n'));
    const sink = new Collect();
    const t0 = Date.now();
    await run(sink, { targets: [{ __path__: `${dir}/*.gz` }], decompression: { enabled: true, format: 'gz', initial_delay: '150ms' } }, () => sink.got.length >= 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  it('rejects an unsupported format', () => {
    const r = argumentsSchema.safeParse({ forward_to: [], targets: [], decompression: { enabled: true, format: 'zip' } });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/format must be one of "gz", "z", "bz2"/);
  });

  it('file_match.ignore_older_than skips files not modified recently', async () => {
    writeFileSync(path.join(dir, 'old.log'), 'old\n');
    writeFileSync(path.join(dir, 'new.log'), 'new\n');
    const old = (Date.now() - 3_600_000) / 1000;
    utimesSync(path.join(dir, 'old.log'), old, old);
    const sink = new Collect();
    await run(sink, { targets: [{ __path__: `${dir}/*.log` }], file_match: { sync_period: '20ms', ignore_older_than: '1m' } }, () => sink.got.length >= 1);
    expect(sink.got.map((e) => e.line)).toStrictEqual(['new']);
  });
});
