import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import winston from 'winston';
import Transport from 'winston-transport';
import { Registry } from 'prom-client';
import type { Labels, SampleBatch } from '../types.js';
import { Wal, type WalRecord, segmentOf, position } from './wal.js';

class Capture extends Transport {
  readonly lines: string[] = [];
  override log(info: { message: string }, next: () => void): void {
    this.lines.push(info.message);
    next();
  }
}

function logger(): { log: winston.Logger; lines: string[] } {
  const t = new Capture();
  return { log: winston.createLogger({ level: 'debug', transports: [t] }), lines: t.lines };
}

const L = (name: string, extra: Record<string, string> = {}): Labels =>
  Object.entries({ __name__: name, ...extra })
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([n, value]) => ({ name: n, value }));

function batch(series: Labels[], t0: number, v0 = 0): SampleBatch {
  const n = series.length;
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    timestamps[i] = t0 + i;
    values[i] = v0 + i;
  }
  return { series, timestamps, values, length: n };
}

async function readAll(wal: Wal, from: number): Promise<WalRecord[]> {
  const out: WalRecord[] = [];
  let pos = from;
  for (;;) {
    const r = await wal.read(pos, 1e9);
    out.push(...r.records);
    if (r.next === pos || r.records.length === 0) return out;
    pos = r.next;
  }
}

/** A batch of 20 new series: a record larger than a 256-byte segment. */
const oversized = (): SampleBatch => batch(Array.from({ length: 20 }, (_, i) => L('big', { i: String(i) })), 2);

/** Reopens the WAL: reading from the marker gives the one undelivered record, whose ref still names `labels`. */
async function expectDeliverableAfterRestart(dir: string, log: winston.Logger, ref: number, labels: Labels): Promise<void> {
  const wal = await Wal.open({ dir, logger: log, segmentSize: 256 });
  const back = await readAll(wal, await wal.openMarker('ep'));
  expect(back.map((r) => [...r.refs])).toStrictEqual([[ref]]);
  expect(wal.series(ref)?.labels).toStrictEqual(labels);
  await wal.close();
}

describe('Wal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('assigns one ref per series, notifies in order and reads the same records back', async () => {
    const { log } = logger();
    const wal = await Wal.open({ dir, logger: log });
    const seen: WalRecord[] = [];
    wal.subscribe({ onAppend: (r) => seen.push({ ...r, refs: r.refs.slice(), timestamps: r.timestamps.slice(), values: r.values.slice() }) });
    const a = L('a');
    const b = L('b', { x: 'y' });
    const start = wal.head;
    await Promise.all([wal.append(batch([a, b], 1000)), wal.append(batch([a, { ...a }.constructor === Object ? L('a') : a], 2000, 10))]);
    expect(seen).toHaveLength(2);
    expect(seen[0]!.prev).toBe(start);
    expect(seen[1]!.prev).toBe(seen[0]!.end);
    // A structurally equal but distinct Labels object maps to the same ref.
    expect(Array.from(seen[1]!.refs)).toStrictEqual([seen[0]!.refs[0], seen[0]!.refs[0]]);
    expect(wal.series(seen[0]!.refs[1]!)!.labels).toStrictEqual(b);
    const back = await readAll(wal, start);
    expect(back.map((r) => [r.prev, r.start, r.end])).toStrictEqual(seen.map((r) => [r.prev, r.start, r.end]));
    expect(Array.from(back[1]!.values)).toStrictEqual([10, 11]);
    await wal.close();
  });

  it('replays series and undelivered samples after restart, resuming from the marker', async () => {
    const { log } = logger();
    let wal = await Wal.open({ dir, logger: log });
    const m0 = await wal.openMarker('ep');
    await wal.append(batch([L('a'), L('b')], 1000));
    const afterFirst = wal.head;
    await wal.append(batch([L('a'), L('c')], 2000, 5));
    wal.setMarker('ep', afterFirst);
    await wal.close();

    wal = await Wal.open({ dir, logger: log });
    expect(wal.activeSeries).toBe(3);
    const m = await wal.openMarker('ep');
    expect(m).toBe(afterFirst);
    expect(m).not.toBe(m0);
    const recs = await readAll(wal, m);
    expect(recs).toHaveLength(1);
    expect(Array.from(recs[0]!.timestamps)).toStrictEqual([2000, 2001]);
    expect(recs.flatMap((r) => Array.from(r.refs).map((ref) => wal.series(ref)!.labels))).toStrictEqual([L('a'), L('c')]);
    // New appends reuse the replayed refs.
    const got: number[] = [];
    wal.subscribe({ onAppend: (r) => got.push(...r.refs) });
    await wal.append(batch([L('c')], 3000));
    expect(got).toStrictEqual([recs[0]!.refs[1]]);
    await wal.close();
  });

  it('truncates a torn tail with a warning and keeps every complete record', async () => {
    const { log, lines } = logger();
    let wal = await Wal.open({ dir, logger: log });
    await wal.append(batch([L('a')], 1));
    await wal.append(batch([L('a')], 2));
    await wal.close();
    const seg = readdirSync(dir).filter((n) => /^\d{8}$/.test(n)).sort()[0]!;
    const file = join(dir, seg);
    const full = statSync(file).size;
    truncateSync(file, full - 3); // crash mid-write of the second record
    wal = await Wal.open({ dir, logger: log });
    expect(lines.some((l) => l.includes('torn or corrupt tail') && l.includes('truncating'))).toBe(true);
    const recs = await readAll(wal, position(segmentOf(wal.head) - 1, 0));
    expect(recs.map((r) => r.timestamps[0])).toStrictEqual([1]);
    await wal.close();
  });

  it('detects a flipped byte by CRC and drops only the damaged record and what follows it', async () => {
    const { log, lines } = logger();
    let wal = await Wal.open({ dir, logger: log });
    await wal.append(batch([L('a')], 1));
    const second = wal.head;
    await wal.append(batch([L('a')], 2));
    await wal.append(batch([L('a')], 3));
    await wal.close();
    const seg = readdirSync(dir).filter((n) => /^\d{8}$/.test(n)).sort()[0]!;
    const file = join(dir, seg);
    const bytes = readFileSync(file);
    bytes[(second % 2 ** 32) + 12]! ^= 0xff;
    writeFileSync(file, bytes);
    appendFileSync(file, Buffer.alloc(0));
    wal = await Wal.open({ dir, logger: log });
    expect(lines.some((l) => l.includes('CRC mismatch'))).toBe(true);
    const recs = await readAll(wal, position(segmentOf(wal.head) - 1, 0));
    expect(recs.map((r) => r.timestamps[0])).toStrictEqual([1]);
    await wal.close();
  });

  it('rolls segments, keeps undelivered ones, and truncates with a checkpoint once delivered', async () => {
    const { log } = logger();
    let now = 1_000_000;
    const reg = new Registry();
    let wal = await Wal.open({ dir, logger: log, segmentSize: 200, now: () => now, registry: reg });
    await wal.openMarker('ep');
    const series = Array.from({ length: 20 }, (_, i) => L('m', { i: String(i) }));
    for (let i = 0; i < 20; i++) {
      now += 1000;
      await wal.append(batch([series[i]!, series[0]!], now));
    }
    expect(wal.segments.length).toBeGreaterThan(4);
    const opts = { minKeepaliveMs: 5 * 60_000, maxKeepaliveMs: 8 * 3600_000 };
    now += 10 * 60_000;
    // Nothing delivered: nothing deleted.
    expect((await wal.truncate(opts)).deletedSegments).toBe(0);
    // Deliver up to the middle: the segments before the marker go, the rest stay readable.
    const all = await readAll(wal, 0);
    const mid = all[10]!;
    // Bytes behind, across segment boundaries, are exactly the records' bytes.
    expect(wal.bytesBetween(all[0]!.start, wal.head)).toBe(all.reduce((n, r) => n + (r.end - r.start), 0));
    wal.setMarker('ep', mid.start);
    const res = await wal.truncate(opts);
    expect(res.deletedSegments).toBeGreaterThan(0);
    expect(res.forcedSegments).toBe(0);
    expect(readdirSync(dir).some((n) => n.startsWith('checkpoint.'))).toBe(true);
    // Series 0..k whose samples were all in deleted segments are gone, series 0 (still used) stays.
    expect(res.removedSeries).toBeGreaterThan(0);
    const after = await readAll(wal, mid.start);
    expect(after.map((r) => r.timestamps[0])).toStrictEqual(all.slice(10).map((r) => r.timestamps[0]));
    await wal.close();

    // Restart: checkpoint + remaining segments give every ref still referenced.
    wal = await Wal.open({ dir, logger: log, segmentSize: 200, now: () => now });
    const m = await wal.openMarker('ep');
    const replayed = await readAll(wal, m);
    expect(replayed.length).toBe(10);
    for (const r of replayed) for (const ref of r.refs) expect(wal.series(ref)).toBeDefined();
    expect(wal.series(replayed[0]!.refs[1]!)!.labels).toStrictEqual(series[0]);
    await wal.close();
  });

  it('keeps a series whose newest record landed in a segment opened after its append began (rotation during a group commit)', async () => {
    const { log } = logger();
    let now = 1_000_000;
    const wal = await Wal.open({ dir, logger: log, segmentSize: 256, now: () => now });
    await wal.openMarker('ep');
    const s = L('kept');
    await wal.append(batch([s], 1)); // segment 0 defines the series
    // A batch larger than a segment gets its own (segment 1); while it commits, the series is
    // appended again, and the clock moves before that record is placed: it needs segment 2,
    // created after the append read the clock.
    const big = wal.append(oversized());
    const late = wal.append(batch([s], 3));
    now += 1000;
    await Promise.all([big, late]);
    expect(wal.segments).toStrictEqual([0, 1, 2]);
    const recs = await readAll(wal, 0);
    const lastRec = recs.at(-1)!;
    expect(segmentOf(lastRec.start)).toBe(2);
    const ref = lastRec.refs[0]!;
    // Segments 0 and 1 delivered long ago; the sample in segment 2 is not.
    wal.setMarker('ep', lastRec.start);
    now += 10 * 60_000;
    const res = await wal.truncate({ minKeepaliveMs: 5 * 60_000, maxKeepaliveMs: 8 * 3600_000 });
    expect(res.deletedSegments).toBe(2);
    expect(wal.series(ref)?.labels).toStrictEqual(s);
    await wal.close();
    await expectDeliverableAfterRestart(dir, log, ref, s);
  });

  it('keeps a series used by an append still queued when truncation runs', async () => {
    const { log } = logger();
    let now = 1_000_000;
    const wal = await Wal.open({ dir, logger: log, segmentSize: 256, now: () => now });
    await wal.openMarker('ep');
    const s = L('queued');
    await wal.append(batch([s], 1)); // segment 0 defines the series
    let truncation: Promise<unknown> | undefined;
    // The moment the oversized batch commits to segment 1 (so segment 0 is sealed), the next
    // append of the series is still queued: a truncation timer firing then sees segment 0 as
    // delivered and old.
    const off = wal.subscribe({
      onAppend: (r) => {
        if (truncation || segmentOf(r.start) !== 1) return;
        wal.setMarker('ep', r.end);
        now += 10 * 60_000;
        truncation = wal.truncate({ minKeepaliveMs: 5 * 60_000, maxKeepaliveMs: 8 * 3600_000 });
      },
    });
    const big = wal.append(oversized());
    const late = wal.append(batch([s], 3));
    now += 1000; // while the commit of the oversized batch opens segment 1
    await Promise.all([big, late]);
    off();
    expect(await truncation).toMatchObject({ deletedSegments: 1 });
    const lastRec = (await readAll(wal, position(1, 0))).at(-1)!;
    const ref = lastRec.refs[0]!;
    expect(wal.series(ref)?.labels).toStrictEqual(s);
    await wal.close();
    await expectDeliverableAfterRestart(dir, log, ref, s);
  });

  it('drops undelivered segments once they are older than max keepalive', async () => {
    const { log, lines } = logger();
    let now = 0;
    const wal = await Wal.open({ dir, logger: log, segmentSize: 256, now: () => now });
    await wal.openMarker('stuck');
    for (let i = 0; i < 10; i++) {
      now += 1000;
      await wal.append(batch([L('x', { i: String(i) })], now));
    }
    now += 9 * 3600_000;
    const res = await wal.truncate({ minKeepaliveMs: 300_000, maxKeepaliveMs: 8 * 3600_000 });
    expect(res.forcedSegments).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('older than max_keepalive_time'))).toBe(true);
    // The stuck reader skips what was deleted instead of failing.
    const r = await wal.read(wal.marker('stuck')!, 1e9);
    expect(r.records.length).toBeLessThan(10);
    await wal.close();
  });

  it('serializes marker writes: concurrent flush and remove keep the newest position', async () => {
    const { log } = logger();
    let wal = await Wal.open({ dir, logger: log });
    await wal.openMarker('ep');
    await wal.append(batch([L('a')], 1));
    const first = wal.head;
    await wal.append(batch([L('a')], 2));
    wal.setMarker('ep', first);
    const flush = wal.flushMarkers();
    wal.setMarker('ep', wal.head);
    const head = wal.head;
    await Promise.all([flush, wal.removeMarker('ep', false), wal.flushMarkers()]);
    await wal.close();
    wal = await Wal.open({ dir, logger: log });
    expect(await wal.openMarker('ep')).toBe(head);
    await wal.close();
  });

  it('reports its size and series as metrics', async () => {
    const { log } = logger();
    const reg = new Registry();
    const wal = await Wal.open({ dir, logger: log, registry: reg });
    await wal.append(batch([L('a'), L('b')], 1));
    const text = await reg.metrics();
    expect(text).toContain('prometheus_remote_write_wal_storage_active_series 2');
    expect(text).toContain('prometheus_remote_write_wal_samples_appended_total 2');
    expect(text).toMatch(/prometheus_tsdb_wal_storage_size_bytes [1-9]/);
    await wal.close();
  });
});
