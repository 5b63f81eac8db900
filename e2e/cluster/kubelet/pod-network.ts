/**
 * Pod networking with Linux network namespaces (needs root and `ip` from iproute2): each pod gets
 * its own namespace `alloy-<block>-<id>` with `lo` and an `eth0` veth whose peer is attached to
 * the node's bridge `alloybr<block>`; the bridge carries the gateway address `<base>.0.1/16` on the
 * host, so the host (tests, the kubelet's probes) and every pod reach each other's addresses,
 * and nothing leaves the machine (no NAT, no forwarding, no default route out of the bridge).
 *
 * Why: the real kube-apiserver refuses Endpoints with loopback addresses, so Services only get
 * endpoints when pods have real (non-loopback) addresses. All names carry the address block,
 * which the caller owns exclusively (`claimIpBlock`), so leftovers of a killed run are removed
 * when the block is next used.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const IP = '/usr/sbin/ip';

/** Why pod network namespaces cannot be used here, or undefined. */
export function podNetworkUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'pod network namespaces need root';
  if (!fs.existsSync(IP)) return `pod network namespaces need ${IP} (apt-get install iproute2)`;
  return undefined;
}

async function ip(args: readonly string[]): Promise<string> {
  try {
    return (await run(IP, [...args], { timeout: 10_000 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

export class PodNetwork {
  /** First two octets of pod addresses, e.g. `10.42`. */
  readonly base: string;
  /** The host's address on the bridge (`<base>.0.1`): the pods' gateway. */
  readonly gateway: string;
  readonly bridge: string;
  #prefix: string;
  #pods = new Map<string, string>();

  private constructor(base: string) {
    this.base = base;
    const block = base.split('.')[1]!;
    this.gateway = `${base}.0.1`;
    this.bridge = `alloybr${block}`;
    this.#prefix = `alloy-${block}-`;
  }

  /**
   * Creates the bridge for `base` (`10.N`), removing what a dead run left under the same names.
   * @throws when `base` is not `10.N` or the commands fail (the message names the command).
   */
  static async create(base: string): Promise<PodNetwork> {
    if (!/^10\.(\d{1,3})$/.test(base) || Number(base.split('.')[1]) > 255) throw new Error(`PodNetwork: base must look like 10.N (N 0-255), got ${JSON.stringify(base)}`);
    const net = new PodNetwork(base);
    await net.#removeLeftovers();
    await ip(['link', 'add', 'name', net.bridge, 'type', 'bridge']);
    await ip(['addr', 'add', `${net.gateway}/16`, 'dev', net.bridge]);
    await ip(['link', 'set', net.bridge, 'up']);
    return net;
  }

  async #removeLeftovers(): Promise<void> {
    const names = (await ip(['netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '').filter((n) => n.startsWith(this.#prefix));
    for (const n of names) await ip(['netns', 'del', n]).catch(() => undefined);
    if ((await ip(['-o', 'link', 'show'])).split('\n').some((l) => l.split(': ')[1]?.split('@')[0] === this.bridge)) await ip(['link', 'del', this.bridge]);
  }

  /** The namespace of pod `uid` (for `ip netns exec`), or undefined when it has none. */
  namespaceOf(uid: string): string | undefined {
    return this.#pods.get(uid);
  }

  /** Creates pod `uid`'s namespace with `lo` and `eth0` = `address`/16, default route via the gateway. Returns its name. */
  async attach(uid: string, address: string): Promise<string> {
    const existing = this.#pods.get(uid);
    if (existing) return existing;
    const id = createHash('sha256').update(uid).digest('hex').slice(0, 8);
    const ns = `${this.#prefix}${id}`;
    const host = `alh${id}`;
    const peer = `alp${id}`;
    await ip(['netns', 'add', ns]);
    this.#pods.set(uid, ns);
    await ip(['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    await ip(['link', 'set', peer, 'netns', ns]);
    await ip(['link', 'set', host, 'master', this.bridge]);
    await ip(['link', 'set', host, 'up']);
    const inNs = (args: readonly string[]): Promise<string> => ip(['-n', ns, ...args]);
    await inNs(['link', 'set', peer, 'name', 'eth0']);
    await inNs(['addr', 'add', `${address}/16`, 'dev', 'eth0']);
    await inNs(['link', 'set', 'eth0', 'up']);
    await inNs(['link', 'set', 'lo', 'up']);
    await inNs(['route', 'add', 'default', 'via', this.gateway]);
    return ns;
  }

  /** Removes pod `uid`'s namespace (and with it both ends of its veth). */
  async detach(uid: string): Promise<void> {
    const ns = this.#pods.get(uid);
    if (!ns) return;
    this.#pods.delete(uid);
    await ip(['netns', 'del', ns]).catch(() => undefined);
  }

  /** Removes every pod namespace and the bridge. */
  async close(): Promise<void> {
    for (const uid of [...this.#pods.keys()]) await this.detach(uid);
    await ip(['link', 'del', this.bridge]).catch(() => undefined);
  }

  /** `ip netns exec <ns> <executable> <args>`: runs a container in its pod's namespace (no fork: same pid). */
  static exec(ns: string, executable: string, args: readonly string[]): [string, string[]] {
    return [IP, ['netns', 'exec', ns, executable, ...args]];
  }
}
