/**
 * A relabel result cache shared by the relabel components (`prometheus.relabel`, `loki.relabel`,
 * `pyroscope.relabel`): an identity WeakMap in front of a hash-keyed cache of at most
 * `max_cache_size` entries, evicted first in, first out. `null` results mean "dropped".
 *
 * The identity map answers for every input object that is still alive: producers keep one `Labels`
 * object per series for as long as they track it (the remote-write decoder's series cache, a
 * scrape loop's series cache), so it follows the producer's live series and is bounded by them,
 * not by `max_cache_size`; an entry goes when its input object is collected. That keeps the result
 * (and so the output object, which downstream identity caches such as the WAL's key on) the same
 * for a series even when more series pass than `max_cache_size`. The hash-keyed side, bounded by
 * `max_cache_size` as upstream's cache is, answers for input objects not seen before.
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
  /** The input of the last miss and its hash. */
  #missInput: Labels | undefined;
  #missHash = 0;
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
    const h = hashLabels32(input);
    const e = this.#byHash.get(h);
    if (e !== undefined && labelsEqual(e.input, input)) {
      // Not added to the identity map: producers that send new objects every batch would only
      // grow it (and the GC's ephemeron work) without ever hitting it.
      this.hits++;
      return e.output;
    }
    this.misses++;
    // A miss is followed by `set` of the same input: it reuses this hash.
    this.#missInput = input;
    this.#missHash = h;
    return undefined;
  }

  set(input: Labels, output: Labels | null): void {
    this.#byObject.set(input, output);
    const e: HashEntry = { hash: input === this.#missInput ? this.#missHash : hashLabels32(input), input, output };
    this.#missInput = undefined;
    this.#byHash.set(e.hash, e);
    const ring = this.#ring;
    if (ring.length < this.#max) {
      ring.push(e);
      return;
    }
    const old = ring[this.#head]!;
    ring[this.#head] = e;
    this.#head = this.#head + 1 === ring.length ? 0 : this.#head + 1;
    if (this.#byHash.get(old.hash) === old) this.#byHash.delete(old.hash);
  }

  delete(input: Labels): void {
    this.#byObject.delete(input);
    const h = hashLabels32(input);
    const e = this.#byHash.get(h);
    if (e !== undefined && labelsEqual(e.input, input)) this.#byHash.delete(h);
  }
}
