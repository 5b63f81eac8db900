/**
 * A relabel result cache shared by the relabel components (`prometheus.relabel`, `loki.relabel`):
 * an identity WeakMap (producers reuse one `Labels` object per series/stream) in front of a
 * bounded, hash-keyed LRU of `max_cache_size` entries. `null` results mean "dropped".
 */
import type { Labels } from '../types.js';
import { hashLabels32, labelsEqual } from '../labels/labels.js';

interface HashEntry {
  readonly input: Labels;
  readonly output: Labels | null;
}

export class RelabelCache {
  #byObject = new WeakMap<Labels, Labels | null>();
  #byHash = new Map<number, HashEntry>();
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
    return undefined;
  }

  set(input: Labels, output: Labels | null): void {
    this.#byObject.set(input, output);
    const h = hashLabels32(input);
    this.#byHash.delete(h);
    this.#byHash.set(h, { input, output });
    if (this.#byHash.size > this.#max) {
      const oldest = this.#byHash.keys().next().value as number;
      const e = this.#byHash.get(oldest)!;
      this.#byHash.delete(oldest);
      this.#byObject.delete(e.input);
    }
  }

  delete(input: Labels): void {
    this.#byObject.delete(input);
    const h = hashLabels32(input);
    const e = this.#byHash.get(h);
    if (e !== undefined && labelsEqual(e.input, input)) this.#byHash.delete(h);
  }
}

