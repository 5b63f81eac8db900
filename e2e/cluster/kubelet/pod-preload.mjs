// @ts-check
/**
 * Pod network emulation, loaded into every Node.js container process with
 * `NODE_OPTIONS=--import <this file>` by the local kubelet. Plain JS so it runs without a build.
 *
 * Contract (all driven by env vars the kubelet sets):
 * - KUBELET_POD_IP: the pod's own loopback IP (127.0.x.y). `listen` on a wildcard/unspecified host
 *   (`0.0.0.0`, `::`, empty, omitted) or on localhost binds this IP instead, so pods never collide
 *   on a port. Connections to `localhost`/127.0.0.1/::1 go to this IP (containers of one pod share
 *   it as "localhost"), except host:port pairs listed in KUBELET_PASSTHROUGH (the API server).
 * - KUBELET_POD_HOSTNAME: returned by `os.hostname()`; `os.networkInterfaces()` shows `lo` and
 *   an `eth0` carrying the pod IP.
 * - KUBELET_WATCHDOG_PID: the kubelet's process; when it disappears without stopping its pods
 *   (SIGKILL, crashed test worker) the process exits with 137 instead of living on as an orphan.
 * - KUBELET_POD_NAMESPACE: search domain base (`<svc>` → `<svc>.<ns>.svc.cluster.local`).
 * - node:http agent connects (options with `path: null`) to localhost are not remapped (host-side
 *   test receivers on 127.0.0.1 rely on it); their cluster names and ClusterIPs are.
 * - KUBELET_DNS_FILE: JSON `{ names: {fqdn: [ip...]}, services: {clusterIP: {ports: {port: [[ip, targetPort]...]}}} }`
 *   kept current by the kubelet (atomically replaced). `dns.lookup`, `dns.promises.lookup`,
 *   `dns.resolve4` answer from it; connects to a ClusterIP (or a name that resolves to one) are
 *   sent to a ready endpoint's IP and target port, like kube-proxy. Unknown names fall through to
 *   the system resolver.
 */
import dns from 'node:dns';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import os from 'node:os';

const podIP = process.env.KUBELET_POD_IP ?? '';
const hostname = process.env.KUBELET_POD_HOSTNAME ?? '';
const namespace = process.env.KUBELET_POD_NAMESPACE ?? 'default';
const dnsFile = process.env.KUBELET_DNS_FILE ?? '';
const passthrough = new Set((process.env.KUBELET_PASSTHROUGH ?? '').split(',').filter(Boolean));
const DOMAIN = 'cluster.local';
const LOCAL = new Set(['localhost', '127.0.0.1', '::1', '::ffff:127.0.0.1']);
const WILDCARD = new Set(['0.0.0.0', '::', '', '::0', '0:0:0:0:0:0:0:0']);

/** @type {{ names: Record<string, string[]>, services: Record<string, { ports: Record<string, [string, number][]> }> }} */
let table = { names: {}, services: {} };
let tableMtime = -1;
let tableCheckedAt = 0;

function currentTable() {
  const now = Date.now();
  if (!dnsFile || now - tableCheckedAt < 50) return table;
  tableCheckedAt = now;
  try {
    const st = fs.statSync(dnsFile);
    if (st.mtimeMs !== tableMtime) {
      table = JSON.parse(fs.readFileSync(dnsFile, 'utf8'));
      tableMtime = st.mtimeMs;
    }
  } catch {
    // keep the last good table; the kubelet rewrites the file atomically
  }
  return table;
}

/** Candidate FQDNs for a name, in resolv.conf search order (`<ns>.svc.cluster.local svc.cluster.local cluster.local`). */
function candidates(name) {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith(`.${DOMAIN}`)) return [n];
  return [`${n}.${namespace}.svc.${DOMAIN}`, `${n}.svc.${DOMAIN}`, `${n}.${DOMAIN}`, n];
}

/** @returns {string[] | undefined} */
function resolveName(name) {
  if (typeof name !== 'string') return undefined;
  const lower = name.toLowerCase();
  if (podIP && (lower === 'localhost' || (hostname && lower === hostname.toLowerCase()))) return [podIP];
  if (net.isIP(name)) return undefined;
  const t = currentTable();
  for (const c of candidates(name)) {
    const ips = t.names[c];
    if (ips) return ips;
  }
  return undefined;
}

// ---- dns ----
const origLookup = dns.lookup;
function toLookupResult(ips, options, callback) {
  const opts = typeof options === 'number' ? { family: options } : (options ?? {});
  const list = ips.map((address) => ({ address, family: net.isIP(address) }));
  if (list.length === 0) {
    const err = Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    return process.nextTick(callback, err);
  }
  if (opts.all) return process.nextTick(callback, null, list);
  const pick = list[Math.floor(Math.random() * list.length)];
  return process.nextTick(callback, null, pick.address, pick.family);
}
// @ts-expect-error replacing an overloaded function
dns.lookup = function lookup(name, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const ips = resolveName(name);
  if (ips) return toLookupResult(ips, options, callback);
  return origLookup.call(this, name, options, callback);
};
const origPromisesLookup = dns.promises.lookup;
dns.promises.lookup = function lookup(name, options) {
  const ips = resolveName(name);
  if (!ips) return origPromisesLookup.call(this, name, options);
  return new Promise((resolve, reject) =>
    toLookupResult(ips, options, (err, address, family) => (err ? reject(err) : resolve(Array.isArray(address) ? address : { address, family }))),
  );
};
const origResolve4 = dns.resolve4;
// @ts-expect-error replacing an overloaded function
dns.resolve4 = function resolve4(name, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const ips = resolveName(name);
  if (ips) return process.nextTick(callback, null, options?.ttl ? ips.map((address) => ({ address, ttl: 5 })) : ips);
  return origResolve4.call(this, name, options, callback);
};
const origPromisesResolve4 = dns.promises.resolve4;
dns.promises.resolve4 = function resolve4(name, options) {
  const ips = resolveName(name);
  if (ips) return Promise.resolve(options?.ttl ? ips.map((address) => ({ address, ttl: 5 })) : ips);
  return origPromisesResolve4.call(this, name, options);
};

// ---- watchdog ----
const watchdog = Number(process.env.KUBELET_WATCHDOG_PID ?? '');
if (watchdog > 0) {
  setInterval(() => {
    try {
      process.kill(watchdog, 0);
    } catch (e) {
      if (/** @type {NodeJS.ErrnoException} */ (e).code !== 'EPERM') process.exit(137);
    }
  }, 1000).unref();
}

// ---- os ----
if (hostname) os.hostname = () => hostname;
if (podIP) {
  // A pod sees `lo` and `eth0` carrying its own IP (what Alloy's --cluster.advertise-interfaces
  // default, eth0, looks for), not the host's interfaces.
  const mac = '02:42:' + podIP.split('.').slice(0, 4).map((n) => Number(n).toString(16).padStart(2, '0')).join(':');
  const view = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
    eth0: [{ address: podIP, netmask: '255.255.255.255', family: 'IPv4', mac, internal: false, cidr: `${podIP}/32` }],
  };
  // @ts-expect-error narrower than NetworkInterfaceInfo's union, structurally the IPv4 variant
  os.networkInterfaces = () => structuredClone(view);
}

// ---- net: listen ----
const origListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(...args) {
  if (podIP) {
    const first = args[0];
    if (first !== null && typeof first === 'object' && !(first instanceof net.Server) && !('fd' in first) && !('_handle' in first)) {
      if (first.path === undefined && (first.host === undefined || WILDCARD.has(first.host) || LOCAL.has(first.host))) {
        args[0] = { ...first, host: podIP, ipv6Only: false };
      }
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      const second = args[1];
      if (typeof second === 'string') {
        if (WILDCARD.has(second) || LOCAL.has(second)) args[1] = podIP;
      } else {
        args.splice(1, 0, podIP);
      }
    } else if (first === undefined || typeof first === 'function') {
      args.unshift(0, podIP);
    }
  }
  return origListen.apply(this, args);
};

// ---- net: connect ----
/**
 * Where a connect to host:port really goes. `remapLocal` false leaves localhost targets alone:
 * node:http's agent (options with `path: null`) has always reached the host's loopback here, and
 * journeys' host-side receivers (remote-write sinks on 127.0.0.1) rely on it; only its cluster
 * names and ClusterIPs are routed.
 */
function mapTarget(host, port, remapLocal = true) {
  if (!podIP) return undefined;
  const h = host ?? 'localhost';
  if (LOCAL.has(h) || (hostname && h === hostname)) {
    if (!remapLocal) return undefined;
    if (passthrough.has(`${h === '::1' ? '[::1]' : h}:${port}`) || passthrough.has(`localhost:${port}`)) return undefined;
    return { host: podIP, port };
  }
  let ips = net.isIP(h) ? [h] : resolveName(h);
  if (!ips) return undefined;
  const svc = currentTable().services[ips[0]];
  if (!svc) return net.isIP(h) ? undefined : { host: ips[0], port };
  const backends = svc.ports[String(port)] ?? [];
  if (backends.length === 0) return { host: '127.255.255.254', port: 9 };
  const [ip, target] = backends[Math.floor(Math.random() * backends.length)];
  return { host: ip, port: target };
}

const origConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  try {
    const first = args[0];
    if (Array.isArray(first)) {
      // internal normalized form [options, cb]
      const o = first[0];
      if (o && typeof o === 'object' && o.path == null && o.port !== undefined) {
        const m = mapTarget(o.host, Number(o.port), o.path === undefined);
        if (m) first[0] = { ...o, host: m.host, port: m.port };
      }
    } else if (first !== null && typeof first === 'object') {
      if (first.path == null && first.port !== undefined) {
        const m = mapTarget(first.host, Number(first.port), first.path === undefined);
        if (m) args[0] = { ...first, host: m.host, port: m.port };
      }
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      const host = typeof args[1] === 'string' ? args[1] : undefined;
      const m = mapTarget(host, Number(first));
      if (m) {
        if (typeof args[1] === 'string') args.splice(0, 2, m.port, m.host);
        else args.splice(0, 1, m.port, m.host);
      }
    }
  } catch {
    // never break a connect because of the emulation; fall through unchanged
  }
  return origConnect.apply(this, args);
};

// ESM named imports of built-ins (`import { hostname } from 'node:os'`, `import { lookup } from
// 'node:dns'`) are snapshots: re-sync them so they see the patched functions too.
syncBuiltinESMExports();
