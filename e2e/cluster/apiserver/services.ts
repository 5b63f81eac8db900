/**
 * Service address allocation: cluster IPs from the service CIDR (`None` for headless services,
 * requested IPs checked for conflicts) and node ports from 30000-32767, plus the IP family
 * defaults the real server sets.
 */
import type { StatusCause } from './errors.js';
import { getPath, isObject, type KubeObject } from './types.js';

export class ServiceAddressAllocator {
  readonly #base: number;
  readonly #size: number;

  /** @throws when `cidr` is not an IPv4 CIDR between /8 and /24 */
  constructor(cidr: string) {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m || Number(m[5]) < 8 || Number(m[5]) > 24 || m.slice(1, 5).some((o) => Number(o) > 255)) {
      throw new Error(`serviceCidr "${cidr}" must be an IPv4 CIDR between /8 and /24, e.g. 10.96.0.0/16`);
    }
    this.#base = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    this.#size = 2 ** (32 - Number(m[5]));
  }

  /** The address `offset` hosts into the range (offset 1 is the `kubernetes` Service). */
  ip(offset: number): string {
    const n = (this.#base + offset) >>> 0;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }

  /**
   * Fills `spec.clusterIP(s)`, IP families and node ports of a new Service, given the existing
   * ones. Returns a cause when a requested cluster IP or node port is taken.
   */
  allocate(svc: KubeObject, existing: readonly KubeObject[]): StatusCause | undefined {
    const spec = isObject(svc['spec']) ? svc['spec'] : (svc['spec'] = {});
    const usedIps = new Set(existing.map((s) => String(getPath(s, 'spec.clusterIP'))));
    const ip = spec['clusterIP'];
    if (ip === 'None') {
      spec['clusterIPs'] = ['None'];
    } else if (typeof ip === 'string' && ip !== '') {
      if (usedIps.has(ip)) return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(ip)}: failed to allocate IP ${ip}: provided IP is already allocated`, field: 'spec.clusterIPs' };
      spec['clusterIPs'] = [ip];
    } else if (spec['type'] !== 'ExternalName') {
      const span = this.#size - 12;
      let chosen: string | undefined;
      for (let i = 0; i < span && !chosen; i++) {
        const cand = this.ip(10 + ((i * 7919) % span));
        if (!usedIps.has(cand)) chosen = cand;
      }
      if (!chosen) return { reason: 'FieldValueInvalid', message: 'Internal error occurred: failed to allocate a serviceIP: range is full', field: 'spec.clusterIP' };
      spec['clusterIP'] = chosen;
      spec['clusterIPs'] = [chosen];
    }
    if (spec['type'] !== 'ExternalName') {
      if (spec['ipFamilies'] === undefined) spec['ipFamilies'] = ['IPv4'];
      if (spec['ipFamilyPolicy'] === undefined) spec['ipFamilyPolicy'] = 'SingleStack';
    }
    if ((spec['type'] === 'NodePort' || spec['type'] === 'LoadBalancer') && Array.isArray(spec['ports'])) {
      const usedPorts = new Set<number>();
      for (const s of existing) {
        const ports = getPath(s, 'spec.ports');
        if (Array.isArray(ports)) for (const p of ports) if (isObject(p) && typeof p['nodePort'] === 'number') usedPorts.add(p['nodePort']);
      }
      let next = 30000;
      for (const [i, p] of spec['ports'].entries()) {
        if (!isObject(p)) continue;
        if (typeof p['nodePort'] === 'number') {
          if (usedPorts.has(p['nodePort'])) return { reason: 'FieldValueInvalid', message: `Invalid value: ${p['nodePort']}: provided port is already allocated`, field: `spec.ports[${i}].nodePort` };
          usedPorts.add(p['nodePort']);
          continue;
        }
        while (usedPorts.has(next)) next++;
        if (next > 32767) return { reason: 'FieldValueInvalid', message: 'failed to allocate a nodePort: range is full', field: `spec.ports[${i}].nodePort` };
        p['nodePort'] = next;
        usedPorts.add(next);
      }
    }
    return undefined;
  }
}
