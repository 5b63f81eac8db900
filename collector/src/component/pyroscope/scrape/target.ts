/**
 * `pyroscope.scrape` targets: one scrape target per discovered target and enabled profile type,
 * with labels and URL as upstream's `targetsFromGroup`/`populateLabels`: `__profile_path__`,
 * `__name__` (the profile type) and `__profile_path_prefix__` unless the target sets them, `job`,
 * `__scheme__`, `__param_*`, a default port for `__address__`, `instance`, and `service_name`
 * inferred from discovery meta labels (else `unspecified`). godeltaprof types are named after the
 * profile they produce (`godeltaprof_memory` → `memory`). Delta types get `seconds=`; scraped
 * cumulative types get `__delta__="false"` (the loop sends deltas, see `pyroscope/delta.ts`).
 */
import { CUMULATIVE_TYPES } from '../../../pyroscope/delta.js';
import type { Label, Labels } from '../../../pyroscope/types.js';

export interface ProfileTypeConfig {
  readonly enabled: boolean;
  readonly path: string;
  readonly delta: boolean;
}

export interface TargetSettings {
  readonly jobName: string;
  readonly scheme: string;
  readonly params: Readonly<Record<string, readonly string[]>>;
  readonly pathPrefix: string;
  readonly intervalMs: number;
  /** `seconds=` of delta profiles. */
  readonly deltaSeconds: number;
  /** Profile type name → settings, in a stable order. */
  readonly types: ReadonlyArray<readonly [string, ProfileTypeConfig]>;
}

export interface ProfileTarget {
  /** All labels (internal ones included), sorted; what is appended downstream. */
  readonly labels: Labels;
  readonly discovered: Readonly<Record<string, string>>;
  readonly url: URL;
  /** Profile type (`__name__` after the godeltaprof rename). */
  readonly profileType: string;
  readonly delta: boolean;
  /**
   * Scraped cumulative (memory/mutex/block without `seconds=` or godeltaprof): the loop turns
   * each profile into a delta and `labels` carry `__delta__="false"`.
   */
  readonly cumulative: boolean;
  /** Loop identity: labels and URL. */
  readonly key: string;
}

const GODELTAPROF: Readonly<Record<string, string>> = { godeltaprof_memory: 'memory', godeltaprof_block: 'block', godeltaprof_mutex: 'mutex' };

export function inferServiceName(t: Readonly<Record<string, string>>): string {
  const k8s = t['__meta_kubernetes_pod_annotation_pyroscope_io_service_name'];
  if (k8s) return k8s;
  const ns = t['__meta_kubernetes_namespace'];
  const container = t['__meta_kubernetes_pod_container_name'];
  if (ns && container) return `${ns}/${container}`;
  return t['__meta_docker_container_name'] || t['__meta_dockerswarm_container_label_service_name'] || t['__meta_dockerswarm_service_name'] || 'unspecified';
}

function hasPort(addr: string): boolean {
  return /^\[[^\]]+\]:\d+$/.test(addr) || /^[^:[\]]+:\d+$/.test(addr);
}

export type TargetsResult = { readonly targets: ProfileTarget[]; readonly dropped: Array<{ labels: Readonly<Record<string, string>>; error: string }> };

export function buildTargets(discovered: ReadonlyArray<Readonly<Record<string, string>>>, s: TargetSettings): TargetsResult {
  const targets: ProfileTarget[] = [];
  const dropped: TargetsResult['dropped'] = [];
  for (const t of discovered) {
    for (const [type, cfg] of s.types) {
      if (!cfg.enabled) continue;
      const lb = new Map(Object.entries(t));
      const setDefault = (k: string, v: string): void => {
        if (!lb.get(k) && v !== '') lb.set(k, v);
      };
      setDefault('__profile_path__', cfg.path);
      setDefault('__name__', type);
      setDefault('__profile_path_prefix__', s.pathPrefix);
      setDefault('job', s.jobName);
      setDefault('__scheme__', s.scheme);
      for (const [k, v] of Object.entries(s.params)) if (v.length > 0) lb.set(`__param_${k}`, v[0]!);
      let addr = lb.get('__address__') ?? '';
      if (addr === '') {
        dropped.push({ labels: t, error: 'no address: the target has no __address__ label' });
        break;
      }
      const scheme = lb.get('__scheme__') ?? 'http';
      if (scheme !== 'http' && scheme !== 'https') {
        dropped.push({ labels: t, error: `invalid scheme ${JSON.stringify(scheme)}: use http or https` });
        break;
      }
      if (addr.includes('/') || addr.includes('@')) {
        dropped.push({ labels: t, error: `invalid __address__ ${JSON.stringify(addr)}: must be host:port without scheme or path` });
        break;
      }
      if (!hasPort(addr)) addr = `${addr}:${scheme === 'https' ? 443 : 80}`;
      lb.set('__address__', addr);
      setDefault('instance', addr);
      setDefault('service_name', inferServiceName(t));
      const name = lb.get('__name__')!;
      const profileType = GODELTAPROF[name] ?? name;
      lb.set('__name__', profileType);
      const params = new URLSearchParams();
      for (const [k, vs] of Object.entries(s.params)) for (const v of vs) params.append(k, v);
      for (const [k, v] of lb) if (k.startsWith('__param_')) params.set(k.slice('__param_'.length), v);
      const delta = cfg.delta && GODELTAPROF[name] === undefined;
      if (delta) params.append('seconds', String(s.deltaSeconds));
      let url: URL;
      try {
        url = new URL(`${scheme}://${addr}`);
        url.pathname = joinUrlPath(lb.get('__profile_path_prefix__') ?? '', lb.get('__profile_path__') ?? '');
        url.search = params.toString();
      } catch {
        dropped.push({ labels: t, error: `cannot build a scrape URL from __address__ ${JSON.stringify(addr)}` });
        break;
      }
      const cumulative = !delta && GODELTAPROF[name] === undefined && CUMULATIVE_TYPES[profileType] !== undefined;
      if (cumulative) lb.set('__delta__', 'false');
      const labels: Label[] = [...lb].map(([n, value]) => ({ name: n, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const key = labels.filter((l) => !l.name.startsWith('__meta_')).map((l) => `${l.name}\u0000${l.value}`).join('\u0001') + '\u0002' + url.href;
      targets.push({ labels, discovered: t, url, profileType, delta, cumulative, key });
    }
  }
  return { targets, dropped };
}

function joinUrlPath(prefix: string, path: string): string {
  const parts = [prefix, path].flatMap((p) => p.split('/')).filter((p) => p !== '');
  return '/' + parts.join('/');
}
