/**
 * A scrape pool: the loops of one job's targets (Prometheus's `scrapePool`). `sync` turns
 * discovered targets into `Target`s (defaults, optional relabel rules, checks, cluster
 * ownership, `target_limit`), keeps the loops of unchanged targets (series caches and staleness
 * state survive), starts new ones and stops removed ones with staleness markers.
 * Used by `prometheus.scrape` (one pool) and the `prometheus.operator.*` components (one pool
 * per generated job).
 *
 * Contracts:
 * - `configure` applies new loop settings and HTTP client settings from the next scrape on;
 *   it throws (keeping the previous client) when the HTTP settings are unusable.
 * - `sync` calls are serialised by the caller (one at a time); it never throws.
 * - `stop` stops every loop with staleness markers and closes the HTTP client.
 */
import type { Logger } from 'winston';
import type { MetricsReceiver, SampleBatch } from '../../../prom/types.js';
import { ScrapeClientSlot, type HttpClientSettings } from './http-client.js';
import { ScrapeLoop, type LoopConfig, type ScrapeCounters, type TargetStatus } from './scrape-loop.js';
import { populateTarget, scrapeOffset, type Target, type TargetDefaults } from './target.js';

export interface PoolConfig {
  readonly loop: LoopConfig;
  readonly defaults: TargetDefaults;
  /** 0: unlimited. Above it, no target is scraped and `sync` reports the error. */
  readonly targetLimit: number;
  readonly http: HttpClientSettings;
}

export interface PoolDeps {
  readonly receivers: () => readonly MetricsReceiver[];
  /** Live debugging: called with every batch a loop forwards (absent when nobody can watch). */
  readonly publish?: (batch: SampleBatch) => void;
  readonly logger: Logger;
  readonly counters?: ScrapeCounters | undefined;
  /** Seed of the stable scrape offsets (hostname and component id). */
  readonly seed: number;
  /** Rewrites `alloy.internal:12345`-style addresses (the HTTP service's `dialAddress`). */
  readonly dial?: ((hostPort: string) => string) | undefined;
}

export interface DroppedTarget {
  readonly labels: Readonly<Record<string, string>>;
  readonly error: string;
}

export interface SyncResult {
  /** Targets that could not be scraped (bad labels, over the target limit); not those relabeling dropped. */
  readonly dropped: readonly DroppedTarget[];
  /** Set when `target_limit` was exceeded. */
  readonly error: string | undefined;
}

export class ScrapePool {
  readonly #deps: PoolDeps;
  readonly #clients: ScrapeClientSlot;
  readonly #loops = new Map<string, ScrapeLoop>();
  #cfg: PoolConfig | undefined;
  #droppedByRelabel = 0;

  constructor(deps: PoolDeps) {
    this.#deps = deps;
    this.#clients = new ScrapeClientSlot(deps.dial);
  }

  /** @throws Error when the HTTP settings are unusable (unreadable TLS files, bad proxy URL). */
  configure(cfg: PoolConfig): void {
    this.#clients.apply(cfg.http);
    this.#cfg = cfg;
  }

  get size(): number {
    return this.#loops.size;
  }

  /** Targets the last `sync` dropped through relabeling. */
  get droppedByRelabel(): number {
    return this.#droppedByRelabel;
  }

  async sync(targets: readonly Readonly<Record<string, string>>[], owns: (t: Readonly<Record<string, string>>) => boolean = () => true): Promise<SyncResult> {
    const cfg = this.#cfg;
    if (!cfg) throw new Error('ScrapePool: configure() first');
    const wanted = new Map<string, Target>();
    const dropped: DroppedTarget[] = [];
    let relabeled = 0;
    for (const t of targets) {
      if (!owns(t)) continue;
      const res = populateTarget(t, cfg.defaults);
      if (res.ok) wanted.set(res.target.key, res.target);
      else if (res.dropped) relabeled++;
      else dropped.push({ labels: t, error: res.error });
    }
    this.#droppedByRelabel = relabeled;
    let error: string | undefined;
    if (cfg.targetLimit > 0 && wanted.size > cfg.targetLimit) {
      error = `target_limit exceeded (number of targets: ${wanted.size}, limit: ${cfg.targetLimit}); raise target_limit or filter targets`;
      for (const t of wanted.values()) dropped.push({ labels: t.discovered, error });
      wanted.clear();
    }
    const stops: Promise<void>[] = [];
    for (const [key, loop] of this.#loops) {
      const target = wanted.get(key);
      if (!target) {
        this.#loops.delete(key);
        stops.push(loop.stop(true));
      } else {
        loop.setConfig(cfg.loop);
        loop.retarget(target, scrapeOffset(target, target.intervalMs, this.#deps.seed));
      }
    }
    for (const [key, target] of wanted) {
      if (this.#loops.has(key)) continue;
      const loop = new ScrapeLoop(target, cfg.loop, { client: () => this.#clients.client, receivers: this.#deps.receivers, publish: this.#deps.publish, logger: this.#deps.logger, counters: this.#deps.counters });
      this.#loops.set(key, loop);
      loop.start(scrapeOffset(target, target.intervalMs, this.#deps.seed));
    }
    await Promise.all(stops);
    return { dropped, error };
  }

  statuses(): TargetStatus[] {
    return [...this.#loops.values()].map((l) => l.status());
  }

  async stop(): Promise<void> {
    const loops = [...this.#loops.values()];
    this.#loops.clear();
    await Promise.all(loops.map((l) => l.stop(true)));
    this.#clients.close();
  }
}
