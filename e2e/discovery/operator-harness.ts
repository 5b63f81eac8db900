/**
 * What the `prometheus.operator.*` journeys share: running a component in-process against the dev
 * API server, capturing the series it appends (a staleness marker removes one), turning its
 * generated relabel rules into Prometheus `relabel_configs`, and reading the series an oracle
 * Prometheus stored, keyed the same way as the captured ones.
 */
import winston from 'winston';
import { Registry } from 'prom-client';
import type { RelabelConfig } from '../../collector/src/prom/relabel/relabel.js';
import { isStaleNaN, type MetricsReceiver, type SampleBatch } from '../../collector/src/prom/types.js';
import type { ComponentDefinition, HealthState } from '../../collector/src/runtime/component.js';
import type { ClusterService } from '../../collector/src/runtime/services.js';

export type LabelSet = Record<string, string>;

export interface Running<E> {
  readonly exports: () => E | undefined;
  readonly health: () => { state: HealthState; message: string };
  readonly debug: () => unknown;
  stop(): Promise<void>;
}

/** Builds and runs a component with silent logging and no services but an optional cluster. */
export function startComponent<A, E extends object>(def: ComponentDefinition<A, E>, args: A, dataPath: string, cluster?: ClusterService): Running<E> {
  let exports: E | undefined;
  let health: { state: HealthState; message: string } = { state: 'unknown', message: '' };
  const c = def.build(
    {
      id: def.name + '.test',
      logger: winston.createLogger({ silent: true }),
      registry: new Registry(),
      dataPath,
      onStateChange: (e) => (exports = e),
      setHealth: (state, message) => (health = { state, message }),
      getService: <T>(name: string): T => {
        if (name === 'cluster' && cluster) return cluster as T;
        throw new Error('no services');
      },
    },
    args,
  ) as ReturnType<typeof def.build> & { run(s: AbortSignal): Promise<void>; debugInfo?: () => unknown };
  const ac = new AbortController();
  const done = c.run(ac.signal);
  return {
    exports: () => exports,
    health: () => (typeof (c as { currentHealth?: () => { state: HealthState; message: string } }).currentHealth === 'function' ? (c as unknown as { currentHealth: () => { state: HealthState; message: string } }).currentHealth() : health),
    debug: () => c.debugInfo?.(),
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

/** A series' identity: its labels sorted by name. */
export const keyOf = (ls: LabelSet): string => JSON.stringify(Object.entries(ls).sort(([a], [b]) => a.localeCompare(b)));

/** Collects the series appended and still live (a staleness marker removes one). */
export class Capture implements MetricsReceiver {
  readonly series = new Map<string, LabelSet>();
  /** Staleness markers received, per job label. */
  readonly stale = new Map<string, number>();
  append(b: SampleBatch): Promise<void> {
    for (let i = 0; i < b.length; i++) {
      const ls: LabelSet = {};
      for (const l of b.series[i]!) ls[l.name] = l.value;
      if (isStaleNaN(b.values[i]!)) {
        this.series.delete(keyOf(ls));
        this.stale.set(ls['job'] ?? '', (this.stale.get(ls['job'] ?? '') ?? 0) + 1);
      } else this.series.set(keyOf(ls), ls);
    }
    return Promise.resolve();
  }
}

/** Relabel rules as Prometheus `relabel_configs` entries. */
export function promRelabel(rules: readonly RelabelConfig[]): object[] {
  return rules.map((r) => ({
    ...(r.source_labels ? { source_labels: r.source_labels } : {}),
    separator: r.separator,
    regex: r.regex,
    ...(r.modulus ? { modulus: r.modulus } : {}),
    ...(r.target_label ? { target_label: r.target_label } : {}),
    replacement: r.replacement,
    action: r.action,
  }));
}

/** Every series a Prometheus server stored, keyed by `keyOf`. */
export async function promSeries(base: string): Promise<Map<string, LabelSet>> {
  const out = new Map<string, LabelSet>();
  const r = await fetch(`${base}/api/v1/series?match[]=${encodeURIComponent('{__name__=~".+"}')}`);
  const j = (await r.json()) as { data: LabelSet[] };
  for (const ls of j.data) out.set(keyOf(ls), ls);
  return out;
}

/** Throws, naming the differences, unless both sides hold the same (non-empty) series. */
export function sameSeries(oracle: Map<string, LabelSet>, ours: Map<string, LabelSet>): string[] {
  const want = [...oracle.keys()].sort();
  const got = [...ours.keys()].sort();
  if (want.length > 0 && JSON.stringify(want) === JSON.stringify(got)) return want;
  throw new Error(`series differ:\n only Prometheus: ${want.filter((k) => !ours.has(k)).join('\n  ')}\n only ours: ${got.filter((k) => !oracle.has(k)).join('\n  ')}`);
}
