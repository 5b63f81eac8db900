/**
 * A relabel result cache shared by the relabel components (`prometheus.relabel`, `loki.relabel`,
 * `pyroscope.relabel`): an identity WeakMap (producers reuse one `Labels` object per
 * series/stream) in front of a hash-keyed cache of at most `max_cache_size` entries, evicted
 * first in, first out. `null` results mean "dropped".
 *
 * Eviction order lives in a ring of entries, not in the Map's insertion order: reading a Map's
 * oldest key (`keys().next()`) walks over every entry deleted since the table was last rebuilt,
 * which made each miss cost tens of microseconds once more series than `max_cache_size` passed
 * through. A ring slot whose entry was deleted or replaced is stale and evicts nothing.
 */
import type { Labels } from '../types.js';
import { hashLabels32, labelsEqual } from '../labels/labels.js';

interface HashEntry {
  readonly hash: number;
  readonly input: Labels;
  readonly output: Labels | null;
}

export class RelabelCache {
  #byObject = new WeakMap<Labels, Labels | null>();
  readonly #byHash = new Map<number, HashEntry>();
  /** Entries in insertion order from `#head`; grows to `#max` slots, then is overwritten in place. */
  #ring: HashEntry[] = [];
  #head = 0;
  #max: number;
  hits = 0;
  misses = 0;

  constructor(max: number) {
    this.#max = max;
  }

  get size(): number {
    return this.#byHash.size;
  }

  clear(max = this.#max): void {
    this.#byObject = new WeakMap();
    this.#byHash.clear();
    this.#ring = [];
    this.#head = 0;
    this.#max = max;
  }

  /** Cached result, `undefined` on miss (`null` means "dropped"). */
  get(input: Labels): Labels | null | undefined {
    const o = this.#byObject.get(input);
    if (o !== undefined) {
      this.hits++;
      return o;
    }
    const e = this.#byHash.get(hashLabels32(input));
    if (e !== undefined && labelsEqual(e.input, input)) {
      // Not added to the identity map: producers that send new objects every batch would only
      // grow it (and the GC's ephemeron work) without ever hitting it.
      this.hits++;
      return e.output;
    }
    this.misses++;
    return undefined;
  }

  set(input: Labels, output: Labels | null): void {
    this.#byObject.set(input, output);
    const e: HashEntry = { hash: hashLabels32(input), input, output };
    this.#byHash.set(e.hash, e);
    const ring = this.#ring;
    if (ring.length < this.#max) {
      ring.push(e);
      return;
    }
    const old = ring[this.#head]!;
    ring[this.#head] = e;
    this.#head = this.#head + 1 === ring.length ? 0 : this.#head + 1;
    const cur = this.#byHash.get(old.hash);
    if (cur === old) this.#byHash.delete(old.hash);
    if (cur === undefined || cur === old || cur.input !== old.input) this.#byObject.delete(old.input);
  }

  delete(input: Labels): void {
    this.#byObject.delete(input);
    const h = hashLabels32(input);
    const e = this.#byHash.get(h);
    if (e !== undefined && labelsEqual(e.input, input)) this.#byHash.delete(h);
  }
}
