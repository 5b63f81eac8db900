/** Lease-based leader election; see README.md. */
import type { Logger } from 'winston';
import { isConflict, type KubeApi, type KubeObject } from '../kube/kube-api.js';
import type { Clock } from '../util/clock.js';

export interface LeaseElectorOptions {
  readonly api: KubeApi;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Namespace of the Lease. */
  readonly namespace: string;
  /** Name of the Lease. */
  readonly name: string;
  /** Unique identity of this replica (pod name). */
  readonly identity: string;
  /** @default 15000 */
  readonly leaseDurationMs?: number;
  /** @default 10000 */
  readonly renewDeadlineMs?: number;
  /** @default 2000 */
  readonly retryPeriodMs?: number;
  /** Called when this replica becomes leader; `signal` aborts when leadership ends. */
  readonly onStartedLeading: (signal: AbortSignal) => void;
  /** Called once when leadership is lost (not on a graceful stop). */
  readonly onStoppedLeading?: () => void;
  readonly onLeaderChange?: (isLeader: boolean) => void;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

/** RFC 3339 with microseconds, the Lease MicroTime format. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaseElector {
  readonly #o: LeaseElectorOptions;
  readonly #leaseMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryMs: number;
  #observedRecord = '';
  #observedAt = 0;
  #leading: AbortController | undefined;
  #lastRenew = 0;

  /** @throws when the durations are inconsistent (client-go's rules). */
  constructor(opts: LeaseElectorOptions) {
    this.#o = opts;
    this.#leaseMs = opts.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.#retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.#leaseMs > this.#renewDeadlineMs)) throw new Error('LeaseElector: leaseDurationMs must be greater than renewDeadlineMs');
    if (!(this.#renewDeadlineMs > this.#retryMs)) throw new Error('LeaseElector: renewDeadlineMs must be greater than retryPeriodMs');
    if (opts.identity === '') throw new Error('LeaseElector: option "identity" must not be empty');
  }

  get isLeader(): boolean {
    return this.#leading !== undefined;
  }

  /** Runs until `signal` aborts; releases the lease on the way out when leading. Never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, logger } = this.#o;
    while (!signal.aborted) {
      let ok = false;
      try {
        ok = await this.#tryAcquireOrRenew();
      } catch (e) {
        logger.warn('leader election: lease update failed', { lease: `${this.#o.namespace}/${this.#o.name}`, error: e instanceof Error ? e.message : String(e) });
      }
      const now = clock.now();
      if (ok) {
        this.#lastRenew = now;
        if (this.#leading === undefined) {
          this.#leading = new AbortController();
          logger.info('leader election: became leader', { identity: this.#o.identity });
          this.#o.onLeaderChange?.(true);
          this.#o.onStartedLeading(this.#leading.signal);
        }
      } else if (this.#leading !== undefined && now - this.#lastRenew >= this.#renewDeadlineMs) {
        logger.error('leader election: could not renew the lease within the renew deadline; leadership lost', { identity: this.#o.identity });
        this.#stopLeading();
        this.#o.onStoppedLeading?.();
      }
      await clock.sleep(this.#retryMs, signal);
    }
    if (this.#leading !== undefined) {
      await this.#release();
      this.#stopLeading();
    }
  }

  #stopLeading(): void {
    this.#leading?.abort();
    this.#leading = undefined;
    this.#o.onLeaderChange?.(false);
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { api, clock, namespace, name, identity } = this.#o;
    const now = clock.now();
    const desired: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#leaseMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    const live = await api.get<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name });
    if (live === undefined) {
      try {
        await api.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: desired });
        this.#observe(desired, now);
        return true;
      } catch (e) {
        if (isConflict(e)) return false;
        throw e;
      }
    }
    const spec = live.spec ?? {};
    const record = JSON.stringify(spec);
    if (record !== this.#observedRecord) this.#observe(spec, now);
    const holder = spec.holderIdentity ?? '';
    const held = holder !== '' && holder !== identity;
    const leaseMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (held && this.#observedAt + leaseMs > now) return false;

    const next: LeaseSpec =
      holder === identity
        ? { ...spec, renewTime: microTime(now), leaseDurationSeconds: desired.leaseDurationSeconds! }
        : { ...desired, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    try {
      await api.replace({ ...live, spec: next });
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
    this.#observe(next, now);
    return true;
  }

  #observe(spec: LeaseSpec, now: number): void {
    this.#observedRecord = JSON.stringify(spec);
    this.#observedAt = now;
  }

  /** Hands the lease back (empty holder, 1 s duration) so a standby acquires it immediately. */
  async #release(): Promise<void> {
    const { api, namespace, name, identity, logger, clock } = this.#o;
    try {
      const live = await api.get<Lease>({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', namespace, name });
      if (live?.spec?.holderIdentity !== identity) return;
      const now = microTime(clock.now());
      await api.replace({ ...live, spec: { ...live.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now, acquireTime: now } });
      logger.info('leader election: released the lease', { identity });
    } catch (e) {
      logger.warn('leader election: could not release the lease', { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
