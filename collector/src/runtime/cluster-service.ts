/**
 * The `cluster` service without `--cluster.enabled`: it keeps the `--cluster.*` settings and
 * reports that this node runs alone (every key is owned locally). With `--cluster.enabled`,
 * `cli/run.ts` uses the gossip service in `cluster/service.ts` instead.
 */
import type { ClusterPeer, ClusterService } from './services.js';

export interface ClusterSettings {
  readonly enabled: boolean;
  readonly nodeName: string;
  readonly advertiseAddress: string;
  readonly joinAddresses: readonly string[];
  readonly discoverPeers: string;
  readonly rejoinIntervalMs: number;
  readonly maxJoinPeers: number;
  readonly name: string;
}

export class SingleNodeCluster implements ClusterService {
  readonly settings: ClusterSettings;
  constructor(settings: ClusterSettings) {
    this.settings = settings;
  }
  get enabled(): boolean {
    return this.settings.enabled;
  }
  get nodeName(): string {
    return this.settings.nodeName;
  }
  get advertiseAddress(): string {
    return this.settings.advertiseAddress;
  }
  get joinAddresses(): readonly string[] {
    return this.settings.joinAddresses;
  }
  status(): { state: 'disabled' | 'single-node'; message: string; peers: string[] } {
    if (!this.settings.enabled) return { state: 'disabled', message: 'clustering disabled: single node', peers: [this.nodeName] };
    return {
      state: 'single-node',
      message: 'clustering requested (--cluster.enabled) but not implemented in this build: running as a single node that owns every target',
      peers: [this.nodeName],
    };
  }
  owns(): boolean {
    return true;
  }
  /** Membership never changes on a single node: listeners are never called. */
  onChange(): () => void {
    return () => undefined;
  }
  peers(): ClusterPeer[] {
    return [{ name: this.nodeName, addr: this.advertiseAddress, isSelf: true, state: 'participant' }];
  }
}
