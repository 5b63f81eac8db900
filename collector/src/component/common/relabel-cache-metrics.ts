/**
 * The cache metrics every `*.relabel` component exports under its own prefix, as upstream names
 * them: `<prefix>_cache_hits`, `<prefix>_cache_misses` (counters) and `<prefix>_cache_size`.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RelabelCache } from '../../prom/relabel/cache.js';

export class RelabelCacheMetrics {
  readonly #hits: Counter;
  readonly #misses: Counter;
  readonly #size: Gauge;

  /** `prefix`, e.g. `loki_relabel`. */
  constructor(prefix: string, registers: Registry[]) {
    this.#hits = new Counter({ name: `${prefix}_cache_hits`, help: 'Total number of cache hits', registers });
    this.#misses = new Counter({ name: `${prefix}_cache_misses`, help: 'Total number of cache misses', registers });
    this.#size = new Gauge({ name: `${prefix}_cache_size`, help: 'Total size of relabel cache', registers });
  }

  /** Counts the lookups `cache` answered since its counters read `hits0` and `misses0`, and its size now. */
  record(cache: RelabelCache, hits0: number, misses0: number): void {
    this.#hits.inc(cache.hits - hits0);
    this.#misses.inc(cache.misses - misses0);
    this.#size.set(cache.size);
  }
}
