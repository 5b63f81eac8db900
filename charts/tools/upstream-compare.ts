/**
 * Object-by-object comparison of this chart's render with the upstream grafana/alloy chart's
 * rendered test outputs. Only what differs between chart releases by construction is normalised:
 * version labels, image tags and digests, and checksum annotations. Everything else is compared
 * field for field and reported as `Kind/name:path` lines.
 */
type Json = Record<string, unknown>;

const VERSION_LABELS = ['helm.sh/chart', 'app.kubernetes.io/version'];

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `docker.io/grafana/alloy:v1.2.3@sha256:…` → `docker.io/grafana/alloy`. */
export function imageWithoutTag(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** A deep copy with version labels, image tags and checksum annotations normalised away. */
export function normalise(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => normalise(v));
  if (isObject(value)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(value)) {
      if (key === 'labels' && VERSION_LABELS.includes(k)) continue;
      if (key === 'annotations' && k.startsWith('checksum/')) continue;
      out[k] = normalise(v, k);
    }
    if ((key === 'labels' || key === 'annotations') && Object.keys(out).length === 0) return undefined;
    return out;
  }
  if (key === 'image' && typeof value === 'string') return imageWithoutTag(value);
  return value;
}

function named(list: unknown[]): boolean {
  const names = list.map((x) => (isObject(x) && typeof x['name'] === 'string' ? x['name'] : undefined));
  return list.length > 0 && names.every((n) => n !== undefined) && new Set(names).size === names.length;
}

function show(v: unknown): string {
  return JSON.stringify(v);
}

/** Differences between upstream's and our value of one field, as `path: …` lines. */
export function diff(upstream: unknown, ours: unknown, path = ''): string[] {
  if (upstream === undefined && ours === undefined) return [];
  if (upstream === undefined) return [`${path}: only in ours ${show(ours)}`];
  if (ours === undefined) return [`${path}: only in upstream ${show(upstream)}`];
  if (Array.isArray(upstream) && Array.isArray(ours)) {
    // Lists of named items (containers, env, ports, volumes) are matched by name, not position.
    if (named(upstream) && named(ours)) {
      const byName = (l: unknown[]): Map<string, unknown> => new Map(l.map((x) => [String((x as Json)['name']), x]));
      const u = byName(upstream);
      const o = byName(ours);
      const out: string[] = [];
      for (const n of new Set([...u.keys(), ...o.keys()])) out.push(...diff(u.get(n), o.get(n), `${path}[${n}]`));
      const order = (m: Map<string, unknown>, other: Map<string, unknown>): string[] => [...m.keys()].filter((k) => other.has(k));
      if (out.length === 0 && show(order(u, o)) !== show(order(o, u))) out.push(`${path}: order upstream ${show(order(u, o))}, ours ${show(order(o, u))}`);
      return out;
    }
    const out: string[] = [];
    for (let i = 0; i < Math.max(upstream.length, ours.length); i++) out.push(...diff(upstream[i], ours[i], `${path}[${i}]`));
    return out;
  }
  if (isObject(upstream) && isObject(ours)) {
    const out: string[] = [];
    for (const k of new Set([...Object.keys(upstream), ...Object.keys(ours)])) out.push(...diff(upstream[k], ours[k], path ? `${path}.${k}` : k));
    return out;
  }
  return show(upstream) === show(ours) ? [] : [`${path}: upstream ${show(upstream)}, ours ${show(ours)}`];
}

/**
 * The permissions a list of RBAC rules grants, one `apiGroup/resource:verb` (or `url:verb`) string
 * each. How upstream groups its rules changed between releases without changing what they grant,
 * so rules are compared by what they grant.
 */
export function grants(rules: unknown): string[] {
  const out = new Set<string>();
  for (const r of Array.isArray(rules) ? (rules as Json[]) : []) {
    const verbs = (r['verbs'] as string[] | undefined) ?? [];
    for (const url of (r['nonResourceURLs'] as string[] | undefined) ?? []) for (const v of verbs) out.add(`${url}:${v}`);
    for (const g of (r['apiGroups'] as string[] | undefined) ?? []) {
      for (const res of (r['resources'] as string[] | undefined) ?? []) for (const v of verbs) out.add(`${g === '' ? 'core' : g}/${res}:${v}`);
    }
  }
  return [...out].sort();
}

function grantDiff(upstream: unknown, ours: unknown): string[] {
  const u = new Set(grants(upstream));
  const o = new Set(grants(ours));
  return [...[...u].filter((g) => !o.has(g)).map((g) => `rules: grant only in upstream ${g}`), ...[...o].filter((g) => !u.has(g)).map((g) => `rules: grant only in ours ${g}`)];
}

export function objectId(object: Json): string {
  const metadata = (object['metadata'] ?? {}) as Json;
  return `${String(object['kind'])}/${String(metadata['name'])}`;
}

/** Each upstream object's differences from ours (matched by kind and name), `Kind/name:path …`. */
export function compareObjects(upstream: readonly Json[], ours: readonly Json[]): string[] {
  const mine = new Map(ours.map((o) => [objectId(o), o]));
  const out: string[] = [];
  for (const u of upstream) {
    const id = objectId(u);
    const o = mine.get(id);
    if (!o) {
      out.push(`${id}: not rendered by this chart`);
      continue;
    }
    const nu = normalise(u) as Json;
    const no = normalise(o) as Json;
    if (u['kind'] === 'ClusterRole' || u['kind'] === 'Role') {
      out.push(...grantDiff(nu['rules'], no['rules']).map((d) => `${id}:${d}`));
      delete nu['rules'];
      delete no['rules'];
    }
    out.push(...diff(nu, no).map((d) => `${id}:${d}`));
  }
  return out;
}
