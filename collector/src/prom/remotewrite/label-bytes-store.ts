/**
 * The encoded label bytes of each WAL series ref, as one remote-write queue sends them, kept in one
 * growing buffer with an offset and a length per ref. One `Buffer` object per series costs ~100
 * bytes of heap on top of its bytes; here a series costs its bytes plus 8.
 *
 * Contracts:
 * - `state(ref)` is `unknown` until `set`, then `stored` (bytes kept) or `dropped` (`set(ref,
 *   null)`: the series is not sent, e.g. write relabeling dropped it), until `delete(ref)`.
 * - `data` may be replaced by `set` (growth) and `delete` (compaction): read it after the last
 *   `set`/`delete`, together with `offset`/`length`, and do not keep it across them.
 * - Space of deleted refs is reclaimed by compaction once it is more than half of the buffer.
 */
export type LabelBytesState = 'unknown' | 'stored' | 'dropped';

const UNKNOWN = -1;
const DROPPED = -2;
const MIN_BYTES = 64 * 1024;

export class LabelBytesStore {
  #data: Buffer;
  #used = 0;
  #wasted = 0;
  #off: Int32Array;
  #len: Uint32Array;

  constructor(initialBytes = MIN_BYTES, initialRefs = 1024) {
    this.#data = Buffer.allocUnsafe(initialBytes);
    this.#off = new Int32Array(initialRefs).fill(UNKNOWN);
    this.#len = new Uint32Array(initialRefs);
  }

  get data(): Buffer {
    return this.#data;
  }

  /** Bytes held for stored refs (excluding space of deleted ones not yet reclaimed). */
  get bytes(): number {
    return this.#used - this.#wasted;
  }

  state(ref: number): LabelBytesState {
    const o = ref < this.#off.length ? this.#off[ref]! : UNKNOWN;
    return o >= 0 ? 'stored' : o === DROPPED ? 'dropped' : 'unknown';
  }

  /** Offset of a stored ref's bytes in `data`; negative when not stored. */
  offset(ref: number): number {
    return ref < this.#off.length ? this.#off[ref]! : UNKNOWN;
  }

  length(ref: number): number {
    return this.#len[ref]!;
  }

  /** Stores a copy of `bytes` for `ref` (`null`: the series is dropped). */
  set(ref: number, bytes: Uint8Array | null): void {
    if (!Number.isInteger(ref) || ref < 0) throw new RangeError(`LabelBytesStore: invalid ref ${ref}`);
    this.delete(ref);
    this.#ensureRef(ref);
    if (bytes === null) {
      this.#off[ref] = DROPPED;
      return;
    }
    const n = bytes.length;
    if (this.#used + n > this.#data.length) this.#grow(n);
    this.#data.set(bytes, this.#used);
    this.#off[ref] = this.#used;
    this.#len[ref] = n;
    this.#used += n;
  }

  delete(ref: number): void {
    if (ref >= this.#off.length) return;
    const o = this.#off[ref]!;
    if (o === UNKNOWN) return;
    this.#off[ref] = UNKNOWN;
    if (o < 0) return;
    this.#wasted += this.#len[ref]!;
    this.#len[ref] = 0;
    if (this.#wasted > MIN_BYTES && this.#wasted * 2 > this.#used) {
      const live = this.#used - this.#wasted;
      this.#compact(Math.max(MIN_BYTES, live + (live >> 1)));
    }
  }

  #ensureRef(ref: number): void {
    if (ref < this.#off.length) return;
    const size = Math.max(ref + 1, this.#off.length * 2);
    const off = new Int32Array(size).fill(UNKNOWN);
    off.set(this.#off);
    const len = new Uint32Array(size);
    len.set(this.#len);
    this.#off = off;
    this.#len = len;
  }

  /** Makes room for `extra` more bytes: compacts when most of the buffer is deleted space, else doubles. */
  #grow(extra: number): void {
    const live = this.#used - this.#wasted;
    const need = live + extra + (live >> 1);
    this.#compact(this.#wasted * 2 > this.#used ? Math.max(MIN_BYTES, need) : Math.max(this.#data.length * 2, need));
  }

  /** Copies the stored bytes, in ref order, into a new buffer of `size` bytes. */
  #compact(size: number): void {
    const next = Buffer.allocUnsafe(size);
    const off = this.#off;
    const len = this.#len;
    const src = this.#data;
    let p = 0;
    for (let r = 0; r < off.length; r++) {
      const o = off[r]!;
      if (o < 0) continue;
      const n = len[r]!;
      src.copy(next, p, o, o + n);
      off[r] = p;
      p += n;
    }
    this.#data = next;
    this.#used = p;
    this.#wasted = 0;
  }
}
