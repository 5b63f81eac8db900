/**
 * What the `prometheus.operator.*` journeys share: the dev API server with the monitoring CRDs of
 * `crds/` installed, the demo targets' exposition, running a component in-process against it,
 * capturing the series it appends (a staleness marker removes one), turning its generated relabel
 * rules into Prometheus `relabel_configs`, and reading the series an oracle Prometheus stored,
 * keyed the same way as the captured ones.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { parse as parseYaml } from 'yaml';
import { startApiServer, type RunningApiServer } from '../cluster/apiserver/index.js';
import { repoRoot } from '../cluster/harness/paths.js';
import type { SecretSource } from '../../collector/src/component/prometheus/operator/configgen.js';
import { Registry } from 'prom-client';
import type { RelabelConfig } from '../../collector/src/prom/relabel/relabel.js';
import { isStaleNaN, type MetricsReceiver, type SampleBatch } from '../../collector/src/prom/types.js';
import type { ComponentDefinition, HealthState } from '../../collector/src/runtime/component.js';
import type { ClusterService } from '../../collector/src/runtime/services.js';

export type LabelSet = Record<string, string>;

export interface DevApi {
  readonly api: RunningApiServer;
  /** A temp dir (removed by `close`) holding the kubeconfig; components use it as data path. */
  readonly dir: string;
  readonly kubeconfig: string;
  /** A JSON request to the API server (PATCH as merge patch). @throws Error with the status and body on >= 300. */
  call(method: string, apiPath: string, body?: unknown): Promise<Record<string, unknown>>;
  /** Secret and ConfigMap keys read straight from the API, for generating the oracle's jobs. */
  readonly secrets: SecretSource;
  close(): Promise<void>;
}

/** Starts the dev API server and installs the CRDs named (file names under `crds/monitoring.coreos.com/`, without `.yaml`). */
export async function startDevApi(prefix: string, crds: readonly string[]): Promise<DevApi> {
  const api = await startApiServer({ bookmarkIntervalMs: 200, historySize: 100 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const kubeconfig = api.kubeconfig(path.join(dir, 'kubeconfig'));
  const call = async (method: string, apiPath: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await fetch(api.url + apiPath, { method, headers: { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.status >= 300) throw new Error(`${method} ${apiPath}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const readKey = async (kind: 'secrets' | 'configmaps', ns: string, sel: { name: string; key: string }): Promise<string> => {
    const obj = (await call('GET', `/api/v1/namespaces/${ns}/${kind}/${sel.name}`)) as { data: Record<string, string> };
    const v = obj.data[sel.key];
    if (v === undefined) throw new Error(`key ${sel.key} not found in ${kind} ${ns}/${sel.name}`);
    return kind === 'secrets' ? Buffer.from(v, 'base64').toString('utf8') : v;
  };
  for (const f of crds) {
    const crd = parseYaml(fs.readFileSync(path.join(repoRoot(), 'crds/monitoring.coreos.com', `${f}.yaml`), 'utf8')) as Record<string, unknown>;
    await call('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  }
  return {
    api,
    dir,
    kubeconfig,
    call,
    secrets: { secret: (ns, sel) => readKey('secrets', ns, sel), configMap: (ns, sel) => readKey('configmaps', ns, sel) },
    close: async () => {
      await api.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The exposition of a demo target: two counters labelled with `servedBy`, a gauge, a series to drop, one with its own job/instance. */
export function demoExposition(servedBy: string, infoLabels = 'job="inner",instance="inner:1"'): string {
  return [
    '# TYPE demo_requests_total counter',
    `demo_requests_total{code="200",served_by="${servedBy}"} 7`,
    `demo_requests_total{code="500",served_by="${servedBy}"} 1`,
    '# TYPE demo_temperature_celsius gauge',
    'demo_temperature_celsius 21.5',
    '# TYPE drop_me_total counter',
    'drop_me_total 3',
    '# TYPE demo_info gauge',
    `demo_info{${infoLabels}} 1`,
    '',
  ].join('\n');
}

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
