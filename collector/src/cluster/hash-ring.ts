/**
 * Consistent hashing of string keys onto node names, modelled on ckit's `shard.Ring`: every node
 * places `tokensPerNode` tokens on a 32-bit ring; a key belongs to the node owning the first
 * token at or after the key's hash (wrapping). Tokens derive only from the node name, so every
 * process computes the same owners from the same membership, and a join or leave moves only the
 * keys adjacent to that node's tokens (about 1/N of them).
 *
 * Contract: `lookup` is allocation-free and O(1) expected (a 65536-bucket index narrows the
 * binary search to the tokens sharing the key's top 16 bits); `setNodes` is O(N·tokens·log).
 */

/** 32-bit FNV-1a over UTF-16 code units, finished with murmur3's fmix32 for avalanche. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Alloy's value: 512 tokens per node keeps every node within a few percent of 1/N. */
export const DEFAULT_TOKENS_PER_NODE = 512;

export class HashRing {
  readonly #tokensPerNode: number;
  #tokens = new Uint32Array(0);
  #owners = new Uint32Array(0);
  /** `#bucket[b]` = index of the first token whose top 16 bits are >= b (b in 0..65536). */
  #bucket = new Uint32Array(65537);
  #nodes: readonly string[] = [];

  constructor(tokensPerNode = DEFAULT_TOKENS_PER_NODE) {
    if (!Number.isInteger(tokensPerNode) || tokensPerNode < 1) throw new Error(`tokensPerNode must be a positive integer, got ${tokensPerNode}`);
    this.#tokensPerNode = tokensPerNode;
  }

  /** Node names on the ring, sorted. */
  get nodes(): readonly string[] {
    return this.#nodes;
  }

  /** Replace the ring's nodes (duplicates ignored). */
  setNodes(names: Iterable<string>): void {
    const nodes = [...new Set(names)].sort();
    const n = nodes.length * this.#tokensPerNode;
    const pairs = new Float64Array(n);
    // token * 2^16 + node index packs (token, owner) into one sortable double (exact below 2^53),
    // so ties between nodes' tokens break by name order on every process.
    if (nodes.length > 65536) throw new Error(`hash ring supports at most 65536 nodes, got ${nodes.length}`);
    let k = 0;
    for (let idx = 0; idx < nodes.length; idx++) {
      const seed = hashString(nodes[idx]!);
      for (let t = 0; t < this.#tokensPerNode; t++) {
        const token = fmix32((seed + Math.imul(t + 1, 0x9e3779b9)) | 0);
        pairs[k++] = token * 65536 + idx;
      }
    }
    pairs.sort();
    const tokens = new Uint32Array(n);
    const owners = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const p = pairs[i]!;
      const idx = p % 65536;
      tokens[i] = (p - idx) / 65536;
      owners[i] = idx;
    }
    const bucket = new Uint32Array(65537);
    let t = 0;
    for (let b = 0; b <= 65536; b++) {
      while (t < n && tokens[t]! >>> 16 < b) t++;
      bucket[b] = t;
    }
    this.#tokens = tokens;
    this.#owners = owners;
    this.#bucket = bucket;
    this.#nodes = nodes;
  }

  /** Owner of `key`, or undefined when the ring is empty. */
  lookup(key: string): string | undefined {
    const idx = this.lookupIndex(hashString(key));
    return idx < 0 ? undefined : this.#nodes[idx];
  }

  /** Index into `nodes` of the owner of a pre-computed key hash; -1 when empty. */
  lookupIndex(hash: number): number {
    const tokens = this.#tokens;
    const n = tokens.length;
    if (n === 0) return -1;
    // Only tokens sharing the key's top 16 bits can be the answer (else the next bucket's first).
    const b = hash >>> 16;
    let lo = this.#bucket[b]!;
    let hi = this.#bucket[b + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (tokens[mid]! < hash) lo = mid + 1;
      else hi = mid;
    }
    return this.#owners[lo === n ? 0 : lo]!;
  }
}
