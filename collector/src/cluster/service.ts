/**
 * `GossipCluster`: the runtime `cluster` service when `--cluster.enabled=true`.
 *
 * Contracts:
 * - `start()` resolves the join addresses (or runs `--cluster.discover-peers`), joins (failing to reach anyone bootstraps a new
 *   cluster, as Alloy does), then gossips every `gossipIntervalMs` and re-resolves and rejoins
 *   every `--cluster.rejoin-interval`. Background loops log failures and never throw.
 * - `owns(key)`: this node is a participant, the cluster is ready (`--cluster.wait-for-size`
 *   reached, or `--cluster.wait-timeout` passed) and the 512-token ring over the participants'
 *   names maps `key` to this node. Every node answers the same for the same membership.
 * - `onChange` listeners run after the ring changed, at most once per `notifyMinIntervalMs`
 *   (Alloy's 1s), asynchronously; a throwing listener is logged and ignored.
 * - `stop()` leaves gracefully (peers see `terminating`, then drop the node), bounded in time.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from 'winston';
import type { ClusterPeer, ClusterService } from '../runtime/services.js';
import type { DiscoverFn } from './discover-peers.js';
import { resolveJoinAddresses, type LookupAll } from './discovery.js';
import { HashRing } from './hash-ring.js';
import { HttpGossipTransport, serveGossip } from './http-transport.js';
import { Membership, type GossipTransport, type MembershipEvent, type PeerState } from './membership.js';

export interface GossipClusterOptions {
  readonly nodeName: string;
  /** Resolved `host:port` other nodes dial. */
  readonly advertiseAddress: string;
  /** Raw `--cluster.join-addresses` entries. */
  readonly joinAddresses: readonly string[];
  /** `--cluster.discover-peers` lookup; replaces `joinAddresses` when set. */
  readonly discover?: DiscoverFn;
  /** Port assumed for join addresses without one (the HTTP listen port). */
  readonly defaultPort: number;
  readonly clusterName: string;
  /** `--cluster.rejoin-interval`; 0 disables rejoining. */
  readonly rejoinIntervalMs: number;
  /** `--cluster.max-join-peers`; 0 means all. */
  readonly maxJoinPeers: number;
  /** `--cluster.wait-for-size`; 0 disables waiting. */
  readonly waitForSize: number;
  /** `--cluster.wait-timeout`; 0 waits forever. */
  readonly waitTimeoutMs: number;
  readonly logger: Logger;
  readonly registry?: Registry;
  /** Default: HTTP on the peers' advertised addresses. */
  readonly transport?: GossipTransport;
  readonly lookup?: LookupAll;
  /** Default 500ms. */
  readonly gossipIntervalMs?: number;
  /** Default 2500ms. */
  readonly suspectAfterMs?: number;
  /** Default 5000ms. */
  readonly failAfterMs?: number;
  /** Default 1000ms. */
  readonly notifyMinIntervalMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Peer as listed by `/api/v0/web/peers` and the UI. */
export interface ClusterPeerInfo extends ClusterPeer {
  readonly suspect: boolean;
  readonly lastSeenAgoMs: number;
}

export class GossipCluster implements ClusterService {
  readonly enabled = true;
  readonly #opts: GossipClusterOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #membership: Membership;
  readonly #transport: GossipTransport;
  readonly #ring = new HashRing();
  readonly #listeners = new Set<() => void>();
  readonly #timers: NodeJS.Timeout[] = [];
  #ticking = false;
  #rejoining = false;
  #notifyTimer: NodeJS.Timeout | undefined;
  #lastNotify = 0;
  #belowSince: number | undefined;
  #ready: boolean;
  #running = false;
  #lastJoinErrors: Array<{ readonly addr?: string; readonly error: string }> = [];
  readonly #events: Counter<'event'> | undefined;
  readonly #exchanges: Counter<'kind' | 'result'> | undefined;
  readonly #bytes: { tx: Counter<never>; rx: Counter<never> } | undefined;

  constructor(opts: GossipClusterOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#now = opts.now ?? Date.now;
    this.#ready = opts.waitForSize <= 1;
    this.#belowSince = this.#ready ? undefined : this.#now();
    const reg = opts.registry ? [opts.registry] : [];
    const onBytes = (dir: 'tx' | 'rx', n: number): void => this.#bytes?.[dir].inc(n);
    this.#transport = opts.transport ?? new HttpGossipTransport({ onBytes });
    this.#membership = new Membership({
      name: opts.nodeName,
      addr: opts.advertiseAddress,
      clusterName: opts.clusterName,
      transport: this.#transport,
      state: 'participant',
      now: this.#now,
      ...(opts.random ? { random: opts.random } : {}),
      suspectAfterMs: opts.suspectAfterMs ?? 2_500,
      failAfterMs: opts.failAfterMs ?? 5_000,
      onChange: (event, node) => this.#membershipChanged(event, node),
    });
    this.#ring.setNodes([opts.nodeName]);
    if (opts.registry) {
      const constLabels = { cluster_name: opts.clusterName };
      this.#exchanges = new Counter({
        name: 'cluster_transport_exchanges_total',
        help: 'Gossip exchanges this node started, by kind (gossip, join) and result (success, failure).',
        labelNames: ['kind', 'result'],
        registers: reg,
      });
      this.#events = new Counter({ name: 'cluster_node_gossip_received_events_total', help: 'Total number of gossip messages handled by the node.', labelNames: ['event'], registers: reg });
      this.#bytes = {
        tx: new Counter({ name: 'cluster_transport_tx_bytes_total', help: 'Total number of bytes sent by the gossip transport.', registers: reg }),
        rx: new Counter({ name: 'cluster_transport_rx_bytes_total', help: 'Total number of bytes received by the gossip transport.', registers: reg }),
      };
      const self = this;
      new Gauge({
        name: 'cluster_node_info',
        help: 'Info about the local node. Label values will change as the node changes state.',
        labelNames: ['state'],
        registers: reg,
        collect() {
          this.reset();
          this.set({ state: self.#membership.self.state }, 1);
        },
      });
      new Gauge({
        name: 'cluster_node_peers',
        help: 'Current number of healthy peers by state',
        labelNames: ['cluster_name', 'state'],
        registers: reg,
        collect() {
          this.reset();
          const by: Record<PeerState, number> = { participant: 0, viewer: 0, terminating: 0 };
          for (const p of self.#membership.peers()) by[p.state]++;
          for (const [state, n] of Object.entries(by)) this.set({ ...constLabels, state }, n);
        },
      });
      new Gauge({
        name: 'cluster_node_gossip_alive_peers',
        help: 'How many alive gossip peers the node knows about (this node included, suspects excluded).',
        labelNames: ['cluster_name'],
        registers: reg,
        collect() {
          this.set(constLabels, self.#membership.peers().filter((p) => !p.suspect).length);
        },
      });
      new Gauge({
        name: 'cluster_node_gossip_health_score',
        help: 'Health score of the node. Lower values are better, and 0 indicates a perfectly healthy node.',
        labelNames: ['cluster_name'],
        registers: reg,
        collect() {
          this.set(constLabels, self.#joinProblems().length > 0 && self.#membership.size === 1 ? 1 : 0);
        },
      });
      new Gauge({
        name: 'cluster_node_gossip_proto_version',
        help: 'Gossip protocol version in use by this node.',
        labelNames: ['cluster_name'],
        registers: reg,
        collect() {
          this.set(constLabels, 1);
        },
      });
      new Gauge({
        name: 'cluster_node_ready',
        help: '1 when the cluster reached --cluster.wait-for-size (or the wait timed out), so components may use it.',
        registers: reg,
        collect() {
          this.set(self.ready ? 1 : 0);
        },
      });
    }
  }

  get nodeName(): string {
    return this.#opts.nodeName;
  }
  get advertiseAddress(): string {
    return this.#opts.advertiseAddress;
  }
  get joinAddresses(): readonly string[] {
    return this.#opts.joinAddresses;
  }
  get membership(): Membership {
    return this.#membership;
  }

  /** Whether components may use the cluster (`--cluster.wait-for-size`). */
  get ready(): boolean {
    this.#updateReady();
    return this.#ready;
  }

  status(): { state: 'clustered'; message: string; peers: string[] } {
    const peers = this.#membership.peers();
    const parts = peers.filter((p) => p.state === 'participant').length;
    const name = this.#opts.clusterName ? ` "${this.#opts.clusterName}"` : '';
    let message = `clustered: ${peers.length} node(s) in cluster${name}, ${parts} participant(s)`;
    if (!this.ready) message += `; waiting for --cluster.wait-for-size=${this.#opts.waitForSize} participants before components use clustering`;
    const problems = this.#joinProblems();
    if (problems.length > 0) message += `; last join problems: ${problems.join('; ')}`;
    return { state: 'clustered', message, peers: peers.map((p) => p.name) };
  }

  owns(key: string): boolean {
    // Hot path (once per target per resync): readiness is re-evaluated only while not ready.
    if (this.#membership.self.state !== 'participant' || (!this.#ready && !this.ready)) return false;
    return this.#ring.lookup(key) === this.#opts.nodeName;
  }

  /** Owner's node name for `key` per this node's view (undefined when there are no participants). */
  ownerOf(key: string): string | undefined {
    return this.#ring.lookup(key);
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  peers(): ClusterPeerInfo[] {
    return this.#membership.peers().map((p) => ({ name: p.name, addr: p.addr, isSelf: p.isSelf, state: p.state, suspect: p.suspect, lastSeenAgoMs: p.lastSeenAgoMs }));
  }

  /** HTTP handler for `POST /api/v0/cluster/gossip`. */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return serveGossip(this.#membership, req, res, { onBytes: (d, n) => this.#bytes?.[d].inc(n) });
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#log.info('starting cluster node', { advertise_addr: this.#opts.advertiseAddress, join_addresses: this.#opts.joinAddresses.join(','), cluster_name: this.#opts.clusterName });
    await this.rejoin('initial join');
    if (!this.#running) return;
    const interval = this.#opts.gossipIntervalMs ?? 500;
    this.#timers.push(setInterval(() => void this.tick(), interval));
    if (this.#opts.rejoinIntervalMs > 0) this.#timers.push(setInterval(() => void this.rejoin('rejoin'), this.#opts.rejoinIntervalMs));
    if (this.#opts.waitForSize > 1 && this.#opts.waitTimeoutMs > 0) this.#timers.push(setInterval(() => this.#updateReady(), Math.min(this.#opts.waitTimeoutMs, 1_000)));
    for (const t of this.#timers) t.unref();
  }

  /** One gossip round (exposed for tests); never throws. */
  async tick(): Promise<void> {
    if (this.#ticking || !this.#running) return;
    this.#ticking = true;
    try {
      const results = await this.#membership.tick();
      this.#countExchanges('gossip', results);
      for (const r of results) if (!r.ok) this.#log.debug('gossip exchange failed', { peer: r.addr, err: r.error });
    } catch (err) {
      this.#log.error('gossip round failed', { err: (err as Error).message });
    } finally {
      this.#ticking = false;
    }
  }

  /** Resolve `--cluster.join-addresses` and push-pull with up to `--cluster.max-join-peers` of them; never throws. */
  async rejoin(why: string): Promise<void> {
    if (this.#rejoining) return;
    this.#rejoining = true;
    try {
      let entries = this.#opts.joinAddresses;
      const discoverErrors: string[] = [];
      if (this.#opts.discover) {
        try {
          entries = await this.#opts.discover();
        } catch (err) {
          entries = [];
          discoverErrors.push((err as Error).message);
        }
      }
      const resolved = await resolveJoinAddresses(entries, this.#opts.defaultPort, this.#opts.lookup);
      const addrs = resolved.addrs;
      const errors = [...discoverErrors, ...resolved.errors];
      let targets = addrs.filter((a) => a !== this.#opts.advertiseAddress);
      const max = this.#opts.maxJoinPeers;
      if (max > 0 && targets.length > max) targets = shuffle(targets, this.#opts.random ?? Math.random).slice(0, max);
      const results = await this.#membership.join(targets);
      this.#countExchanges('join', results);
      const failed = results.filter((r) => !r.ok).map((r) => ({ addr: r.addr, error: r.error ?? 'failed' }));
      this.#lastJoinErrors = [...errors.map((error) => ({ error })), ...failed];
      const problems = this.#lastJoinErrors.map((e) => e.error).join('; ');
      const joined = results.filter((r) => r.ok).length;
      if (targets.length > 0 && joined === 0) {
        this.#log.warn(`${why}: failed to connect to peers; ${why === 'initial join' ? 'bootstrapping a new cluster' : 'keeping the current cluster view'}`, { errors: problems });
      } else if (this.#lastJoinErrors.length > 0) {
        this.#log.warn(`${why}: some peers could not be reached`, { joined, errors: problems });
      } else {
        this.#log.debug(`${why} finished`, { joined, peers: targets.join(',') });
      }
    } catch (err) {
      this.#log.error(`${why} failed`, { err: (err as Error).message });
    } finally {
      this.#rejoining = false;
    }
  }

  /** Graceful leave (bounded by `timeoutMs`), then stop every loop. */
  async stop(timeoutMs = 3_000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
    if (this.#notifyTimer) clearTimeout(this.#notifyTimer);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
    await Promise.race([this.#membership.leave().catch((err: unknown) => this.#log.warn('leaving the cluster failed', { err: String(err) })), bound]);
    clearTimeout(timer);
    if (this.#transport instanceof HttpGossipTransport) this.#transport.close();
    this.#log.info('left the cluster');
  }

  #countExchanges(kind: 'gossip' | 'join', results: readonly { readonly ok: boolean }[]): void {
    if (!this.#exchanges) return;
    const ok = results.filter((r) => r.ok).length;
    if (ok > 0) this.#exchanges.inc({ kind, result: 'success' }, ok);
    if (results.length > ok) this.#exchanges.inc({ kind, result: 'failure' }, results.length - ok);
  }

  /** Join errors not since resolved (an address that failed may have joined us meanwhile). */
  #joinProblems(): string[] {
    const live = new Set(this.#membership.peers().map((p) => p.addr));
    return this.#lastJoinErrors.filter((e) => e.addr === undefined || !live.has(e.addr)).map((e) => e.error);
  }

  #membershipChanged(event: MembershipEvent, node: string): void {
    this.#events?.inc({ event });
    if (event === 'node_failed') this.#log.warn('peer failed: no gossip heartbeat within the failure timeout', { peer: node });
    else this.#log.info('cluster membership changed', { event, peer: node });
    const participants = this.#membership
      .peers()
      .filter((p) => p.state === 'participant')
      .map((p) => p.name);
    this.#ring.setNodes(participants);
    this.#updateReady();
    this.#scheduleNotify();
  }

  #updateReady(): void {
    const min = this.#opts.waitForSize;
    const now = this.#now();
    const size = this.#ring.nodes.length;
    if (min <= 1 || size >= min) this.#belowSince = undefined;
    else this.#belowSince ??= now;
    const waited = this.#belowSince !== undefined && this.#opts.waitTimeoutMs > 0 && now - this.#belowSince >= this.#opts.waitTimeoutMs;
    const ready = this.#belowSince === undefined || waited;
    if (ready === this.#ready) return;
    this.#ready = ready;
    if (ready) this.#log.info(waited ? 'cluster did not reach --cluster.wait-for-size within --cluster.wait-timeout; proceeding' : 'cluster is ready for components', { participants: size, wait_for_size: min });
    else this.#log.warn('cluster is below --cluster.wait-for-size; components stop using it until it recovers or --cluster.wait-timeout passes', { participants: size, wait_for_size: min });
    this.#scheduleNotify();
  }

  #scheduleNotify(): void {
    if (this.#notifyTimer || this.#listeners.size === 0) return;
    const min = this.#opts.notifyMinIntervalMs ?? 1_000;
    const wait = Math.max(0, this.#lastNotify + min - this.#now());
    this.#notifyTimer = setTimeout(() => {
      this.#notifyTimer = undefined;
      this.#lastNotify = this.#now();
      for (const l of [...this.#listeners]) {
        try {
          l();
        } catch (err) {
          this.#log.error('cluster change listener failed', { err: (err as Error).message });
        }
      }
    }, wait);
    this.#notifyTimer.unref();
  }
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}
