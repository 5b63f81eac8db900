/**
 * Server-rendered UI pages. Each function returns the inner HTML of <main>; `web-ui.ts` wraps it
 * in the layout (or serves it alone as a live-refresh fragment). Every value shown comes from
 * the same sources as the JSON API; arguments, exports and debug info are encoded by the
 * runtime's `encodeBody` (typed Alloy JSON, secrets as `(secret)`) and drawn by `value-view.ts`.
 */
import type { ZodType } from 'zod';
import { BODY_KEY } from '../runtime/declare.js';
import { isPlainObject, Secret, type AlloyJSONStatement } from '../syntax/index.js';
import { redactConfigSource } from './config-source.js';
import { renderBody } from './value-view.js';
import type { ComponentInfo } from '../runtime/controller.js';
import type { HealthState } from '../runtime/component.js';
import { layoutGraph, NODE_H, NODE_W, type GraphEdgeInput } from './graph-layout.js';
import { escapeHtml } from './html.js';

export interface PeerInfo {
  readonly name: string;
  readonly addr: string;
  readonly isSelf: boolean;
  readonly state: string;
  readonly suspect?: boolean;
  readonly lastSeenAgoMs?: number;
}

export interface ClusterView {
  readonly enabled: boolean;
  readonly status: string;
  readonly peers: readonly PeerInfo[];
}

const HEALTH_ORDER: readonly HealthState[] = ['unhealthy', 'exited', 'unknown', 'healthy'];

const badge = (cls: string, text = cls): string => `<span class="badge ${escapeHtml(cls)}">${escapeHtml(text)}</span>`;
const time = (d: Date): string => `<time datetime="${d.toISOString()}">${d.toISOString()}</time>`;

export function componentLink(prefix: string, id: string): string {
  return `<a href="${prefix}component/${encodeURIComponent(id)}">${escapeHtml(id)}</a>`;
}

export function componentsPage(prefix: string, components: readonly ComponentInfo[], filter: { readonly q: string; readonly health: string }): string {
  const counts = new Map<HealthState, number>();
  for (const c of components) counts.set(c.health.state, (counts.get(c.health.state) ?? 0) + 1);
  const cards = HEALTH_ORDER.map(
    (h) =>
      `<a class="card card-${h}${filter.health === h ? ' selected' : ''}" href="${prefix}${filter.health === h ? '' : `?health=${h}`}"${filter.health === h ? ' aria-current="true"' : ''}>` +
      `<b>${counts.get(h) ?? 0}</b><span>${h}</span></a>`,
  ).join('');
  const q = filter.q.toLowerCase();
  // Every row is rendered; rows outside the filter are `hidden`, so the script can widen the
  // filter instantly and the page still filters without scripts.
  const matches = (c: ComponentInfo): boolean => (!q || c.id.toLowerCase().includes(q)) && (!filter.health || c.health.state === filter.health);
  const shown = components.filter(matches);
  const rows = components
    .map(
      (c) =>
        `<tr data-id="${escapeHtml(c.id.toLowerCase())}" data-health="${c.health.state}"${matches(c) ? '' : ' hidden'}><td class="mono">${componentLink(prefix, c.id)}</td>` +
        `<td>${badge(c.health.state)}</td><td>${escapeHtml(c.health.message)}</td><td class="muted">${time(c.health.updatedAt)}</td></tr>`,
    )
    .join('\n');
  const options = ['', ...HEALTH_ORDER].map((h) => `<option value="${h}"${h === filter.health ? ' selected' : ''}>${h || 'any health'}</option>`).join('');
  const table =
    components.length === 0
      ? '<div class="empty">No components are running. Add components to the configuration file and reload.</div>'
      : `<table id="components"><caption class="skip">Components and their health</caption><thead><tr><th scope="col">Component</th><th scope="col">Health</th><th scope="col">Message</th><th scope="col">Last update</th></tr></thead><tbody>
${rows}
</tbody></table><div class="empty" data-empty${shown.length === 0 ? '' : ' hidden'}>No component matches the filter.</div>`;
  return `<h1>Components</h1><p class="sub">${components.length} component${components.length === 1 ? '' : 's'} in the running configuration.</p>
<div class="cards" aria-label="Health summary">${cards}</div>
<form class="toolbar" role="search" method="get"><label class="skip" for="q">Filter components</label><input id="q" name="q" type="search" placeholder="Filter by component id…" value="${escapeHtml(filter.q)}">
<label class="skip" for="health">Health</label><select id="health" name="health">${options}</select><noscript><button type="submit">Filter</button></noscript></form>
<div class="panel">${table}</div>`;
}

export function componentPage(prefix: string, c: ComponentInfo, encodeBody: (v: unknown, schema?: ZodType) => AlloyJSONStatement[]): string {
  const refs = (ids: readonly string[], none: string): string =>
    ids.length === 0 ? `<p class="muted pad">${none}</p>` : `<ul class="refs pad">${ids.map((id) => `<li class="mono">${componentLink(prefix, id)}</li>`).join('')}</ul>`;
  const section = (title: string, id: string, v: unknown, schema?: ZodType): string =>
    `<section aria-labelledby="${id}"><h2 id="${id}">${title}</h2><div class="panel">${renderBody(encodeBody(v, schema))}</div></section>`;
  return `<nav aria-label="Breadcrumb" class="muted"><a href="${prefix}">Components</a> / <span class="mono">${escapeHtml(c.id)}</span></nav>
<div class="detail-head"><h1 class="mono">${escapeHtml(c.id)}</h1>${badge(c.health.state)}</div>
<p class="sub">${escapeHtml(c.health.message || 'no health message')} · updated ${time(c.health.updatedAt)} · <a href="/api/v0/web/components/${encodeURIComponent(c.id)}">JSON</a> ${c.liveDebugging ? ` · <a href="${prefix}debug/${encodeURIComponent(c.id)}">Live debugging</a>` : ''}</p>
<div class="grid2"><section aria-labelledby="deps"><h2 id="deps">Dependencies</h2><div class="panel">${refs(c.referencesTo, 'References no other component.')}</div></section>
<section aria-labelledby="dependants"><h2 id="dependants">Dependants</h2><div class="panel">${refs(c.referencedBy, 'No component references this one.')}</div></section></div>
${section('Arguments', 'arguments', withoutDeclareBody(c.arguments), c.argumentsSchema)}
${section('Exports', 'exports', c.exports)}
${c.debugInfo === undefined || c.debugInfo === null ? '' : section('Debug info', 'debug', c.debugInfo)}
<p class="muted">Data directory: <code>${escapeHtml(c.dataPath)}</code></p>`;
}

export function graphPage(prefix: string, components: readonly ComponentInfo[]): string {
  if (components.length === 0) return '<h1>Graph</h1><div class="panel"><div class="empty">No components are running.</div></div>';
  const health = new Map(components.map((c) => [c.id, c.health.state]));
  const g = layoutGraph(
    components.map((c) => c.id),
    dataFlowEdges(components),
  );
  const edges = g.edges.map((e) => `<path class="edge" d="${e.path}" marker-end="url(#arrow)"><title>${escapeHtml(e.from)} → ${escapeHtml(e.to)}</title></path>`).join('');
  const nodes = g.nodes
    .map((n) => {
      const c = components.find((x) => x.id === n.id)!;
      const name = c.name;
      const label = c.label ?? '';
      const state = health.get(n.id) ?? 'unknown';
      return `<a href="${prefix}component/${encodeURIComponent(n.id)}" class="node ${state}" aria-label="${escapeHtml(n.id)} (${state})"><g transform="translate(${n.x},${n.y})"><rect width="${NODE_W}" height="${NODE_H}" rx="8"/>
<text class="nodename" x="12" y="22">${escapeHtml(truncate(name, 30))}</text><text class="nodelabel" x="12" y="41">${escapeHtml(truncate(label ? `"${label}"` : '', 24))}</text>
<circle cx="${NODE_W - 16}" cy="16" r="5" fill="${state === 'healthy' ? '#2da44e' : state === 'unhealthy' ? '#d1242f' : state === 'exited' ? '#bf8700' : '#8c959f'}"/></g></a>`;
    })
    .join('\n');
  return `<h1>Graph</h1><p class="sub">${components.length} components. Arrows show data flow, as in Alloy: targets flow from discovery into what scrapes them; metrics and logs flow from a component into the receivers it forwards to. Select a component to open it.</p>
<div class="panel graph"><svg role="img" aria-label="Component graph" width="${g.width}" height="${g.height}" viewBox="0 0 ${g.width} ${g.height}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path class="arrow" d="M0,0L10,5L0,10z"/></marker></defs>
${edges}
${nodes}
</svg></div>`;
}

export function clusteringPage(view: ClusterView): string {
  const participants = view.peers.filter((p) => p.state === 'participant').length;
  const rows = view.peers
    .map(
      (p) =>
        `<tr${p.isSelf ? ' aria-current="true"' : ''}><td class="mono">${escapeHtml(p.name)}</td><td class="mono">${escapeHtml(p.addr)}</td><td>${badge(p.state)}${p.suspect ? ' ' + badge('unhealthy', 'suspect') : ''}</td>` +
        `<td>${p.isSelf ? '<span class="self-mark">This node</span>' : ''}</td><td class="muted">${p.isSelf || p.lastSeenAgoMs === undefined ? '—' : `${(p.lastSeenAgoMs / 1000).toFixed(1)}s ago`}</td></tr>`,
    )
    .join('\n');
  return `<h1>Clustering</h1><p class="sub">${escapeHtml(view.status)}</p>
<div class="cards"><div class="card"><b>${view.peers.length}</b><span>nodes</span></div><div class="card"><b>${participants}</b><span>participants</span></div><div class="card"><b>${view.enabled ? 'on' : 'off'}</b><span>clustering</span></div></div>
<div class="panel"><table id="peers"><caption class="skip">Cluster peers</caption><thead><tr><th scope="col">Node name</th><th scope="col">Advertised address</th><th scope="col">Current state</th><th scope="col">Local node</th><th scope="col">Last heard</th></tr></thead><tbody>
${rows}
</tbody></table></div>`;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

/** A custom component's arguments carry the body it runs; only the user's arguments are shown. */
export function withoutDeclareBody(args: unknown): unknown {
  if (typeof args !== 'object' || args === null || !(BODY_KEY in args)) return args;
  const { [BODY_KEY]: _body, ...rest } = args as Record<string, unknown>;
  return rest;
}

/**
 * Edges in data-flow direction, as Alloy's graph draws them. When A references B, data flows
 * A → B if A's arguments hold one of B's exported capsules (a receiver in `forward_to`: A sends
 * to B), and B → A otherwise (A reads B's exports, e.g. targets).
 */
export function dataFlowEdges(components: readonly ComponentInfo[]): GraphEdgeInput[] {
  const byId = new Map(components.map((c) => [c.id, c]));
  const out: GraphEdgeInput[] = [];
  for (const a of components) {
    for (const bid of a.referencesTo) {
      const b = byId.get(bid);
      if (!b) continue;
      const capsules = new Set<object>();
      collectCapsules(b.exports, capsules, 0);
      out.push(capsules.size > 0 && holdsAny(a.arguments, capsules, 0) ? { from: a.id, to: bid } : { from: bid, to: a.id });
    }
  }
  return out;
}

function collectCapsules(v: unknown, into: Set<object>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 8) return;
  if (Array.isArray(v)) for (const x of v) collectCapsules(x, into, depth + 1);
  else if (isPlainObject(v)) for (const x of Object.values(v)) collectCapsules(x, into, depth + 1);
  else if (!(v instanceof Secret)) into.add(v);
}

function holdsAny(v: unknown, capsules: ReadonlySet<object>, depth: number): boolean {
  if (v === null || typeof v !== 'object' || depth > 8) return false;
  if (capsules.has(v)) return true;
  if (Array.isArray(v)) return v.some((x) => holdsAny(x, capsules, depth + 1));
  if (isPlainObject(v)) return Object.values(v).some((x) => holdsAny(x, capsules, depth + 1));
  return false;
}

/** The running config: hash, every source file with line numbers (credentials hidden), and the Reload button. */
export function configPage(running: { readonly sources: ReadonlyMap<string, string>; readonly hash: string } | undefined): string {
  const form = `<form class="toolbar" id="reload-form" method="post" action="/-/reload"><button class="btn" type="submit" id="reload">Reload configuration</button>
<span class="muted">Reads the config from disk again, like <code>POST /-/reload</code>. A rejected config keeps the running one.</span></form>
<div class="reload-result" id="reload-result" role="status" aria-live="polite"></div>`;
  if (!running) return `<h1>Configuration</h1><p class="sub">No configuration has been loaded yet.</p>${form}`;
  const files = [...running.sources.entries()]
    .map(([file, text]) => {
      const lines = redactConfigSource(text).split('\n');
      if (lines.at(-1) === '') lines.pop();
      return `<section><h2 class="mono">${escapeHtml(file)}</h2><div class="panel"><pre class="source">${lines.map((l) => `<span>${escapeHtml(l)}</span>`).join('')}</pre></div></section>`;
    })
    .join('\n');
  return `<h1>Configuration</h1><p class="sub">The configuration running now · SHA-256 <code id="config-hash">${escapeHtml(running.hash)}</code></p>
${form}
${files}`;
}

export function notFoundPage(prefix: string, path: string): string {
  return `<div class="panel notfound"><b>404</b><h1>Page not found</h1><p class="sub">Nothing lives at <code>${escapeHtml(path)}</code>.</p>
<p><a href="${prefix}">Components</a> · <a href="${prefix}graph">Graph</a> · <a href="${prefix}clustering">Clustering</a> · <a href="${prefix}config">Config</a></p></div>`;
}

/** Live debugging of one component: lines stream in from `/api/v0/web/debug/{id}` (client.ts). */
export function liveDebugPage(prefix: string, c: ComponentInfo): string {
  const src = `/api/v0/web/debug/${encodeURIComponent(c.id)}`;
  return `<nav aria-label="Breadcrumb" class="muted"><a href="${prefix}">Components</a> / ${componentLink(prefix, c.id)} / Live debugging</nav>
<div class="detail-head"><h1 class="mono">${escapeHtml(c.id)}</h1>${badge(c.health.state)}</div>
<p class="sub">Data passing through this component, newest last: one item per sample, log entry or OTLP request, as Alloy shows it. Needs <code>livedebugging { enabled = true }</code> in the configuration.</p>
<div class="toolbar" id="live-debug" data-src="${escapeHtml(src)}"><button class="btn" type="button" id="live-pause" aria-pressed="false">Pause</button>
<label for="live-rate">Rate</label><select id="live-rate"><option value="10">10 items/s</option><option value="50" selected>50 items/s</option><option value="200">200 items/s</option><option value="1000">1000 items/s</option></select>
<button class="btn secondary" type="button" id="live-clear">Clear</button><span class="muted" id="live-status" role="status" aria-live="polite">Connecting…</span></div>
<div class="panel"><pre class="source live-out" id="live-out" aria-label="Live data"></pre></div>`;
}
