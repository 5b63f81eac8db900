/**
 * Gossip membership: which collector processes form the cluster, and in which state.
 *
 * Protocol (heartbeat gossip with push-pull anti-entropy):
 * - Every node owns one record `{name, addr, state, incarnation, heartbeat}`. `incarnation` is
 *   fixed per process start (a restarted node supersedes its old records); `heartbeat` grows by
 *   one every `tick()`. Records are ordered by `(incarnation, heartbeat)`; newer always wins.
 * - `tick()` sends this node's full view to `fanout` random live peers and merges their answers
 *   (push-pull), so news reaches every node in O(log N) ticks.
 * - A peer whose record has not advanced for `suspectAfterMs` is suspect; after `failAfterMs` it
 *   is removed (both scaled by max(1, log10(cluster size))) and kept as a tombstone for `tombstoneMs`, which is gossiped too, so stale copies
 *   cannot resurrect it and other nodes drop it at once.
 * - `leave()` announces `terminating`, then `left`, to every live peer (graceful shutdown).
 * - Messages carry the cluster name; a node answers a different name with
 *   `ClusterNameMismatchError` and never merges the foreign records.
 *
 * No timers and no I/O: the caller drives `tick()`/`join()`, and injects the clock, randomness
 * and transport. Methods never throw for network failures; they report them in their results.
 */

export type PeerState = 'participant' | 'viewer' | 'terminating';

export interface NodeRecord {
  readonly name: string;
  /** Advertised `host:port` other nodes dial. */
  readonly addr: string;
  readonly state: PeerState;
  readonly incarnation: number;
  readonly heartbeat: number;
  /** Set once the node has left (gracefully or declared failed): a tombstone. */
  readonly left?: boolean;
}

export interface GossipMessage {
  /** `--cluster.name`; must match the receiver's. */
  readonly cluster: string;
  /** Sender's node name. */
  readonly from: string;
  readonly nodes: readonly NodeRecord[];
}

export interface GossipTransport {
  /** Send `msg` to `addr` and return the peer's view; rejects on any failure. */
  exchange(addr: string, msg: GossipMessage): Promise<GossipMessage>;
}

export class ClusterNameMismatchError extends Error {
  constructor(ours: string, theirs: string, from: string) {
    super(
      `cluster name mismatch: node "${from}" belongs to cluster "${theirs}" but this node's --cluster.name is "${ours}"; ` +
        'give every node of one cluster the same --cluster.name',
    );
    this.name = 'ClusterNameMismatchError';
  }
}

export class NodeNameConflictError extends Error {
  constructor(name: string, theirAddr: string, ourAddr: string) {
    super(`node name conflict: ${theirAddr} and ${ourAddr} both use --cluster.node-name "${name}"; give every node a unique name (the default is the hostname)`);
    this.name = 'NodeNameConflictError';
  }
}

export type MembershipEvent = 'node_join' | 'node_leave' | 'node_update' | 'node_failed';

export interface MembershipOptions {
  readonly name: string;
  readonly addr: string;
  readonly clusterName: string;
  readonly transport: GossipTransport;
  readonly state?: PeerState;
  /** Milliseconds; default `Date.now`. */
  readonly now?: () => number;
  /** Uniform [0,1); default `Math.random`. */
  readonly random?: () => number;
  /** Peers contacted per tick; default 3. */
  readonly fanout?: number;
  /** Default 2500. */
  readonly suspectAfterMs?: number;
  /** Default 5000. */
  readonly failAfterMs?: number;
  /** Default 60000. */
  readonly tombstoneMs?: number;
  /** Called synchronously after a merge or tick changed who is in the cluster or their state/address. */
  readonly onChange?: (event: MembershipEvent, node: string) => void;
}

export interface PeerView {
  readonly name: string;
  readonly addr: string;
  readonly state: PeerState;
  readonly isSelf: boolean;
  /** No fresh heartbeat for `suspectAfterMs`. */
  readonly suspect: boolean;
  /** Milliseconds since this node last saw the peer's record advance. */
  readonly lastSeenAgoMs: number;
}

export interface ExchangeResult {
  readonly addr: string;
  readonly ok: boolean;
  readonly error?: string;
}

interface Member {
  rec: NodeRecord;
  seenAt: number;
}

function newer(a: { incarnation: number; heartbeat: number }, b: { incarnation: number; heartbeat: number }): boolean {
  return a.incarnation > b.incarnation || (a.incarnation === b.incarnation && a.heartbeat > b.heartbeat);
}

export class Membership {
  readonly #opts: MembershipOptions;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #fanout: number;
  readonly #suspectAfter: number;
  readonly #failAfter: number;
  readonly #tombstoneMs: number;
  #self: NodeRecord;
  readonly #members = new Map<string, Member>();
  readonly #tombstones = new Map<string, { rec: NodeRecord; until: number }>();
  #stopped = false;

  constructor(opts: MembershipOptions) {
    if (!opts.name) throw new Error('cluster node name must not be empty: set --cluster.node-name');
    if (!opts.addr) throw new Error('cluster advertise address must not be empty: set --cluster.advertise-address');
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
    this.#fanout = opts.fanout ?? 3;
    this.#suspectAfter = opts.suspectAfterMs ?? 2_500;
    this.#failAfter = opts.failAfterMs ?? 5_000;
    this.#tombstoneMs = opts.tombstoneMs ?? 60_000;
    if (this.#failAfter <= this.#suspectAfter) throw new Error(`failAfterMs (${this.#failAfter}) must exceed suspectAfterMs (${this.#suspectAfter})`);
    this.#self = { name: opts.name, addr: opts.addr, state: opts.state ?? 'participant', incarnation: this.#now(), heartbeat: 0 };
  }

  get name(): string {
    return this.#self.name;
  }

  get self(): NodeRecord {
    return this.#self;
  }

  /** This node and every live peer, sorted by name. */
  peers(): PeerView[] {
    const now = this.#now();
    const suspectAfter = this.#suspectAfter * this.#scale();
    const out: PeerView[] = [{ name: this.#self.name, addr: this.#self.addr, state: this.#self.state, isSelf: true, suspect: false, lastSeenAgoMs: 0 }];
    for (const m of this.#members.values()) {
      const ago = now - m.seenAt;
      out.push({ name: m.rec.name, addr: m.rec.addr, state: m.rec.state, isSelf: false, suspect: ago >= suspectAfter, lastSeenAgoMs: ago });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Number of live nodes including this one. */
  get size(): number {
    return this.#members.size + 1;
  }

  /** Change this node's state (e.g. viewer → participant); peers learn it on the next exchange. */
  setState(state: PeerState): void {
    if (this.#self.state === state) return;
    this.#bump({ state });
    this.#opts.onChange?.('node_update', this.#self.name);
  }

  /** Answer a peer's exchange: merge its view and return ours. @throws ClusterNameMismatchError, NodeNameConflictError */
  handle(msg: GossipMessage): GossipMessage {
    if (msg.cluster !== this.#opts.clusterName) throw new ClusterNameMismatchError(this.#opts.clusterName, msg.cluster, msg.from);
    this.#checkConflict(msg);
    this.#merge(msg.nodes);
    return this.#digest();
  }

  /** One gossip round: heartbeat, failure detection, push-pull with up to `fanout` random peers. */
  async tick(): Promise<ExchangeResult[]> {
    if (this.#stopped) return [];
    this.#bump({});
    this.#detectFailures();
    const live = [...this.#members.values()].map((m) => m.rec.addr);
    return this.#exchangeAll(this.#pick(live, this.#fanout));
  }

  /**
   * Push-pull with each address (already resolved `host:port`; this node's own address is
   * skipped). Returns one result per contacted address.
   */
  async join(addrs: readonly string[]): Promise<ExchangeResult[]> {
    if (this.#stopped) return [];
    const targets = [...new Set(addrs)].filter((a) => a !== this.#self.addr);
    return this.#exchangeAll(targets);
  }

  /** Graceful leave: announce `terminating`, then `left`, to every live peer. Idempotent. */
  async leave(): Promise<void> {
    if (this.#stopped) return;
    const peers = [...this.#members.values()].map((m) => m.rec.addr);
    this.#bump({ state: 'terminating' });
    await this.#exchangeAll(peers);
    this.#bump({ left: true });
    this.#stopped = true;
    const msg = this.#digest();
    await Promise.allSettled(peers.map((a) => this.#opts.transport.exchange(a, msg)));
  }

  /** A message from another process using this node's name would make both fight over one record. */
  #checkConflict(msg: GossipMessage): void {
    if (msg.from !== this.#self.name) return;
    const theirs = msg.nodes.find((n) => n.name === msg.from);
    if (theirs && theirs.addr !== this.#self.addr) throw new NodeNameConflictError(msg.from, theirs.addr, this.#self.addr);
  }

  #bump(change: Partial<NodeRecord>): void {
    this.#self = { ...this.#self, ...change, heartbeat: this.#self.heartbeat + 1 };
  }

  #digest(): GossipMessage {
    const nodes: NodeRecord[] = [this.#self];
    for (const m of this.#members.values()) nodes.push(m.rec);
    const now = this.#now();
    for (const [name, t] of this.#tombstones) {
      if (t.until <= now) this.#tombstones.delete(name);
      else nodes.push(t.rec);
    }
    return { cluster: this.#opts.clusterName, from: this.#self.name, nodes };
  }

  async #exchangeAll(addrs: readonly string[]): Promise<ExchangeResult[]> {
    if (addrs.length === 0) return [];
    const msg = this.#digest();
    const results = await Promise.allSettled(addrs.map((a) => this.#opts.transport.exchange(a, msg)));
    return results.map((r, i) => {
      const addr = addrs[i]!;
      if (r.status === 'rejected') return { addr, ok: false, error: r.reason instanceof Error ? r.reason.message : String(r.reason) };
      if (r.value.cluster !== this.#opts.clusterName) {
        return { addr, ok: false, error: new ClusterNameMismatchError(this.#opts.clusterName, r.value.cluster, r.value.from).message };
      }
      try {
        this.#checkConflict(r.value);
      } catch (err) {
        return { addr, ok: false, error: (err as Error).message };
      }
      if (!this.#stopped) this.#merge(r.value.nodes);
      return { addr, ok: true };
    });
  }

  #merge(nodes: readonly NodeRecord[]): void {
    const now = this.#now();
    for (const rec of nodes) {
      if (rec.name === this.#self.name) {
        if (rec.addr !== this.#self.addr) continue; // a conflicting process's record: never adopt or refute it
        // Someone holds a newer record of this name (an earlier process with a later clock, or a
        // false failure verdict): refute it by moving past its incarnation.
        if (newer(rec, this.#self) && !this.#stopped) this.#self = { ...this.#self, incarnation: rec.incarnation + 1, heartbeat: 0 };
        continue;
      }
      const tomb = this.#tombstones.get(rec.name);
      if (tomb && !newer(rec, tomb.rec)) continue;
      const cur = this.#members.get(rec.name);
      // A tombstone of the very record we hold is a failure verdict on it: accept it too.
      if (cur && !newer(rec, cur.rec) && !(rec.left && !newer(cur.rec, rec))) continue;
      if (rec.left) {
        this.#tombstones.set(rec.name, { rec, until: now + this.#tombstoneMs });
        if (cur) {
          this.#members.delete(rec.name);
          this.#opts.onChange?.('node_leave', rec.name);
        }
        continue;
      }
      this.#tombstones.delete(rec.name);
      this.#members.set(rec.name, { rec, seenAt: now });
      if (!cur) this.#opts.onChange?.('node_join', rec.name);
      else if (cur.rec.state !== rec.state || cur.rec.addr !== rec.addr) this.#opts.onChange?.('node_update', rec.name);
    }
  }

  /** Timeouts grow with log10(cluster size) (as memberlist's suspicion timeout), since news needs O(log N) rounds to arrive. */
  #scale(): number {
    return Math.max(1, Math.log10(this.size));
  }

  #detectFailures(): void {
    const now = this.#now();
    const failAfter = this.#failAfter * this.#scale();
    for (const [name, m] of this.#members) {
      if (now - m.seenAt < failAfter) continue;
      this.#members.delete(name);
      this.#tombstones.set(name, { rec: { ...m.rec, left: true }, until: now + this.#tombstoneMs });
      this.#opts.onChange?.('node_failed', name);
    }
  }

  /** Up to `k` distinct random elements (partial Fisher-Yates). */
  #pick<T>(xs: T[], k: number): T[] {
    const n = Math.min(k, xs.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.#random() * (xs.length - i));
      const t = xs[i]!;
      xs[i] = xs[j]!;
      xs[j] = t;
    }
    return xs.slice(0, n);
  }
}
