import { getEventListeners } from 'node:events';
import { sleep, systemClock } from './clock.js';

describe('sleep', () => {
  it('resolves true once the time has elapsed and removes its abort listener', async () => {
    const ac = new AbortController();
    const t0 = Date.now();
    const p = sleep(20, ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    await expect(p).resolves.toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(15);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });

  it('resolves false at once when the signal aborts, without waiting for the timer', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).resolves.toBe(false);
  });

  it('resolves false immediately for an already aborted signal', async () => {
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBe(false);
  });

  it('systemClock.sleep never rejects on abort', async () => {
    const ac = new AbortController();
    const p = systemClock.sleep(60_000, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).resolves.toBeUndefined();
  });

  it('resolves false when woken through setWake, and waits forever without ms until woken', async () => {
    const ac = new AbortController();
    let wake: (() => void) | undefined;
    const p = sleep(60_000, ac.signal, (w) => (wake = w));
    wake!();
    await expect(p).resolves.toBe(false);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    const forever = sleep(undefined, ac.signal, (w) => (wake = w));
    wake!();
    await expect(forever).resolves.toBe(false);
    wake!();
  });
});
