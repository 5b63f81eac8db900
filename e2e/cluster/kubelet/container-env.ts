/**
 * Container environment and argv as the kubelet computes them: `envFrom` then `env` in order,
 * each value `$(VAR)`-expanded against what was defined before it; downward API `fieldRef`
 * values; ConfigMap/Secret key refs; then `command`/`args` expanded against the final env.
 * Also the path mapping that stands in for mount namespaces (`mapPaths`).
 */
import path from 'node:path';
import type { ConfigMap, Container, Pod, Secret } from '../harness/k8s-types.js';

/** Kubernetes' `$(VAR)` expansion: `$$` escapes, unknown names are left as written. */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
      continue;
    }
    if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const v = lookup(name);
      out += v ?? `$(${name})`;
      i = close;
      continue;
    }
    out += c;
  }
  return out;
}

export interface EnvSources {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
}

export class EnvError extends Error {
  readonly reason = 'CreateContainerConfigError';
}

/** Value of a downward API `fieldPath` for env vars and downwardAPI volumes. */
export function fieldRefValue(pod: Pod, podIP: string, hostIP: string, fieldPath: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? 'default';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return Object.entries(pod.metadata.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations':
      return Object.entries(pod.metadata.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'spec.nodeName':
      return pod.spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return hostIP;
    default:
      throw new EnvError(`unsupported fieldRef fieldPath "${fieldPath}" (supported: metadata.name/namespace/uid/labels/annotations, spec.nodeName, spec.serviceAccountName, status.podIP(s), status.hostIP(s))`);
  }
}

const decode = (b64: string): string => Buffer.from(b64, 'base64').toString('utf8');

function secretData(s: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.data ?? {})) out[k] = decode(v);
  for (const [k, v] of Object.entries(s.stringData ?? {})) out[k] = v;
  return out;
}

export interface EnvContext {
  readonly pod: Pod;
  readonly podIP: string;
  readonly hostIP: string;
  readonly sources: EnvSources;
  /** Variables every container gets first (service links, KUBERNETES_SERVICE_HOST ...). */
  readonly base: Readonly<Record<string, string>>;
}

/** The container's environment; throws `EnvError` for a missing non-optional ConfigMap/Secret/key. */
export function containerEnv(c: Container, ctx: EnvContext): Record<string, string> {
  const ns = ctx.pod.metadata.namespace ?? 'default';
  const env: Record<string, string> = { ...ctx.base };
  for (const src of c.envFrom ?? []) {
    const prefix = src.prefix ?? '';
    if (src.configMapRef) {
      const cm = ctx.sources.configMap(ns, src.configMapRef.name);
      if (!cm) {
        if (src.configMapRef.optional) continue;
        throw new EnvError(`configmap "${src.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) env[prefix + k] = v;
    }
    if (src.secretRef) {
      const s = ctx.sources.secret(ns, src.secretRef.name);
      if (!s) {
        if (src.secretRef.optional) continue;
        throw new EnvError(`secret "${src.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(secretData(s))) env[prefix + k] = v;
    }
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined || !e.valueFrom) {
      env[e.name] = expand(e.value ?? '', (n) => env[n]);
      continue;
    }
    const vf = e.valueFrom;
    if (vf.fieldRef) env[e.name] = fieldRefValue(ctx.pod, ctx.podIP, ctx.hostIP, vf.fieldRef.fieldPath);
    else if (vf.configMapKeyRef) {
      const ref = vf.configMapKeyRef;
      const v = ctx.sources.configMap(ns, ref.name ?? '')?.data?.[ref.key];
      if (v === undefined && !ref.optional) throw new EnvError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
      if (v !== undefined) env[e.name] = v;
    } else if (vf.secretKeyRef) {
      const ref = vf.secretKeyRef;
      const s = ctx.sources.secret(ns, ref.name ?? '');
      const v = s ? secretData(s)[ref.key] : undefined;
      if (v === undefined && !ref.optional) throw new EnvError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
      if (v !== undefined) env[e.name] = v;
    } else if (vf.resourceFieldRef) {
      env[e.name] = resourceValue(c, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor);
    }
  }
  return env;
}

/** limits/requests for `resourceFieldRef`; unset limits report the node's capacity (2 CPUs, 4Gi). */
function resourceValue(c: Container, resource: string, divisor = '1'): string {
  const res = (c.resources ?? {}) as { limits?: Record<string, string>; requests?: Record<string, string> };
  const [kind, name] = resource.split('.') as [string, string];
  const raw = (kind === 'limits' ? res.limits : res.requests)?.[name] ?? (name === 'cpu' ? '2' : name === 'memory' ? '4Gi' : '0');
  const q = quantity(raw);
  const d = quantity(divisor) || 1;
  return String(Math.ceil(q / d));
}

function quantity(s: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(s);
  if (!m) return 0;
  const n = Number(m[1]);
  const suffix: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return n * (suffix[m[2]!] ?? 1);
}

/** `$(VAR)` expansion of command and args against the container's final env. */
export function expandArgv(list: readonly string[] | undefined, env: Readonly<Record<string, string>>): string[] | undefined {
  return list?.map((s) => expand(s, (n) => env[n]));
}

/** Container path prefix → host directory. Longest prefix wins. */
export type PathMap = ReadonlyArray<readonly [containerPath: string, hostPath: string]>;

/** Maps one container path to the host, or returns undefined when no prefix matches. */
export function mapPath(p: string, map: PathMap): string | undefined {
  let best: readonly [string, string] | undefined;
  for (const entry of map) {
    const [cp] = entry;
    const prefix = cp.endsWith('/') ? cp.slice(0, -1) : cp;
    if ((p === prefix || p.startsWith(prefix + '/')) && (!best || prefix.length > best[0].length)) best = [prefix, entry[1]];
  }
  if (!best) return undefined;
  return path.join(best[1], p.slice(best[0].length));
}

/**
 * Rewrites argv entries that are container paths under a mapped prefix: a whole argument
 * (`/etc/alloy/config.alloy`) or the value of a `--flag=value` argument. Nothing else changes
 * (URLs, `/` alone, paths outside mounts stay as written).
 */
export function mapPaths(args: readonly string[], map: PathMap): string[] {
  return args.map((a) => {
    if (a.startsWith('/')) return mapPath(a, map) ?? a;
    const eq = a.indexOf('=');
    if (a.startsWith('-') && eq > 0 && a[eq + 1] === '/') {
      const mapped = mapPath(a.slice(eq + 1), map);
      if (mapped) return a.slice(0, eq + 1) + mapped;
    }
    return a;
  });
}
