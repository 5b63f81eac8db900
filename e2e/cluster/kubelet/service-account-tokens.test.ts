import { ServiceAccountTokens, type TokenRequestSpec } from './service-account-tokens.js';

describe('ServiceAccountTokens (the kubelet token manager)', () => {
  const pod = { namespace: 'ns', name: 'p', uid: 'uid-1', serviceAccountName: 'sa' };

  function fixture() {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const calls: { ns: string; sa: string; spec: TokenRequestSpec }[] = [];
    let fail: string | undefined;
    const errors: string[] = [];
    const tokens = new ServiceAccountTokens({
      now: () => now,
      onError: (m) => errors.push(m),
      request: async (ns, sa, spec) => {
        calls.push({ ns, sa, spec });
        if (fail) throw new Error(fail);
        return { token: `t${calls.length}`, expirationTimestamp: new Date(now + spec.expirationSeconds * 1000).toISOString() };
      },
    });
    return { tokens, calls, errors, advance: (s: number) => void (now += s * 1000), failWith: (m: string | undefined) => void (fail = m) };
  }

  it('requests a token bound to the pod with the source audience and lifetime, and caches it', async () => {
    const f = fixture();
    expect(await f.tokens.token(pod, { audience: 'vault', expirationSeconds: 3607 })).toBe('t1');
    expect(await f.tokens.token(pod, { audience: 'vault', expirationSeconds: 3607 })).toBe('t1');
    expect(f.calls).toStrictEqual([{ ns: 'ns', sa: 'sa', spec: { audiences: ['vault'], expirationSeconds: 3607, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'uid-1' } } }]);
    // No audience: the server's own API audiences (the field is left out).
    await f.tokens.token(pod, {});
    expect(f.calls[1]!.spec).toStrictEqual({ expirationSeconds: 3600, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'p', uid: 'uid-1' } });
  });

  it('refreshes once 80 % of the lifetime has passed, not before', async () => {
    const f = fixture();
    await f.tokens.token(pod, { expirationSeconds: 1000 });
    f.advance(799);
    expect(await f.tokens.token(pod, { expirationSeconds: 1000 })).toBe('t1');
    f.advance(1);
    expect(await f.tokens.token(pod, { expirationSeconds: 1000 })).toBe('t2');
    expect(f.calls).toHaveLength(2);
  });

  it('keeps serving a still-valid token when a refresh fails, and fails once it has expired', async () => {
    const f = fixture();
    await f.tokens.token(pod, { expirationSeconds: 1000 });
    f.advance(900);
    f.failWith('serviceaccounts "sa" not found');
    expect(await f.tokens.token(pod, { expirationSeconds: 1000 })).toBe('t1');
    expect(f.errors).toStrictEqual(['token for ServiceAccount ns/sa (pod p): serviceaccounts "sa" not found; keeping the current token until it expires']);
    f.advance(100);
    await expect(f.tokens.token(pod, { expirationSeconds: 1000 })).rejects.toThrow('token for ServiceAccount ns/sa (pod p): serviceaccounts "sa" not found');
  });

  it('forgets a pod on release, so its next token is a new request', async () => {
    const f = fixture();
    await f.tokens.token(pod, {});
    f.tokens.release('uid-1');
    expect(await f.tokens.token(pod, {})).toBe('t2');
  });
});
