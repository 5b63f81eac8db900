/**
 * Peer addresses for joining: `--cluster.join-addresses` entries are `host`, `host:port` or
 * `[v6]:port`; a missing port means the local HTTP listen port. A DNS name resolves to every
 * address it has (A and AAAA), like a Kubernetes headless Service lists every ready pod.
 * Also infers `--cluster.advertise-address` when it is not given.
 */
import { promises as dns } from 'node:dns';
import net from 'node:net';
import os from 'node:os';

export type LookupAll = (host: string) => Promise<readonly string[]>;

const systemLookup: LookupAll = async (host) => (await dns.lookup(host, { all: true })).map((a) => a.address);

export function splitHostPort(entry: string, defaultPort: number): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? /^([^:]+)(?::(\d+))?$/.exec(entry);
  if (!m) {
    if (net.isIPv6(entry)) return { host: entry, port: defaultPort };
    throw new Error(`invalid cluster peer address "${entry}": expected host, host:port or [ipv6]:port`);
  }
  const port = m[2] === undefined ? defaultPort : Number(m[2]);
  if (!(port > 0 && port < 65536)) throw new Error(`invalid cluster peer address "${entry}": port must be 1-65535`);
  return { host: m[1]!, port };
}

export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Resolve every entry; failures are reported per entry, never thrown. */
export async function resolveJoinAddresses(
  entries: readonly string[],
  defaultPort: number,
  lookup: LookupAll = systemLookup,
): Promise<{ readonly addrs: string[]; readonly errors: string[] }> {
  const addrs = new Set<string>();
  const errors: string[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      try {
        const { host, port } = splitHostPort(entry.trim(), defaultPort);
        const ips = net.isIP(host) ? [host] : await lookup(host);
        if (ips.length === 0) throw new Error('no addresses');
        for (const ip of ips) addrs.add(joinHostPort(ip, port));
      } catch (err) {
        errors.push(`${entry}: ${(err as Error).message}`);
      }
    }),
  );
  return { addrs: [...addrs].sort(), errors };
}

/**
 * `--cluster.advertise-address` when given (port defaults to the listen port); otherwise, when
 * the server listens on one concrete address, that address (the only one peers can reach);
 * otherwise (wildcard listen) the first IPv4 address of `interfaces`, as Alloy infers it.
 * @throws Error naming the flags to set when no address can be inferred.
 */
export function inferAdvertiseAddress(flag: string, interfaces: readonly string[], listenAddr: string, ifaces = os.networkInterfaces()): string {
  const listen = splitHostPort(listenAddr.startsWith(':') ? `0.0.0.0${listenAddr}` : listenAddr, 12345);
  if (flag) {
    const { host, port } = splitHostPort(flag, listen.port);
    return joinHostPort(host, port);
  }
  if (listen.host !== '0.0.0.0' && listen.host !== '::') return joinHostPort(listen.host, listen.port);
  for (const name of interfaces) {
    const v4 = (ifaces[name] ?? []).find((a) => a.family === 'IPv4' && !a.internal);
    if (v4) return joinHostPort(v4.address, listen.port);
  }
  throw new Error(
    `cannot infer an address to advertise to the cluster: the server listens on the wildcard address ${listenAddr} and interfaces ${interfaces.join(', ')} have no IPv4 address; ` +
      'set --cluster.advertise-address or --cluster.advertise-interfaces',
  );
}
