import { inferAdvertiseAddress, resolveJoinAddresses, splitHostPort } from './discovery.js';

describe('join address resolution', () => {
  it('resolves a DNS name to every address (headless Service) and defaults the port', async () => {
    const lookup = async (host: string): Promise<string[]> => {
      if (host === 'alloy-cluster.monitoring.svc') return ['10.1.0.5', '10.1.0.3', 'fd00::7'];
      throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    };
    const r = await resolveJoinAddresses(['alloy-cluster.monitoring.svc', '10.1.0.9:7946', 'missing.svc', '10.1.0.3'], 12345, lookup);
    expect(r.addrs).toEqual(['10.1.0.3:12345', '10.1.0.5:12345', '10.1.0.9:7946', '[fd00::7]:12345']);
    expect(r.errors).toEqual(['missing.svc: getaddrinfo ENOTFOUND missing.svc']);
  });

  it('parses host, host:port and [v6]:port and rejects bad ports with the entry named', () => {
    expect(splitHostPort('a.b', 1)).toEqual({ host: 'a.b', port: 1 });
    expect(splitHostPort('[::1]:9', 1)).toEqual({ host: '::1', port: 9 });
    expect(() => splitHostPort('a:99999', 1)).toThrow('invalid cluster peer address "a:99999": port must be 1-65535');
  });

  it('advertises the flag, else the concrete listen address, else the interface address', () => {
    const ifaces = { eth0: [{ address: '192.0.2.4', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null }] } as unknown as ReturnType<typeof import('node:os').networkInterfaces>;
    expect(inferAdvertiseAddress('10.0.0.1', ['eth0'], '0.0.0.0:12345', ifaces)).toBe('10.0.0.1:12345');
    expect(inferAdvertiseAddress('', ['eth0'], '127.0.0.1:4000', ifaces)).toBe('127.0.0.1:4000');
    expect(inferAdvertiseAddress('', ['eth0'], '0.0.0.0:12345', ifaces)).toBe('192.0.2.4:12345');
    expect(() => inferAdvertiseAddress('', ['wlan9'], '0.0.0.0:12345', ifaces)).toThrow(/set --cluster.advertise-address/);
  });
});
