import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpPodConfigProbe, parseConfigHash } from './pod-config-probe.js';

const HASH = 'a'.repeat(64);
const METRICS = `# HELP alloy_config_hash Hash of the currently active config file.\n# TYPE alloy_config_hash gauge\nalloy_config_hash{sha256="${HASH}"} 1\nalloy_build_info 1\n`;

describe('pod config probe', () => {
  it('GIVEN Alloy metrics text THEN the active config hash is parsed', () => {
    expect(parseConfigHash(METRICS)).toBe(HASH);
    expect(parseConfigHash('alloy_build_info 1\n')).toBeUndefined();
  });

  it('GIVEN pods on two loopback addresses WHEN observed THEN each maps to its hash or an error', async () => {
    const server = http.createServer((req, res) => res.end(req.socket.localAddress === '127.0.0.1' ? METRICS : 'up 1\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const probe = new HttpPodConfigProbe({ port, timeoutMs: 1000 });
    const got = await probe.observe([
      { name: 'a', ip: '127.0.0.1' },
      { name: 'b', ip: '127.0.0.2' },
    ]);
    expect(got.get('a')).toBe(HASH);
    expect(got.get('b')).toBeInstanceOf(Error);
    await new Promise((r) => server.close(r));
  });
});
