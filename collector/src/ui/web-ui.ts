/**
 * `WebUi`: routes the UI under its path prefix.
 *
 * - `{prefix}`                  Components (`?q=` and `?health=` filter server-side too)
 * - `{prefix}component/{id}`    one component
 * - `{prefix}graph`             the component graph
 * - `{prefix}clustering`        cluster peers
 * - `{prefix}debug/{id}`        live debugging of one component (stream, rate, pause)
 * - `{prefix}config`            the running config source, its hash, and a Reload button
 *                               (POST `/-/reload`; diagnostics of a rejected config shown inline)
 * - any other path under the prefix: a styled 404 page
 * - `{prefix}assets/app.css|js` the stylesheet and the browser script (ETag-validated)
 *
 * A request with header `x-alloy-ui: fragment` gets only the inner HTML of <main> (live refresh).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ZodType } from 'zod';
import type { ComponentInfo } from '../runtime/controller.js';
import type { AlloyJSONStatement } from '../syntax/index.js';
import { clientMain } from './client.js';
import { escapeHtml, layout, STYLESHEET, type NavItem } from './html.js';
import { clusteringPage, componentPage, componentsPage, configPage, graphPage, liveDebugPage, notFoundPage, type ClusterView } from './pages.js';

export interface UiRuntime {
  components(): readonly ComponentInfo[];
  /** Arguments/exports/debug info → typed Alloy JSON body, secrets redacted. */
  encodeBody(value: unknown, schema?: ZodType): AlloyJSONStatement[];
  /** The running config's sources and hash (the Config page). */
  runningConfig?(): { readonly sources: ReadonlyMap<string, string>; readonly hash: string } | undefined;
}

interface Asset {
  readonly body: string;
  readonly type: string;
  readonly etag: string;
}

function asset(body: string, type: string): Asset {
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/**
 * Bundled with esbuild's keepNames (packaging/bundle.mjs, packaging/build.mjs), `clientMain`'s named
 * inner functions come out wrapped in calls to the bundle's `__name` helper, which the browser does
 * not have; app.js defines its own, doing the same.
 */
const KEEP_NAMES_HELPER = "var __name = (target, value) => Object.defineProperty(target, 'name', { value, configurable: true });";

/** A Map, not an object literal: request paths such as `assets/__proto__` must not reach prototype keys. */
const ASSETS = new Map<string, Asset>([
  ['app.css', asset(STYLESHEET, 'text/css; charset=utf-8')],
  ['app.js', asset(`"use strict";\n${KEEP_NAMES_HELPER}\n(${clientMain.toString()})();\n`, 'text/javascript; charset=utf-8')],
]);

const REFRESH_SECONDS = 5;

/** Pages load only this server's own script, stylesheet and data: the favicon is a data: URI. */
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

export class WebUi {
  readonly prefix: string;

  /** @throws Error when `prefix` does not start with "/". */
  constructor(prefix: string) {
    if (!prefix.startsWith('/')) throw new Error(`--server.http.ui-path-prefix "${prefix}" must start with "/"`);
    this.prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  }

  /** Serve `url` when it is a UI route; returns false (nothing written) otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, rt: UiRuntime | undefined, cluster: () => ClusterView): boolean {
    const p = url.pathname;
    const prefix = this.prefix;
    if (p !== prefix && `${p}/` !== prefix && !p.startsWith(prefix)) return false;
    const rest = p === prefix || `${p}/` === prefix ? '' : p.slice(prefix.length);
    if (rest.startsWith('assets/')) {
      const a = ASSETS.get(rest.slice('assets/'.length));
      if (!a) return false;
      if (req.headers['if-none-match'] === a.etag) {
        res.writeHead(304, { etag: a.etag, 'cache-control': 'no-cache' }).end();
        return true;
      }
      res.writeHead(200, { 'content-type': a.type, etag: a.etag, 'cache-control': 'no-cache' });
      res.end(req.method === 'HEAD' ? undefined : a.body);
      return true;
    }
    const components = rt?.components() ?? [];
    const page = (status: number, title: string, nav: NavItem, body: string, refresh = REFRESH_SECONDS): true => {
      const fragment = req.headers['x-alloy-ui'] === 'fragment';
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', vary: 'x-alloy-ui', 'content-security-policy': CSP, 'x-content-type-options': 'nosniff' });
      res.end(fragment ? body : layout({ prefix, title, nav, body, refreshSeconds: refresh }));
      return true;
    };
    if (rest === '') {
      return page(200, 'Components', 'components', componentsPage(prefix, components, { q: url.searchParams.get('q') ?? '', health: url.searchParams.get('health') ?? '' }));
    }
    if (rest === 'graph') return page(200, 'Graph', 'graph', graphPage(prefix, components));
    if (rest === 'clustering') return page(200, 'Clustering', 'clustering', clusteringPage(cluster()));
    if (rest === 'config') return page(200, 'Configuration', 'config', configPage(rt?.runningConfig?.()), 0);
    if (rest.startsWith('debug/')) {
      const id = safeDecode(rest.slice('debug/'.length));
      const c = components.find((x) => x.id === id);
      if (c) return page(200, `Live debugging · ${c.id}`, 'components', liveDebugPage(prefix, c), 0);
      return page(404, 'Component not found', 'components', `<h1>Component not found</h1><p class="sub">No component with id <code>${escapeHtml(id)}</code> is running.</p><p><a href="${prefix}">Back to components</a></p>`, 0);
    }
    if (rest.startsWith('component/')) {
      let id: string;
      try {
        id = decodeURIComponent(rest.slice('component/'.length));
      } catch {
        id = rest.slice('component/'.length);
      }
      const c = components.find((x) => x.id === id);
      if (c && rt) return page(200, c.id, 'components', componentPage(prefix, c, (v, schema) => rt.encodeBody(v, schema)));
      return page(404, 'Component not found', 'components', `<h1>Component not found</h1><p class="sub">No component with id <code>${escapeHtml(id)}</code> is running. It may have been removed by a reload.</p><p><a href="${prefix}">Back to components</a></p>`, 0);
    }
    // Under the UI prefix but not a page. With prefix "/" API-like paths keep their JSON 404s.
    if (prefix === '/' && /^(api|-)\//.test(rest)) return false;
    return page(404, 'Page not found', 'none', notFoundPage(prefix, p), 0);
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
