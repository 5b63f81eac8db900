/**
 * Queue manager of one remote-write endpoint: moves samples from the WAL to the endpoint.
 *
 * Contracts:
 * - The WAL is the queue. While the endpoint keeps up, committed appends are taken straight from
 *   the WAL's notification (no disk read); once its in-memory budget (`capacity × shards`) is full,
 *   a reshard is under way or it starts behind, it reads records back from disk from its cursor
 *   and switches back to live when it reaches the head. Nothing is dropped for lack of memory.
 * - Samples of one series always go to the same shard (`ref mod shards`), and a shard sends one
 *   batch at a time, so per-series order is kept. Resharding drains all shards first (quick: the
 *   in-memory budget is `capacity` samples per shard).
 * - Shard count (Prometheus's semantics: `desiredShards`, clamped to [min_shards, max_shards]):
 *   it starts with enough shards for the WAL backlog found at start (backlog / capacity), grows
 *   at once when an append does not fit the shards' queues (so a scrape of 200k new series is
 *   sent by 20 shards from its first batch), never goes below what holds the largest append of
 *   the last 10-20 updates nor below what sends that append within `BURST_DRAIN_SECONDS`, and is
 *   recomputed every second from EWMA rates, so a lag is acted on within a second instead of
 *   Prometheus's 10 s. Growth is applied at once; shrinking only after the lower count was
 *   wanted for 10 consecutive updates. No resharding while sends fail (the remote is down).
 * - Each shard has its own abort signal (aborted by `stop`), so no signal collects a listener per
 *   shard: in-flight sends and backoff sleeps stay bounded per signal whatever `max_shards` is.
 * - A batch is sent when it holds `maxSamplesPerSend` samples or its oldest sample waited
 *   `batchSendDeadline`. Recoverable failures (5xx, 429 when enabled, network) are retried with
 *   capped exponential backoff (`Retry-After` wins); others drop the batch, counted as failed.
 * - The endpoint's WAL marker advances to the end of a record only when every sample of that
 *   record and of all earlier records was sent or dropped, so a restart resends at most what was
 *   in flight.
 * - Background loops never throw; failures are logged, counted and visible in `status()`.
 */
import type { Logger } from 'winston';
import { systemClock, type Clock } from '../../clock/clock.js';
import type { Exemplar, Labels } from '../types.js';
import { processLabels, type CompiledRule } from '../relabel/relabel.js';
import { compressOffThread } from '../snappy/compress-pool.js';
import type { Wal, WalListener, WalRecord } from '../wal/wal.js';
import type { Sender } from './client.js';
import type { RemoteWriteMetrics } from './metrics.js';
import { LabelBytesStore } from './label-bytes-store.js';
import { encodeLabels, WriteRequestEncoder } from './proto.js';

/** The loop clock, re-exported for existing importers (it lives in `clock/`). */
export { systemClock, type Clock };

export interface QueueConfig {
  readonly capacity: number;
  readonly maxShards: number;
  readonly minShards: number;
  readonly maxSamplesPerSend: number;
  readonly batchSendDeadlineMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly retryOnHttp429: boolean;
  /** 0 disables the limit. */
  readonly sampleAgeLimitMs: number;
}

/** Alloy's `queue_config` defaults. */
export const DEFAULT_QUEUE_CONFIG: QueueConfig = {
  capacity: 10000,
  maxShards: 50,
  minShards: 1,
  maxSamplesPerSend: 2000,
  batchSendDeadlineMs: 5000,
  minBackoffMs: 30,
  maxBackoffMs: 5000,
  retryOnHttp429: true,
  sampleAgeLimitMs: 0,
};


export interface QueueManagerOptions {
  /** `remote_name` label value. */
  readonly name: string;
  readonly url: string;
  /** Name of the endpoint's delivery marker in the WAL. */
  readonly markerName: string;
  readonly wal: Wal;
  readonly queue: QueueConfig;
  readonly sender: Sender;
  readonly externalLabels: Labels;
  readonly writeRelabel: readonly CompiledRule[];
  readonly sendExemplars: boolean;
  readonly logger: Logger;
  readonly metrics: RemoteWriteMetrics;
  readonly clock?: Clock;
  /** How often the desired shard count is recomputed (default 1 s; Prometheus uses 10 s). */
  readonly shardUpdateIntervalMs?: number;
}

export interface QueueStatus {
  readonly name: string;
  readonly url: string;
  readonly mode: 'live' | 'lagging';
  readonly shards: number;
  readonly pendingSamples: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly lastSuccessAt?: number;
}

interface Chunk {
  readonly refs: Uint32Array;
  readonly ts: Float64Array;
  readonly vals: Float64Array;
  readonly seq: number;
  ex: Map<number, Exemplar> | undefined;
  off: number;
}

interface Shard {
  readonly index: number;
  chunks: Chunk[];
  head: number;
  pending: number;
  oldestAt: number;
  stopped: boolean;
  wake: (() => void) | undefined;
  running: Promise<void> | undefined;
  /** Aborts this shard's in-flight send and backoff sleep (on stop). */
  readonly abort: AbortController;
  // Reused batch buffers.
  readonly bRefs: Uint32Array;
  readonly bTs: Float64Array;
  readonly bVals: Float64Array;
}

interface RecordState {
  readonly end: number;
  remaining: number;
}

export interface ShardStats {
  readonly current: number;
  readonly min: number;
  readonly max: number;
  /** Samples per second coming in (EWMA). */
  readonly samplesInRate: number;
  /** Samples per second sent (EWMA). */
  readonly samplesOutRate: number;
  /** Seconds spent in send calls per second (EWMA). */
  readonly sendSecondsRate: number;
  readonly pendingSamples: number;
  /** Samples in the largest single append of the last 10-20 updates (a scrape arrives as one burst). */
  readonly largestAppend: number;
}

/** Fraction of the backlog the shard calculation plans to send per second on top of the incoming rate. */
export const BACKLOG_CATCHUP = 0.2;
/** Prometheus's `shardToleranceFraction`: desired counts within ±30% of the current one keep it. */
const SHARD_TOLERANCE = 0.3;
/** Updates in a row that must want fewer shards before the count shrinks (10 s at the default interval). */
const SHRINK_AFTER_UPDATES = 10;
/** While the last send failed within this window and nothing succeeded since, the count is kept. */
const FAILING_WINDOW_MS = 20_000;

/** Time within which the shards should be able to send the largest recent append. */
export const BURST_DRAIN_SECONDS = 0.5;

/**
 * Prometheus's shard calculation (`calculateDesiredShards`): shards = time per sample × (incoming
 * rate + `BACKLOG_CATCHUP` × backlog), unchanged within ±30% of the current count, clamped to
 * [min, max]. Prometheus plans 5% of the backlog per second; we plan 20% so a start-up backlog is
 * gone within seconds. Prometheus sizes for the average rate, so a scrape that arrives as one burst
 * takes the whole interval to go out; we also want enough shards to send the largest recent append
 * within `BURST_DRAIN_SECONDS` at the measured time per sample, so what was scraped is delivered
 * well before the next scrape.
 */
export function desiredShards(s: ShardStats): number {
  if (s.samplesOutRate <= 0) return s.current;
  const timePerSample = s.sendSecondsRate / s.samplesOutRate;
  const forRate = timePerSample * (s.samplesInRate + BACKLOG_CATCHUP * s.pendingSamples);
  const forBurst = (timePerSample * s.largestAppend) / BURST_DRAIN_SECONDS;
  const desired = Math.ceil(Math.max(forRate, forBurst));
  if (desired >= s.current * (1 - SHARD_TOLERANCE) && desired <= s.current * (1 + SHARD_TOLERANCE)) return s.current;
  return Math.min(s.max, Math.max(s.min, desired));
}

const EWMA_WEIGHT = 0.2;
/** Typical size of one sample in a WAL record (delta-coded ref and timestamp + float64 value). */
const WAL_BYTES_PER_SAMPLE = 12;

/** The reason a shard's batch-deadline wait is cancelled with once it is over. */
const WAIT_OVER = new Error('remote_write: shard wait over');

class Ewma {
  #rate = 0;
  #init = false;
  #acc = 0;
  add(v: number): void {
    this.#acc += v;
  }
  tick(intervalS: number): number {
    const inst = this.#acc / intervalS;
    this.#acc = 0;
    if (this.#init) this.#rate += EWMA_WEIGHT * (inst - this.#rate);
    else {
      this.#rate = inst;
      this.#init = true;
    }
    return this.#rate;
  }
}

export class QueueManager implements WalListener {
  readonly #o: QueueManagerOptions;
  readonly #cfg: QueueConfig;
  readonly #clock: Clock;
  readonly #labels: { remote_name: string; url: string };
  readonly #abort = new AbortController();
  /** Endpoint-side encoded labels per WAL ref (see `#ensureSeries`). */
  readonly #labelBytes = new LabelBytesStore();
  #enc: WriteRequestEncoder | undefined;
  readonly #exLabelCache = new WeakMap<Labels, Buffer>();

  #shards: Shard[] = [];
  #cursor = 0;
  #mode: 'live' | 'lagging' = 'lagging';
  #inflight = 0;
  #resharding = false;
  #stopped = false;
  #reader: Promise<void> | undefined;
  #readerActive = false;
  #spaceWaiters: (() => void)[] = [];
  #unsubscribe: (() => void) | undefined;
  #shardTimer: NodeJS.Timeout | undefined;
  #lowUpdates = 0;
  #lastUpdateAt = 0;
  /** Largest WAL record seen in this and the previous window of `SHRINK_AFTER_UPDATES` updates. */
  #recordPeak = 0;
  #recordPeakPrev = 0;
  #updates = 0;

  #records: RecordState[] = [];
  #recHead = 0;
  #recBase = 0;

  readonly #inRate = new Ewma();
  readonly #outRate = new Ewma();
  readonly #sendRate = new Ewma();
  #lastSuccessAt: number | undefined;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #lastLoggedErrorAt = 0;
  #shardIndex: Int32Array = new Int32Array(1024);

  constructor(opts: QueueManagerOptions) {
    this.#o = opts;
    this.#cfg = opts.queue;
    this.#clock = opts.clock ?? systemClock;
    this.#labels = { remote_name: opts.name, url: opts.url };
    const q = opts.queue;
    if (q.minShards < 1 || q.maxShards < q.minShards) {
      throw new Error(`queue_config: need 1 <= min_shards (${q.minShards}) <= max_shards (${q.maxShards})`);
    }
    if (q.maxSamplesPerSend < 1) throw new Error('queue_config: max_samples_per_send must be at least 1');
    if (q.capacity < 1) throw new Error('queue_config: capacity must be at least 1');
  }

  get name(): string {
    return this.#o.name;
  }

  /** Opens the endpoint's marker and starts the shards; resumes from the marker when behind. */
  async start(): Promise<void> {
    const wal = this.#o.wal;
    this.#cursor = wal.normalize(await wal.openMarker(this.#o.markerName));
    const m = this.#o.metrics;
    m.shardsMax.set(this.#labels, this.#cfg.maxShards);
    m.shardsMin.set(this.#labels, this.#cfg.minShards);
    m.shardCapacity.set(this.#labels, this.#cfg.capacity);
    m.samplesPending.set(this.#labels, 0);
    m.samplesTotal.inc(this.#labels, 0);
    m.samplesFailed.inc(this.#labels, 0);
    m.samplesRetried.inc(this.#labels, 0);
    // Enough shards that the backlog found at start fits in their queues.
    const backlog = this.#cursor < wal.head ? wal.bytesBetween(this.#cursor, wal.head) / WAL_BYTES_PER_SAMPLE : 0;
    this.#startShards(Math.min(this.#cfg.maxShards, Math.max(this.#cfg.minShards, Math.ceil(backlog / this.#cfg.capacity))));
    this.#unsubscribe = wal.subscribe(this);
    if (this.#cursor >= wal.head) this.#mode = 'live';
    else {
      this.#o.logger.info(`remote_write ${this.#o.name}: resuming from the WAL`, { url: this.#o.url, shards: this.#shards.length });
      this.#kickReader();
    }
    const interval = this.#o.shardUpdateIntervalMs ?? 1000;
    this.#lastUpdateAt = this.#clock.now();
    this.#shardTimer = setInterval(() => {
      // Rates over the time that really passed (timers run late on a busy event loop).
      const now = this.#clock.now();
      const elapsedS = Math.max(interval, now - this.#lastUpdateAt) / 1000;
      this.#lastUpdateAt = now;
      this.#updateShards(elapsedS);
    }, interval);
    this.#shardTimer.unref();
  }

  /**
   * Stops sending (in-flight requests are aborted; their samples stay in the WAL) and persists the
   * marker. With `forget` the marker is deleted so the endpoint no longer holds WAL segments.
   */
  async stop(forget = false): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    if (this.#shardTimer) clearInterval(this.#shardTimer);
    this.#unsubscribe?.();
    this.#wakeSpace();
    for (const s of this.#shards) {
      s.stopped = true;
      s.abort.abort();
      s.wake?.();
    }
    await Promise.all(this.#shards.map((s) => s.running));
    await this.#reader;
    await this.#o.wal.removeMarker(this.#o.markerName, forget);
    this.#o.sender.close();
    if (forget) this.#o.metrics.forget(this.#o.name, this.#o.url);
  }

  status(): QueueStatus {
    return {
      name: this.#o.name,
      url: this.#o.url,
      mode: this.#mode,
      shards: this.#shards.length,
      pendingSamples: this.#inflight,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError, lastErrorAt: this.#lastErrorAt! } : {}),
      ...(this.#lastSuccessAt !== undefined ? { lastSuccessAt: this.#lastSuccessAt } : {}),
    };
  }

  // -------------------------------------------------------------------------------------------
  // Intake

  onAppend(rec: WalRecord): void {
    if (this.#stopped) return;
    this.#inRate.add(rec.length);
    if (rec.length > this.#recordPeak) this.#recordPeak = rec.length;
    // A lag is measurable as soon as one append does not fit the shards' queues: grow now, so
    // the record is sent by enough shards instead of waiting for the next rate update.
    const fit = this.#shardsToHold(this.#inflight + rec.length);
    if (fit > this.#shards.length && !this.#resharding) {
      void this.reshard(fit);
    }
    if (
      this.#mode === 'live' &&
      !this.#resharding &&
      (rec.prev === this.#cursor || rec.start === this.#cursor) &&
      (this.#inflight === 0 || this.#inflight + rec.length <= this.#budget())
    ) {
      this.#enqueue(rec);
      this.#cursor = rec.end;
      return;
    }
    if (this.#mode === 'live') {
      this.#mode = 'lagging';
      this.#kickReader();
    }
  }

  onSeriesRemoved(refs: readonly number[]): void {
    for (const r of refs) this.#labelBytes.delete(r);
  }

  /** Shards whose queues (`capacity` each) hold `samples`, clamped to [min, max]. */
  #shardsToHold(samples: number): number {
    return Math.min(this.#cfg.maxShards, Math.max(this.#cfg.minShards, Math.ceil(samples / this.#cfg.capacity)));
  }

  #budget(): number {
    return this.#cfg.capacity * Math.max(1, this.#shards.length);
  }

  #kickReader(): void {
    if (this.#readerActive || this.#stopped) return;
    this.#readerActive = true;
    this.#reader = this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    try {
      await this.#readUntilCaughtUp();
    } catch (err: unknown) {
      this.#readerActive = false;
      this.#noteError(`WAL reader stopped: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  async #readUntilCaughtUp(): Promise<void> {
    const wal = this.#o.wal;
    for (;;) {
      if (this.#stopped || this.#mode !== 'lagging') {
        // Cleared in the same turn the loop ends, so a record arriving right after restarts it.
        this.#readerActive = false;
        return;
      }
      const room = this.#budget() - this.#inflight;
      if (this.#resharding || room <= 0) {
        await new Promise<void>((r) => this.#spaceWaiters.push(r));
        continue;
      }
      let res: Awaited<ReturnType<Wal['read']>>;
      try {
        res = await wal.read(this.#cursor, Math.max(room, this.#cfg.maxSamplesPerSend));
      } catch (err: unknown) {
        this.#noteError(`reading the WAL: ${err instanceof Error ? err.message : String(err)}`);
        await this.#clock.sleep(1000, this.#abort.signal);
        continue;
      }
      if (this.#stopped) return;
      for (const rec of res.records) {
        // Records the live path already took (none today, but keep the cursor monotonic).
        if (rec.end <= this.#cursor) continue;
        this.#enqueue(rec);
        this.#cursor = rec.end;
      }
      this.#cursor = wal.normalize(Math.max(this.#cursor, res.next));
      if (this.#cursor >= wal.head) this.#mode = 'live';
    }
  }

  /**
   * Whether the series of `ref` is sent; on first use its endpoint-side labels (external labels,
   * then write relabeling) are encoded into `#labelBytes`. An unknown ref (not in the WAL) is not
   * sent and not remembered.
   */
  #ensureSeries(ref: number): boolean {
    const st = this.#labelBytes.state(ref);
    if (st !== 'unknown') return st === 'stored';
    const s = this.#o.wal.series(ref);
    if (!s) return false;
    let labels: Labels | null = s.labels;
    const ext = this.#o.externalLabels;
    if (ext.length > 0) labels = withExternalLabels(labels, ext);
    if (this.#o.writeRelabel.length > 0) labels = processLabels(labels, this.#o.writeRelabel);
    const keep = labels !== null && labels.length > 0;
    this.#labelBytes.set(ref, keep ? encodeLabels(labels!) : null);
    return keep;
  }

  #enqueue(rec: WalRecord): void {
    const n = rec.length;
    const shards = this.#shards;
    const ns = shards.length;
    if (this.#shardIndex.length < n) this.#shardIndex = new Int32Array(Math.max(n, this.#shardIndex.length * 2));
    const idx = this.#shardIndex;
    const counts = new Int32Array(ns);
    let kept = 0;
    let unknown = 0;
    let dropped = 0;
    const refs = rec.refs;
    for (let i = 0; i < n; i++) {
      const ref = refs[i]!;
      if (!this.#ensureSeries(ref)) {
        idx[i] = -1;
        if (this.#o.wal.series(ref)) dropped++;
        else unknown++;
        continue;
      }
      const s = ref % ns;
      idx[i] = s;
      counts[s]!++;
      kept++;
    }
    const m = this.#o.metrics;
    m.samplesIn.inc(this.#labels, n);
    if (dropped > 0) m.samplesDropped.inc({ ...this.#labels, reason: 'dropped_series' }, dropped);
    if (unknown > 0) m.samplesDropped.inc({ ...this.#labels, reason: 'unknown_series' }, unknown);
    const seq = this.#recBase + this.#records.length;
    this.#records.push({ end: rec.end, remaining: kept });
    if (kept === 0) {
      this.#advance();
      return;
    }
    this.#inflight += kept;
    m.samplesPending.set(this.#labels, this.#inflight);
    const now = this.#clock.now();
    const chunks: (Chunk | undefined)[] = new Array<Chunk | undefined>(ns);
    const fill = new Int32Array(ns);
    for (let s = 0; s < ns; s++) {
      const c = counts[s]!;
      if (c > 0) chunks[s] = { refs: new Uint32Array(c), ts: new Float64Array(c), vals: new Float64Array(c), seq, ex: undefined, off: 0 };
    }
    const ts = rec.timestamps;
    const vals = rec.values;
    const posInChunk = rec.exemplars && this.#o.sendExemplars ? new Int32Array(n) : undefined;
    for (let i = 0; i < n; i++) {
      const s = idx[i]!;
      if (s < 0) continue;
      const c = chunks[s]!;
      const p = fill[s]!++;
      c.refs[p] = refs[i]!;
      c.ts[p] = ts[i]!;
      c.vals[p] = vals[i]!;
      if (posInChunk) posInChunk[i] = p;
    }
    if (posInChunk && rec.exemplars) {
      for (const [i, ex] of rec.exemplars) {
        const s = idx[i];
        if (s === undefined || s < 0) continue;
        const c = chunks[s]!;
        (c.ex ??= new Map()).set(posInChunk[i]!, ex);
      }
    }
    const max = this.#cfg.maxSamplesPerSend;
    for (let s = 0; s < ns; s++) {
      const c = chunks[s];
      if (!c) continue;
      const shard = shards[s]!;
      if (shard.pending === 0) shard.oldestAt = now;
      shard.chunks.push(c);
      const before = shard.pending;
      shard.pending += c.refs.length;
      if (before === 0 || shard.pending >= max) shard.wake?.();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Acknowledgement

  #ack(seq: number, count: number): void {
    this.#records[seq - this.#recBase]!.remaining -= count;
  }

  #advance(): void {
    let end = -1;
    const recs = this.#records;
    while (this.#recHead < recs.length && recs[this.#recHead]!.remaining === 0) {
      end = recs[this.#recHead]!.end;
      this.#recHead++;
    }
    if (this.#recHead > 1024 && this.#recHead * 2 > recs.length) {
      this.#records = recs.slice(this.#recHead);
      this.#recBase += this.#recHead;
      this.#recHead = 0;
    }
    if (end >= 0) this.#o.wal.setMarker(this.#o.markerName, end);
  }

  #wakeSpace(): void {
    const w = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const f of w) f();
  }

  // -------------------------------------------------------------------------------------------
  // Shards

  #startShards(n: number): void {
    const max = this.#cfg.maxSamplesPerSend;
    this.#shards = Array.from({ length: n }, (_, index) => ({
      index,
      chunks: [],
      head: 0,
      pending: 0,
      oldestAt: 0,
      stopped: false,
      wake: undefined,
      running: undefined,
      abort: new AbortController(),
      bRefs: new Uint32Array(max),
      bTs: new Float64Array(max),
      bVals: new Float64Array(max),
    }));
    for (const s of this.#shards) s.running = this.#runShard(s);
    this.#o.metrics.shards.set(this.#labels, n);
    this.#o.metrics.shardsDesired.set(this.#labels, n);
  }

  async #runShard(shard: Shard): Promise<void> {
    const max = this.#cfg.maxSamplesPerSend;
    while (!shard.stopped) {
      if (shard.pending === 0) {
        await new Promise<void>((r) => (shard.wake = r));
        shard.wake = undefined;
        continue;
      }
      if (shard.pending < max && !this.#resharding) {
        const wait = this.#cfg.batchSendDeadlineMs - (this.#clock.now() - shard.oldestAt);
        if (wait > 0) {
          const ac = new AbortController();
          await Promise.race([new Promise<void>((r) => (shard.wake = r)), this.#clock.sleep(wait, ac.signal)]);
          // A preallocated reason: `abort()` without one builds a DOMException with a stack trace.
          ac.abort(WAIT_OVER);
          shard.wake = undefined;
          continue;
        }
      }
      try {
        await this.#sendBatch(shard);
      } catch (err: unknown) {
        this.#noteError(`shard ${shard.index}: ${err instanceof Error ? err.message : String(err)}`);
      }
      shard.oldestAt = this.#clock.now();
    }
  }

  #exemplarLabels(labels: Labels): Buffer {
    let b = this.#exLabelCache.get(labels);
    if (!b) {
      b = encodeLabels(labels);
      this.#exLabelCache.set(labels, b);
    }
    return b;
  }

  async #sendBatch(shard: Shard): Promise<void> {
    const max = this.#cfg.maxSamplesPerSend;
    const { bRefs, bTs, bVals } = shard;
    const acks: number[] = [];
    let exemplars: Map<number, Exemplar> | undefined;
    let n = 0;
    while (n < max && shard.head < shard.chunks.length) {
      const c = shard.chunks[shard.head]!;
      const k = Math.min(c.refs.length - c.off, max - n);
      bRefs.set(c.refs.subarray(c.off, c.off + k), n);
      bTs.set(c.ts.subarray(c.off, c.off + k), n);
      bVals.set(c.vals.subarray(c.off, c.off + k), n);
      if (c.ex) {
        for (const [p, ex] of c.ex) if (p >= c.off && p < c.off + k) (exemplars ??= new Map()).set(n + p - c.off, ex);
      }
      acks.push(c.seq, k);
      c.off += k;
      n += k;
      if (c.off === c.refs.length) shard.head++;
    }
    if (shard.head > 256 || shard.head === shard.chunks.length) {
      shard.chunks = shard.chunks.slice(shard.head);
      shard.head = 0;
    }
    shard.pending -= n;
    const m = this.#o.metrics;
    const L = this.#labels;
    let settled = false;
    try {
      settled = await this.#deliver(shard, n, exemplars);
    } finally {
      // Unsettled samples (stopped mid-send) are not acknowledged: the marker stays before them.
      if (settled) for (let i = 0; i < acks.length; i += 2) this.#ack(acks[i]!, acks[i + 1]!);
      this.#inflight -= n;
      m.samplesPending.set(L, this.#inflight);
      this.#outRate.add(n);
      if (settled) this.#advance();
      this.#wakeSpace();
    }
  }

  /**
   * Builds, sends and retries one batch. Resolves true once it was sent or dropped for good, false
   * when the queue stopped first.
   */
  async #deliver(shard: Shard, n: number, exemplars: Map<number, Exemplar> | undefined): Promise<boolean> {
    const m = this.#o.metrics;
    const L = this.#labels;
    const { bRefs, bTs, bVals } = shard;
    // One encoder for all shards: a request is encoded and compressed without yielding, and the
    // compressed body is a buffer of its own.
    const enc = (this.#enc ??= new WriteRequestEncoder(Math.min(4 * 1024 * 1024, this.#cfg.maxSamplesPerSend * 128)));
    let backoff = this.#cfg.minBackoffMs;
    const ageLimit = this.#cfg.sampleAgeLimitMs;
    for (;;) {
      enc.reset();
      let count = 0;
      let tooOld = 0;
      let highest = 0;
      let exCount = 0;
      const cutoff = ageLimit > 0 ? this.#clock.now() - ageLimit : -Infinity;
      for (let i = 0; i < n; i++) {
        const t = bTs[i]!;
        if (t < cutoff) {
          tooOld++;
          continue;
        }
        const ref = bRefs[i]!;
        if (!this.#ensureSeries(ref)) continue;
        const lb = this.#labelBytes;
        const ex = exemplars?.get(i);
        if (ex) {
          enc.addSampleAt(lb.data, lb.offset(ref), lb.length(ref), t, bVals[i]!, ex, this.#exemplarLabels(ex.labels));
          exCount++;
        } else enc.addSampleAt(lb.data, lb.offset(ref), lb.length(ref), t, bVals[i]!);
        if (t > highest) highest = t;
        count++;
      }
      if (tooOld > 0) {
        m.samplesDropped.inc({ ...L, reason: 'too_old' }, tooOld);
        n = compactYoung(bRefs, bTs, bVals, n, cutoff);
        exemplars = undefined;
      }
      if (count === 0) return true;
      if (this.#stopped) return false;
      const body = await compressOffThread(enc.finish());
      const t0 = performance.now();
      const res = await this.#o.sender.send(body, shard.abort.signal);
      const dur = (performance.now() - t0) / 1000;
      if (this.#stopped && res.kind !== 'ok') return false;
      m.sentBatchDuration.observe(L, dur);
      this.#sendRate.add(dur);
      if (res.kind === 'ok') {
        m.samplesTotal.inc(L, count);
        if (exCount > 0) m.exemplarsTotal.inc(L, exCount);
        m.bytesTotal.inc(L, body.length);
        if (highest > 0) m.highestSent.set(L, highest / 1000);
        this.#lastSuccessAt = this.#clock.now();
        return true;
      }
      if (res.kind === 'fail') {
        m.samplesFailed.inc(L, count);
        this.#noteError(`non-recoverable error, dropped ${count} samples: ${res.message}`);
        return true;
      }
      m.samplesRetried.inc(L, count);
      this.#noteError(`failed to send batch, retrying: ${res.message}`);
      const delay = res.retryAfterMs ?? backoff;
      await this.#clock.sleep(delay, shard.abort.signal);
      if (this.#stopped) return false;
      backoff = Math.min(backoff * 2, this.#cfg.maxBackoffMs);
    }
  }

  #noteError(msg: string): void {
    const now = this.#clock.now();
    this.#lastError = msg;
    this.#lastErrorAt = now;
    if (now - this.#lastLoggedErrorAt >= 10_000) {
      this.#lastLoggedErrorAt = now;
      this.#o.logger.warn(`remote_write ${this.#o.name}: ${msg}`, { url: this.#o.url });
    }
  }

  // -------------------------------------------------------------------------------------------
  // Resharding

  #updateShards(intervalS: number): void {
    const stats: ShardStats = {
      current: this.#shards.length,
      min: this.#cfg.minShards,
      max: this.#cfg.maxShards,
      samplesInRate: this.#inRate.tick(intervalS),
      samplesOutRate: this.#outRate.tick(intervalS),
      sendSecondsRate: this.#sendRate.tick(intervalS),
      // In-memory samples plus what still waits in the WAL (estimated from its bytes).
      pendingSamples:
        this.#inflight + (this.#mode === 'lagging' ? this.#o.wal.bytesBetween(this.#cursor, this.#o.wal.head) / WAL_BYTES_PER_SAMPLE : 0),
      largestAppend: Math.max(this.#recordPeak, this.#recordPeakPrev),
    };
    if (++this.#updates % SHRINK_AFTER_UPDATES === 0) {
      this.#recordPeakPrev = this.#recordPeak;
      this.#recordPeak = 0;
    }
    if (this.#resharding || this.#stopped) return;
    // Never fewer shards than it takes to hold the largest recent append in memory.
    const want = Math.max(desiredShards(stats), this.#shardsToHold(stats.largestAppend));
    this.#o.metrics.shardsDesired.set(this.#labels, want);
    this.#o.logger.debug(`remote_write ${this.#o.name}: shard update`, { ...stats, desired: want });
    const now = this.#clock.now();
    const failing = this.#lastErrorAt !== undefined && (this.#lastSuccessAt ?? 0) < this.#lastErrorAt && now - this.#lastErrorAt < FAILING_WINDOW_MS;
    if (want >= stats.current || failing) this.#lowUpdates = 0;
    if (want === stats.current || failing) return;
    if (want < stats.current && ++this.#lowUpdates < SHRINK_AFTER_UPDATES) return;
    this.#lowUpdates = 0;
    void this.reshard(want);
  }

  /**
   * Drains every shard, then restarts with `n` shards (clamped to min/max). With nothing in flight
   * the shards are replaced before this returns its promise (no drain, no await), so an append
   * that asked for more shards is enqueued to them at once instead of being read back from disk.
   */
  async reshard(n: number): Promise<void> {
    if (this.#resharding || this.#stopped) return;
    n = Math.min(this.#cfg.maxShards, Math.max(this.#cfg.minShards, n));
    if (n === this.#shards.length) return;
    this.#o.logger.info(`remote_write ${this.#o.name}: resharding`, { from: this.#shards.length, to: n });
    if (this.#inflight === 0) {
      // Idle shards hold no samples and have no send or backoff under way: they end on their own.
      for (const s of this.#shards) {
        s.stopped = true;
        s.wake?.();
      }
      this.#startShards(n);
      if (this.#mode === 'lagging') this.#kickReader();
      this.#wakeSpace();
      return;
    }
    this.#resharding = true;
    for (const s of this.#shards) s.wake?.();
    while (this.#inflight > 0 && !this.#stopped) await new Promise<void>((r) => this.#spaceWaiters.push(r));
    if (this.#stopped) return;
    const old = this.#shards;
    for (const s of old) {
      s.stopped = true;
      s.wake?.();
    }
    await Promise.all(old.map((s) => s.running));
    this.#startShards(n);
    this.#resharding = false;
    if (this.#mode === 'lagging') this.#kickReader();
    this.#wakeSpace();
  }
}

/** External labels are added unless the series already has a label of that name. */
export function withExternalLabels(labels: Labels, ext: Labels): Labels {
  const out = [...labels];
  let added = false;
  for (const e of ext) {
    if (!labels.some((l) => l.name === e.name)) {
      out.push(e);
      added = true;
    }
  }
  if (!added) return labels;
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

function compactYoung(refs: Uint32Array, ts: Float64Array, vals: Float64Array, n: number, cutoff: number): number {
  let w = 0;
  for (let i = 0; i < n; i++) {
    if (ts[i]! < cutoff) continue;
    refs[w] = refs[i]!;
    ts[w] = ts[i]!;
    vals[w] = vals[i]!;
    w++;
  }
  return w;
}
