import winston from 'winston';
import { FakeKubeApi } from '../kube/fake-kube-api.test-support.js';
import { ManualClock } from '../util/clock.js';
import { LeaseElector } from './lease-elector.js';

const logger = winston.createLogger({ silent: true });
const leaseRef = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace: 'ops', name: 'alloy-operator' };

/** An API handle that can be cut off, as when the process holding it is killed. */
function killable(api: FakeKubeApi): { api: FakeKubeApi; kill: () => void } {
  let dead = false;
  const proxy = new Proxy(api, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => (dead ? Promise.reject(new Error('process killed')) : (v as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { api: proxy, kill: () => (dead = true) };
}

function elector(api: FakeKubeApi, clock: ManualClock, identity: string, log: string[]) {
  return new LeaseElector({
    api,
    clock,
    logger,
    namespace: 'ops',
    name: 'alloy-operator',
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    onStartedLeading: () => log.push(`${identity} leads`),
    onStoppedLeading: () => log.push(`${identity} lost`),
  });
}

describe('LeaseElector', () => {
  it('GIVEN two replicas WHEN they race THEN exactly one leads and the other waits', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock(1_000_000);
    const log: string[] = [];
    const a = elector(api, clock, 'a', log);
    const b = elector(api, clock, 'b', log);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runs = [a.run(stopA.signal), b.run(stopB.signal)];
    await clock.advance(10_000);
    expect(log).toStrictEqual(['a leads']);
    expect([a.isLeader, b.isLeader]).toStrictEqual([true, false]);
    expect((api.peek(leaseRef)?.['spec'] as { holderIdentity: string }).holderIdentity).toBe('a');
    stopA.abort();
    stopB.abort();
    await clock.advance(0);
    await Promise.all(runs);
  });

  it('GIVEN the leader crashes (no release) WHEN the lease expires THEN the standby takes over', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock(1_000_000);
    const log: string[] = [];
    const handleA = killable(api);
    const a = elector(handleA.api, clock, 'a', log);
    const b = elector(api, clock, 'b', log);
    const stopB = new AbortController();
    const crashA = new AbortController();
    // A crash: a's API calls stop reaching the server, so it neither renews nor releases.
    const runA = a.run(crashA.signal);
    await clock.advance(100);
    const runB = b.run(stopB.signal);
    await clock.advance(4_000);
    expect(log).toStrictEqual(['a leads']);
    handleA.kill();
    await clock.advance(12_000);
    expect(log).not.toContain('b leads');
    await clock.advance(6_000);
    expect(log).toContain('b leads');
    expect((api.peek(leaseRef)?.['spec'] as { holderIdentity: string; leaseTransitions: number }).holderIdentity).toBe('b');
    crashA.abort();
    stopB.abort();
    await clock.advance(0);
    await Promise.all([runA, runB]);
  });

  it('GIVEN a graceful stop of the leader WHEN it releases THEN the standby leads at its next retry', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock(1_000_000);
    const log: string[] = [];
    const a = elector(api, clock, 'a', log);
    const b = elector(api, clock, 'b', log);
    const stopA = new AbortController();
    const stopB = new AbortController();
    const runA = a.run(stopA.signal);
    await clock.advance(100);
    const runB = b.run(stopB.signal);
    await clock.advance(1_000);
    stopA.abort();
    await clock.advance(0);
    await runA;
    expect((api.peek(leaseRef)?.['spec'] as { holderIdentity: string }).holderIdentity).toBe('');
    await clock.advance(2_100);
    expect(log).toStrictEqual(['a leads', 'b leads']);
    stopB.abort();
    await clock.advance(0);
    await runB;
  });

  it('GIVEN inconsistent durations THEN the constructor explains the rule', () => {
    expect(() => new LeaseElector({ api: new FakeKubeApi(), clock: new ManualClock(), logger, namespace: 'x', name: 'y', identity: 'i', leaseDurationMs: 5_000, renewDeadlineMs: 10_000, onStartedLeading: () => undefined })).toThrow(
      /leaseDurationMs must be greater than renewDeadlineMs/,
    );
  });

  it('GIVEN a leader that cannot renew WHEN the renew deadline passes THEN it stops leading and reports the loss', async () => {
    const api = new FakeKubeApi();
    const clock = new ManualClock(1_000_000);
    const log: string[] = [];
    const handle = killable(api);
    const a = elector(handle.api, clock, 'a', log);
    const stop = new AbortController();
    const run = a.run(stop.signal);
    await clock.advance(100);
    expect(a.isLeader).toBe(true);
    handle.kill();
    await clock.advance(8_000);
    expect(a.isLeader).toBe(true);
    await clock.advance(4_000);
    expect(a.isLeader).toBe(false);
    expect(log).toStrictEqual(['a leads', 'a lost']);
    stop.abort();
    await clock.advance(0);
    await run;
  });
});
