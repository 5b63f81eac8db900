import { withIsoTimes } from './debug-times.js';

describe('withIsoTimes', () => {
  it('writes the named epoch-millisecond fields as RFC 3339 and leaves the rest', () => {
    const status = { name: 'abc', pendingSamples: 3, lastSuccessAt: 1_796_548_096_370, lastErrorAt: undefined as number | undefined };
    expect(withIsoTimes(status, ['lastSuccessAt', 'lastErrorAt'])).toEqual({ name: 'abc', pendingSamples: 3, lastSuccessAt: '2026-12-06T09:08:16.370Z', lastErrorAt: undefined });
    expect(status.lastSuccessAt).toBe(1_796_548_096_370);
  });
});
