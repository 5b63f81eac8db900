/**
 * One generation of `WriteRequestDecoder`'s series cache: each entry maps a series' raw label bytes
 * (the label fields of a TimeSeries as they came on the wire) to its decoded `Labels`.
 *
 * Layout, chosen for the cost of a lookup at 10^5–10^6 series, where each dependent memory access
 * misses the CPU caches: the bytes of all entries sit in one slab in insertion order, the entries'
 * offsets, lengths and hashes in typed arrays, and the index is open addressing (linear probing,
 * load ≤ 1/2) over an `Int32Array`. A hit reads an index slot, the entry's hash and length, and
 * its bytes; no object per entry is touched until the `Labels` are returned.
 *
 * Senders repeat their series in the same order request after request (a remote-write shard
 * sends the series the scrapes produced, in scrape order), so entries inserted in arrival order
 * are usually asked for in that order again: `matches(e + 1, …)` after a hit on `e` answers
 * most lookups without hashing, from bytes next to the last ones read.
 *
 * Entries are never removed: the decoder drops a whole generation instead.
 */
import type { Labels } from '../types.js';

/** FNV-1a over a byte range, four bytes per step, folded to 30 bits (a V8 small integer). */
export function hashRange(view: DataView, buf: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) h = Math.imul(h ^ view.getUint32(i, true), 0x01000193);
  for (; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

const MIN_ENTRIES = 1024;

export class SeriesGeneration {
  #slab: Uint8Array;
  #slabView: DataView;
  #used = 0;
  #starts: Int32Array;
  #lengths: Int32Array;
  #hashes: Int32Array;
  readonly #labels: Labels[] = [];
  #entries = 0;
  /** Slot → entry + 1; 0 is an empty slot. Its length is a power of two ≥ 2 × entries. */
  #index: Int32Array;
  #mask: number;
  /** Series keyed by decoded labels (interleaved label fields, or none): rare, so a plain Map. */
  readonly #byString = new Map<string, Labels>();

  /** `expectedEntries` sizes the arrays at start; they grow as needed. */
  constructor(expectedEntries = MIN_ENTRIES) {
    const n = Math.max(MIN_ENTRIES, expectedEntries);
    this.#slab = new Uint8Array(n * 64);
    this.#slabView = new DataView(this.#slab.buffer);
    this.#starts = new Int32Array(n);
    this.#lengths = new Int32Array(n);
    this.#hashes = new Int32Array(n);
    let slots = 2;
    while (slots < n * 2) slots *= 2;
    this.#index = new Int32Array(slots);
    this.#mask = slots - 1;
  }

  /** Series held, by label bytes and by decoded key. */
  get size(): number {
    return this.#entries + this.#byString.size;
  }

  /** Entries keyed by label bytes; valid entry indices are [0, entries). */
  get entries(): number {
    return this.#entries;
  }

  labelsAt(e: number): Labels {
    return this.#labels[e]!;
  }

  hashAt(e: number): number {
    return this.#hashes[e]!;
  }

  /** Whether entry `e` holds exactly the bytes `buf[start, end)` (`view` is a DataView over `buf`). */
  matches(e: number, buf: Uint8Array, view: DataView, start: number, end: number): boolean {
    const len = end - start;
    if (this.#lengths[e] !== len) return false;
    const slab = this.#slabView;
    const s = this.#starts[e]! - start;
    let i = start;
    for (; i + 4 <= end; i += 4) if (slab.getInt32(s + i, true) !== view.getInt32(i, true)) return false;
    const bytes = this.#slab;
    for (; i < end; i++) if (bytes[s + i] !== buf[i]) return false;
    return true;
  }

  /** The entry whose bytes are `buf[start, end)` with hash `h`, or -1. */
  find(h: number, buf: Uint8Array, view: DataView, start: number, end: number): number {
    const index = this.#index;
    const mask = this.#mask;
    const hashes = this.#hashes;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const e = index[slot]! - 1;
      if (e < 0) return -1;
      if (hashes[e] === h && this.matches(e, buf, view, start, end)) return e;
    }
  }

  /** Adds the bytes `src[start, end)` (not already present) with hash `h`; returns the new entry. */
  insert(h: number, src: Uint8Array, start: number, end: number, labels: Labels): number {
    const len = end - start;
    const e = this.#entries;
    if (e === this.#starts.length) this.#growEntries();
    if (this.#used + len > this.#slab.length) this.#growSlab(len);
    const at = this.#used;
    if (len <= 64) {
      const slab = this.#slab;
      for (let i = 0; i < len; i++) slab[at + i] = src[start + i]!;
    } else {
      this.#slab.set(src.subarray(start, end), at);
    }
    this.#used = at + len;
    this.#starts[e] = at;
    this.#lengths[e] = len;
    this.#hashes[e] = h;
    this.#labels.push(labels);
    this.#entries = e + 1;
    if (this.#entries * 2 > this.#index.length) this.#rehash();
    else this.#place(this.#index, this.#mask, h, e);
    return e;
  }

  /** Copies entry `e` of `from` into this table; returns the new entry. */
  insertFrom(from: SeriesGeneration, e: number): number {
    const start = from.#starts[e]!;
    return this.insert(from.#hashes[e]!, from.#slab, start, start + from.#lengths[e]!, from.#labels[e]!);
  }

  getString(key: string): Labels | undefined {
    return this.#byString.get(key);
  }

  setString(key: string, labels: Labels): void {
    this.#byString.set(key, labels);
  }

  #place(index: Int32Array, mask: number, h: number, e: number): void {
    let slot = h & mask;
    while (index[slot] !== 0) slot = (slot + 1) & mask;
    index[slot] = e + 1;
  }

  #rehash(): void {
    const slots = this.#index.length * 2;
    const index = new Int32Array(slots);
    const mask = slots - 1;
    for (let e = 0; e < this.#entries; e++) this.#place(index, mask, this.#hashes[e]!, e);
    this.#index = index;
    this.#mask = mask;
  }

  #growEntries(): void {
    const n = this.#starts.length * 2;
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.#starts = grow(this.#starts);
    this.#lengths = grow(this.#lengths);
    this.#hashes = grow(this.#hashes);
  }

  #growSlab(need: number): void {
    let n = this.#slab.length * 2;
    while (n < this.#used + need) n *= 2;
    const slab = new Uint8Array(n);
    slab.set(this.#slab.subarray(0, this.#used));
    this.#slab = slab;
    this.#slabView = new DataView(slab.buffer);
  }
}
