/**
 * Test support: an in-process `GossipTransport` network with a manual clock, so membership tests
 * are deterministic (no timers, no sockets). Used by this folder's tests and the cluster bench.
 */
import { ClusterNameMismatchError, Membership, type GossipMessage, type GossipTransport, type MembershipOptions } from './membership.js';

export class ManualClock {
  #t: number;
  constructor(start = 1_000_000) {
    this.#t = start;
  }
  now = (): number => this.#t;
  advance(ms: number): void {
    this.#t += ms;
  }
}

/** Seeded PRNG (mulberry32) for reproducible peer selection. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class InProcessNetwork {
  readonly #nodes = new Map<string, Membership>();
  readonly #down = new Set<string>();
  /** Messages delivered (both directions of an exchange count once). */
  exchanges = 0;

  transport(): GossipTransport {
    return {
      exchange: async (addr: string, msg: GossipMessage): Promise<GossipMessage> => {
        const node = this.#nodes.get(addr);
        if (!node || this.#down.has(addr)) throw new Error(`connect ECONNREFUSED ${addr}`);
        this.exchanges++;
        // Records are immutable (Membership replaces, never mutates them), so sharing is safe.
        return node.handle(msg);
      },
    };
  }

  add(opts: Omit<MembershipOptions, 'transport'>): Membership {
    const m = new Membership({ ...opts, transport: this.transport() });
    this.#nodes.set(opts.addr, m);
    return m;
  }

  /** Simulate a crash (SIGKILL): the node stops answering and is no longer ticked by `tickAll`. */
  kill(addr: string): void {
    this.#down.add(addr);
  }

  live(): Membership[] {
    return [...this.#nodes.entries()].filter(([a]) => !this.#down.has(a)).map(([, m]) => m);
  }

  remove(addr: string): void {
    this.#nodes.delete(addr);
  }

  async tickAll(): Promise<void> {
    for (const m of this.live()) await m.tick();
  }
}

export { ClusterNameMismatchError };
