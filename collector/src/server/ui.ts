/**
 * The debugging UI served at `--server.http.ui-path-prefix` (default `/`): server-rendered HTML,
 * no scripts. Pages: components (health of every component), one component (arguments with
 * secrets redacted, exports, references, debug info), clustering (peers, as Alloy's UI
 * "Clustering" page). Data comes from the same sources as the JSON API.
 */
import type { ComponentInfo } from '../runtime/controller.js';

export interface PeerInfo {
  readonly name: string;
  readonly addr: string;
  readonly isSelf: boolean;
  readonly state: string;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:0;color:#1f2937}
nav{background:#111827;padding:.6rem 1rem}nav a{color:#f9fafb;margin-right:1.2rem;text-decoration:none;font-weight:600}
main{padding:1rem 1.5rem}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e5e7eb;padding:.4rem;text-align:left;vertical-align:top}
.healthy{color:#15803d}.unhealthy{color:#b91c1c}.exited{color:#b45309}.unknown{color:#6b7280}pre{background:#f3f4f6;padding:.6rem;overflow:auto}`;

function page(prefix: string, title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} - Alloy</title><style>${STYLE}</style></head>
<body><nav><a href="${prefix}">Components</a><a href="${prefix}clustering">Clustering</a><a href="/metrics">Metrics</a></nav><main><h1>${escapeHtml(title)}</h1>
${body}</main></body></html>`;
}

export function componentsPage(prefix: string, components: readonly ComponentInfo[]): string {
  const rows = components
    .map(
      (c) =>
        `<tr><td><a href="${prefix}component/${encodeURIComponent(c.id)}">${escapeHtml(c.id)}</a></td>` +
        `<td class="${c.health.state}">${c.health.state}</td><td>${escapeHtml(c.health.message)}</td><td>${c.health.updatedAt.toISOString()}</td></tr>`,
    )
    .join('\n');
  const body = components.length === 0 ? '<p>No components are running.</p>' : `<table><tr><th>Component</th><th>Health</th><th>Message</th><th>Updated</th></tr>\n${rows}</table>`;
  return page(prefix, 'Components', body);
}

export function componentPage(prefix: string, c: ComponentInfo, toJSON: (v: unknown) => unknown): string {
  const link = (id: string): string => `<a href="${prefix}component/${encodeURIComponent(id)}">${escapeHtml(id)}</a>`;
  const json = (v: unknown): string => `<pre>${escapeHtml(JSON.stringify(toJSON(v) ?? null, null, 2))}</pre>`;
  const body = `<p>Health: <span class="${c.health.state}">${c.health.state}</span> — ${escapeHtml(c.health.message)} (${c.health.updatedAt.toISOString()})</p>
<p>References: ${c.referencesTo.map(link).join(', ') || 'none'}<br>Referenced by: ${c.referencedBy.map(link).join(', ') || 'none'}</p>
<h2>Arguments</h2>${json(c.arguments)}<h2>Exports</h2>${json(c.exports)}<h2>Debug info</h2>${json(c.debugInfo)}`;
  return page(prefix, c.id, body);
}

export function clusteringPage(prefix: string, status: string, peers: readonly PeerInfo[]): string {
  const rows = peers
    .map((p) => `<tr><td>${escapeHtml(p.name)}${p.isSelf ? ' (self)' : ''}</td><td>${escapeHtml(p.addr)}</td><td>${escapeHtml(p.state)}</td></tr>`)
    .join('\n');
  return page(prefix, 'Clustering', `<p>${escapeHtml(status)}</p><table><tr><th>Node</th><th>Address</th><th>State</th></tr>\n${rows}</table>`);
}
