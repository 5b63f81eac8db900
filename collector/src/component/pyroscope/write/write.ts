/**
 * `pyroscope.write`: exports a `receiver`; profiles appended to it lose their `__`-prefixed
 * labels (except `__name__` and `__delta__`), get `external_labels` (which win), and are pushed
 * to every `endpoint` concurrently with Pyroscope's push API (`/push.v1.PusherService/Push`,
 * Connect protocol, protobuf). `/ingest` requests (from `pyroscope.receive_http`) are forwarded
 * to `<url>/ingest` with their body and content type unchanged and the labels written back
 * into the `name` query parameter (`__name__` set to `service_name`, as upstream).
 *
 * Contracts:
 * - The receiver is published before `build` returns and never changes identity.
 * - `append`/`appendIngest` resolve once every endpoint answered 2xx; there is no queue, so a
 *   caller that got a resolution knows the profiles are stored downstream. They reject with
 *   `ProfilesWriteError` (status and Connect code of the failure) once an endpoint gave up
 *   (see `endpoint.ts` for what is retried) or the component stopped.
 * - Invalid labels (none left, a bad name) reject at once with status 400.
 * - `update` keeps endpoints whose settings did not change; requests in flight finish on the
 *   endpoint they started on.
 */
import type { Logger } from 'winston';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent } from '../../../runtime/component.js';
import type { Sender } from '../../../prom/remotewrite/client.js';
import { codeName, encodePush } from '../../../pyroscope/push.js';
import { isValidProfileLabelName, normalizeLabelSet } from '../../../pyroscope/labelset.js';
import { LABEL_DELTA, LABEL_NAME, LABEL_SERVICE_NAME, ProfilesWriteError, type IncomingProfile, type Label, type Labels, type ProfilesReceiver, type RawSample } from '../../../pyroscope/types.js';
import { argumentsSchema, planEndpoints, type Arguments, type EndpointPlan } from './arguments.js';
import { Endpoint, WriteMetrics, type Outcome } from './endpoint.js';

export type { Arguments } from './arguments.js';

export interface Exports {
  readonly receiver: ProfilesReceiver;
}

export interface WriteTestHooks {
  readonly senderFor?: (plan: EndpointPlan) => Sender;
}

const byName = (a: Label, b: Label): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Checks labels as upstream's `validateLabels`; returns the problem or undefined. */
export function labelProblem(labels: Labels): string | undefined {
  if (labels.length === 0) return 'no labels: service_name is required';
  let prev = '';
  for (const l of labels) {
    if (l.name === prev) return `duplicate label name ${JSON.stringify(l.name)}`;
    if (l.name !== LABEL_NAME && !isValidProfileLabelName(l.name)) return `invalid label name ${JSON.stringify(l.name)}`;
    prev = l.name;
  }
  return undefined;
}

export class PyroscopeWriteComponent implements Component<Arguments>, DebugComponent {
  readonly #log: Logger;
  readonly #metrics: WriteMetrics;
  readonly #hooks: WriteTestHooks;
  #external: Labels = [];
  #endpoints: Endpoint[] = [];
  readonly #stop = new AbortController();

  private constructor(opts: ComponentOptions<Exports>, hooks: WriteTestHooks) {
    this.#log = opts.logger;
    this.#hooks = hooks;
    this.#metrics = new WriteMetrics(opts.registry);
  }

  static create(opts: ComponentOptions<Exports>, args: Arguments, hooks: WriteTestHooks = {}): PyroscopeWriteComponent {
    const c = new PyroscopeWriteComponent(opts, hooks);
    c.update(args);
    const receiver: ProfilesReceiver = { append: (l, s, signal) => c.#append(l, s, signal), appendIngest: (p, signal) => c.#appendIngest(p, signal) };
    opts.onStateChange({ receiver });
    return c;
  }

  /** Final labels of a pushed series: reserved labels dropped, external labels set, sorted. */
  #seriesLabels(labels: Labels): Label[] {
    const m = new Map<string, string>();
    for (const l of labels) {
      if (l.name.startsWith('__') && l.name !== LABEL_NAME && l.name !== LABEL_DELTA) continue;
      m.set(l.name, l.value);
    }
    for (const l of this.#external) m.set(l.name, l.value);
    return [...m].map(([name, value]) => ({ name, value })).sort(byName);
  }

  async #append(labels: Labels, samples: readonly RawSample[], signal: AbortSignal | undefined): Promise<void> {
    const final = this.#seriesLabels(labels);
    const problem = labelProblem(final);
    if (problem) throw new ProfilesWriteError(`invalid labels in profile: ${problem}`, 400, 'invalid_argument');
    const eps = this.#endpoints;
    if (eps.length === 0 || samples.length === 0) return;
    const body = Buffer.from(encodePush([{ labels: final, samples }]));
    let raw = 0;
    for (const s of samples) raw += s.rawProfile.length;
    const end = this.#metrics.latency.startTimer({ endpoint: '-', type: 'push_total' });
    const s = this.#signal(signal);
    const outcomes = await Promise.all(eps.map((ep) => ep.push(body, samples.length, raw, s)));
    end();
    this.#check(outcomes, 'push', signal);
  }

  async #appendIngest(p: IncomingProfile, signal: AbortSignal | undefined): Promise<void> {
    // As upstream: the application name follows service_name.
    const m = new Map(p.labels.map((l) => [l.name, l.value] as const));
    const svc = m.get(LABEL_SERVICE_NAME);
    if (svc) m.set(LABEL_NAME, svc);
    const merged = [...m].map(([name, value]) => ({ name, value })).sort(byName);
    const problem = labelProblem(merged);
    if (problem) throw new ProfilesWriteError(`invalid labels in profile: ${problem}`, 400, 'invalid_argument');
    for (const l of this.#external) m.set(l.name, l.value);
    const query = new URLSearchParams(p.query);
    query.set('name', normalizeLabelSet([...m].map(([name, value]) => ({ name, value }))));
    const eps = this.#endpoints;
    if (eps.length === 0) return;
    const end = this.#metrics.latency.startTimer({ endpoint: '-', type: 'ingest_total' });
    const s = this.#signal(signal);
    const outcomes = await Promise.all(eps.map((ep) => ep.ingest(p.body, p.path, query, p.contentType, s)));
    end();
    this.#check(outcomes, 'ingest', signal);
  }

  /** Aborts when the component stops or the caller gives up. */
  #signal(caller: AbortSignal | undefined): AbortSignal {
    return caller ? AbortSignal.any([this.#stop.signal, caller]) : this.#stop.signal;
  }

  #check(outcomes: readonly Outcome[], kind: string, caller: AbortSignal | undefined): void {
    const failed = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    if (failed.length === 0) return;
    const msg = failed.map((f) => f.message).join('; ');
    this.#log.warn(`pyroscope.write: ${kind} failed: ${msg}`);
    // A retryable failure anywhere wins, so the sender retries the whole request.
    const retryable = failed.find((f) => f.status >= 500 || f.status === 429 || f.status === 408);
    const first = retryable ?? failed[0]!;
    if (this.#stop.signal.aborted) throw new ProfilesWriteError(msg, 503, 'unavailable');
    if (caller?.aborted) throw new ProfilesWriteError(msg, 504, 'deadline_exceeded');
    throw new ProfilesWriteError(msg, first.status, codeName(first.code));
  }

  update(args: Arguments): void {
    const plans = planEndpoints(args);
    this.#external = Object.entries(args.external_labels)
      .map(([name, value]) => ({ name, value }))
      .sort(byName);
    const old = new Map(this.#endpoints.map((e) => [e.plan.fingerprint + '\u0000' + e.plan.name, e]));
    const next: Endpoint[] = [];
    for (const p of plans) {
      const key = p.fingerprint + '\u0000' + p.name;
      const kept = old.get(key);
      if (kept) {
        next.push(kept);
        old.delete(key);
        continue;
      }
      const sender = this.#hooks.senderFor?.(p);
      next.push(new Endpoint(p, this.#metrics, sender));
    }
    this.#endpoints = next;
    // Requests in flight on replaced endpoints keep their client until they end.
    for (const e of old.values()) setTimeout(() => e.close(), e.plan.timeoutMs * 2).unref();
  }

  async run(signal: AbortSignal): Promise<void> {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.#stop.abort();
    for (const e of this.#endpoints) e.close();
  }

  debugInfo(): unknown {
    return { endpoints: this.#endpoints.map((e) => e.status()) };
  }
}

export const component: ComponentDefinition<Arguments, Exports> = {
  name: 'pyroscope.write',
  stability: 'generally-available',
  args: argumentsSchema as unknown as ComponentDefinition<Arguments, Exports>['args'],
  exports: ['receiver'],
  build: (opts, args) => PyroscopeWriteComponent.create(opts, args),
};
