import { KubeError, type KubeObject } from './kube-api.js';
import { FakeKubeApi } from './fake-kube-api.test-support.js';
import { ResilientInformer, listWatchFor, type InformerCore } from './resilient-informer.js';
import { ManualClock, flushMicrotasks } from '../util/clock.js';

/** A core that fails its first `failures` starts the way list-watch informer does (error callback, then stop). */
class FlakyCore implements InformerCore<KubeObject> {
  starts = 0;
  #failures: number;
  #errorCbs: Array<(err?: unknown) => void> = [];
  constructor(failures: number) {
    this.#failures = failures;
  }
  on(verb: 'add' | 'update' | 'delete', cb: (obj: KubeObject) => void): void;
  on(verb: 'error' | 'connect', cb: (err?: unknown) => void): void;
  on(verb: string, cb: ((obj: KubeObject) => void) | ((err?: unknown) => void)): void {
    if (verb === 'error') this.#errorCbs.push(cb as (err?: unknown) => void);
  }
  async start(): Promise<void> {
    this.starts++;
    if (this.starts <= this.#failures) for (const cb of this.#errorCbs) cb(new KubeError(503, 'ServiceUnavailable', 'apiserver down'));
  }
  async stop(): Promise<void> {}
  list(): KubeObject[] {
    return [];
  }
  get(): KubeObject | undefined {
    return undefined;
  }
  /** Simulates a watch dying later with a non-410 error. */
  failLater(): void {
    for (const cb of this.#errorCbs) cb(new Error('ECONNRESET'));
  }
}

describe('ResilientInformer', () => {
  it('GIVEN an informer that stops on errors WHEN it fails repeatedly THEN it is restarted with capped backoff, then synced', async () => {
    const clock = new ManualClock();
    const core = new FlakyCore(5);
    const delays: number[] = [];
    const inf = new ResilientInformer(core, { name: 'pods', clock, backoff: { baseMs: 100, maxMs: 400 }, onError: (_e, d) => delays.push(d) });
    await inf.start();
    expect(inf.synced).toBe(false);
    for (let i = 0; i < 5; i++) await clock.advance(400);
    expect(core.starts).toBe(6);
    expect(delays).toStrictEqual([100, 200, 400, 400, 400]);
    expect(inf.synced).toBe(true);
    expect(inf.failing).toBe(false);

    core.failLater();
    expect(clock.pending()).toStrictEqual([100]);
    await clock.advance(100);
    expect(core.starts).toBe(7);
  });

  it('GIVEN a stopped informer WHEN an error arrives THEN nothing restarts', async () => {
    const clock = new ManualClock();
    const core = new FlakyCore(0);
    const inf = new ResilientInformer(core, { name: 'pods', clock });
    await inf.start();
    await inf.stop();
    core.failLater();
    expect(clock.pending()).toStrictEqual([]);
  });

  it('GIVEN the list-watch informer over the fake API WHEN the list fails once THEN the wrapper recovers and sees objects', async () => {
    const clock = new ManualClock();
    const api = new FakeKubeApi();
    api.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: 'ns' } });
    api.failNext('list', 'ConfigMap', new KubeError(500, 'InternalError', 'etcd timeout'));
    const inf = new ResilientInformer(listWatchFor(api, 'v1', 'ConfigMap'), { name: 'configmaps', clock, backoff: { baseMs: 50, maxMs: 50 } });
    const added: string[] = [];
    inf.on('add', (o) => added.push(o.metadata.name ?? ''));
    await inf.start();
    expect(inf.synced).toBe(false);
    await clock.advance(50);
    await flushMicrotasks();
    expect(inf.synced).toBe(true);
    expect(added).toStrictEqual(['a']);
    api.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: 'ns' } });
    expect(added).toStrictEqual(['a', 'b']);
    await inf.stop();
  });
});
