import { InformerPool, connectionKey } from './informer-pool.js';
import type { KubeConnection } from './config.js';

const secret = (v: string): { reveal(): string } => ({ reveal: () => v });
const conn = (settings: Record<string, unknown>, server = 'https://10.0.0.1:6443'): KubeConnection => ({ server: new URL(server), settings: { follow_redirects: true, ...settings }, source: 'api_server' });

describe('connectionKey', () => {
  it('is equal for equal connections whatever the key order, and differs by server, setting or secret value', () => {
    const a = conn({ bearer_token: secret('t1'), tls_config: { insecure_skip_verify: false, server_name: 'k' } });
    const b = conn({ tls_config: { server_name: 'k', insecure_skip_verify: false }, bearer_token: secret('t1') });
    expect(connectionKey(a)).toBe(connectionKey(b));
    expect(connectionKey(conn({ bearer_token: secret('t2'), tls_config: { insecure_skip_verify: false, server_name: 'k' } }))).not.toBe(connectionKey(a));
    expect(connectionKey(conn({ bearer_token: secret('t1'), tls_config: { insecure_skip_verify: true, server_name: 'k' } }))).not.toBe(connectionKey(a));
    expect(connectionKey(conn({ bearer_token: secret('t1'), tls_config: { insecure_skip_verify: false, server_name: 'k' } }, 'https://10.0.0.2:6443'))).not.toBe(connectionKey(a));
    expect(connectionKey(conn({ http_headers: { 'X-A': [secret('s1')] } }))).not.toBe(connectionKey(conn({ http_headers: { 'X-A': [secret('s2')] } })));
  });

  it('never holds a secret value in clear', () => {
    expect(connectionKey(conn({ bearer_token: secret('very-secret-token'), basic_auth: { username: 'u', password: secret('hunter2') } }))).not.toMatch(/very-secret-token|hunter2/);
  });
});

describe('InformerPool.acquire', () => {
  it('refuses a transform without a transformKey (sharing could not tell transforms apart)', () => {
    const pool = new InformerPool();
    expect(() => pool.acquire(conn({}), { path: '/api/v1/pods', transform: (o) => o }, { onEvent: () => undefined })).toThrow(/transformKey/);
    expect(pool.stats()).toEqual({ informers: 0, users: 0 });
  });
});
