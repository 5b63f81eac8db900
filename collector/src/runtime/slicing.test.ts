import { runSliced, runSync, Slicer, type Steps } from './slicing.js';

/** `n` steps of about `stepMs` of busy work each; returns how many ran. */
function* busy(n: number, stepMs: number): Steps<number> {
  let done = 0;
  for (let i = 0; i < n; i++) {
    const until = performance.now() + stepMs;
    while (performance.now() < until) {
      // busy: stands for synchronous load work
    }
    done++;
    yield;
  }
  return done;
}

describe('slicing', () => {
  it('runSync runs every step in one stretch: nothing else runs meanwhile', () => {
    let ran = false;
    const im = setImmediate(() => (ran = true));
    expect(runSync(busy(10, 1))).toBe(10);
    expect(ran).toBe(false);
    clearImmediate(im);
  });

  it('runSliced gives the same result and lets the event loop run once the budget is spent', async () => {
    const turns: number[] = [];
    let stepsSeen = 0;
    const steps = (function* (): Steps<string> {
      const inner = yield* busy(20, 1);
      stepsSeen = inner;
      return `done ${inner}`;
    })();
    // Each turn of the event loop records how far the steps have got.
    let stop = false;
    const tick = (): void => {
      if (stop) return;
      turns.push(performance.now());
      setImmediate(tick);
    };
    setImmediate(tick);
    const t0 = performance.now();
    const result = await runSliced(steps, 4);
    stop = true;
    const elapsed = performance.now() - t0;
    expect(result).toBe('done 20');
    expect(stepsSeen).toBe(20);
    // 20 ms of work in 4 ms slices: the loop turned in between, not only at the end.
    expect(turns.filter((t) => t < t0 + elapsed).length).toBeGreaterThanOrEqual(2);
  });

  it('runSliced does not yield when the work fits in the budget', async () => {
    let ran = false;
    const im = setImmediate(() => (ran = true));
    const p = runSliced(busy(3, 0), 1_000);
    // The steps finish synchronously; only the promise resolution is pending.
    await Promise.resolve();
    expect(await p).toBe(3);
    expect(ran).toBe(false);
    clearImmediate(im);
  });

  it('Slicer is due after its budget and resets on yield', async () => {
    const s = new Slicer(200);
    expect(s.due()).toBe(false);
    runSync(busy(1, 210));
    expect(s.due()).toBe(true);
    await s.yield();
    expect(s.due()).toBe(false);
  });
});
