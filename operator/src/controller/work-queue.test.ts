import { ManualClock } from '../util/clock.js';
import { WorkQueue } from './work-queue.js';

describe('WorkQueue', () => {
  it('GIVEN the same key added twice WHEN drained THEN it is handed out once', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('ns/a');
    q.add('ns/a');
    q.add('ns/b');
    expect(q.depth).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.depth).toBe(0);
  });

  it('GIVEN a key being processed WHEN it is added again THEN it is re-queued only after done (one reconcile per key)', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    q.add('ns/a');
    const key = await q.get();
    q.add('ns/a');
    expect(q.depth).toBe(0);
    q.done(key!);
    expect(q.depth).toBe(1);
  });

  it('GIVEN repeated failures WHEN rate limited THEN delays double up to the cap and forget resets them', () => {
    const q = new WorkQueue({ clock: new ManualClock(), backoff: { baseMs: 100, maxMs: 1000 } });
    const delays = Array.from({ length: 7 }, () => q.addRateLimited('ns/a'));
    expect(delays).toStrictEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    q.forget('ns/a');
    expect(q.addRateLimited('ns/a')).toBe(100);
  });

  it('GIVEN a delayed add WHEN time passes THEN the key becomes available', async () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ clock });
    q.addAfter('ns/a', 500);
    expect(q.depth).toBe(0);
    await clock.advance(499);
    expect(q.depth).toBe(0);
    await clock.advance(1);
    expect(q.depth).toBe(1);
  });

  it('GIVEN a waiting worker WHEN shut down THEN get resolves undefined', async () => {
    const q = new WorkQueue({ clock: new ManualClock() });
    const pending = q.get();
    q.shutDown();
    expect(await pending).toBeUndefined();
  });

  it('GIVEN invalid backoff options THEN the constructor names them', () => {
    expect(() => new WorkQueue({ clock: new ManualClock(), backoff: { baseMs: 0, maxMs: 10 } })).toThrow(/WorkQueue: backoff/);
  });
});
