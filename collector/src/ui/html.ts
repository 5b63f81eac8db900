/** HTML building blocks shared by the UI pages: escaping, the page layout and the stylesheet. */

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export type NavItem = 'components' | 'graph' | 'clustering' | 'config' | 'none';

export interface LayoutOptions {
  readonly prefix: string;
  readonly title: string;
  readonly nav: NavItem;
  /** Inner HTML of <main>. */
  readonly body: string;
  /** Seconds between live refreshes of <main> (0: none). */
  readonly refreshSeconds?: number;
}

export function layout(o: LayoutOptions): string {
  const item = (key: NavItem, href: string, label: string): string =>
    `<a href="${href}"${o.nav === key ? ' aria-current="page"' : ''}>${label}</a>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(o.title)} · Alloy</title>
<link rel="stylesheet" href="${o.prefix}assets/app.css">
<link rel="icon" href="data:image/svg+xml,${encodeURIComponent(LOGO)}">
</head>
<body data-prefix="${escapeHtml(o.prefix)}" data-refresh="${o.refreshSeconds ?? 0}">
<a class="skip" href="#main">Skip to content</a>
<header class="topbar"><a class="brand" href="${o.prefix}">${LOGO}<span>Alloy</span></a>
<nav aria-label="Main">${item('components', o.prefix, 'Components')}${item('graph', `${o.prefix}graph`, 'Graph')}${item('clustering', `${o.prefix}clustering`, 'Clustering')}${item('config', `${o.prefix}config`, 'Config')}<a href="/metrics">Metrics</a></nav>
<label class="live" hidden><input type="checkbox" id="live" checked> Live</label></header>
<main id="main" tabindex="-1">
${o.body}
</main>
<script src="${o.prefix}assets/app.js" defer></script>
</body></html>`;
}

const LOGO = `<svg class="logo" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="26" height="26" aria-hidden="true"><defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#f9a31b"/><stop offset="1" stop-color="#f05a28"/></linearGradient></defs><circle cx="16" cy="16" r="14" fill="none" stroke="url(#g)" stroke-width="4"/><circle cx="16" cy="16" r="5" fill="url(#g)"/></svg>`;

export const STYLESHEET = `:root{--bg:#f6f7f9;--panel:#fff;--text:#1f2430;--muted:#5b6475;--border:#e1e4ea;--accent:#f05a28;--link:#1f62e0;
--ok:#1a7f37;--ok-bg:#dcf5e3;--bad:#b42318;--bad-bg:#fde4e1;--warn:#9a5b00;--warn-bg:#fff1d6;--unk:#515a6a;--unk-bg:#e9ecf1;--top:#111318;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--bg:#111217;--panel:#181b22;--text:#e3e6ec;--muted:#9aa3b2;--border:#2a2f3a;--link:#6ea8ff;--ok:#5fd38a;--ok-bg:#173524;--bad:#ff8a80;--bad-bg:#3d1a18;--warn:#ffc266;--warn-bg:#3a2a0e;--unk:#b5bdcb;--unk-bg:#262b35;--top:#0b0c10}}
*{box-sizing:border-box}body{margin:0;background:var(--bg);color:var(--text);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif}
a{color:var(--link)}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;color:#000;padding:4px 8px;z-index:10}
.topbar{display:flex;align-items:center;gap:24px;background:var(--top);color:#fff;padding:0 20px;height:52px;position:sticky;top:0;z-index:5}
.brand{display:flex;align-items:center;gap:8px;color:#fff;text-decoration:none;font-weight:700;font-size:17px}
.topbar nav{display:flex;gap:4px;flex:1}.topbar nav a{color:#c9ced8;text-decoration:none;padding:6px 12px;border-radius:6px;font-weight:500}
.topbar nav a:hover{background:#23262e;color:#fff}.topbar nav a[aria-current=page]{background:#2b2f38;color:#fff;box-shadow:inset 0 -2px 0 var(--accent)}
.live{color:#c9ced8;font-size:13px;display:flex;gap:6px;align-items:center}.live[hidden]{display:none}
main{max-width:1280px;margin:0 auto;padding:24px 20px 48px}main:focus{outline:none}
h1{font-size:22px;margin:0 0 4px}h1.mono{font-size:20px}h2{font-size:16px;margin:28px 0 10px}.sub{color:var(--muted);margin:0 0 18px}
.panel{background:var(--panel);border:1px solid var(--border);border-radius:10px;overflow:hidden}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:16px 0 20px}
.card{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:12px 16px;color:inherit;text-decoration:none}a.card:hover{border-color:var(--muted)}a.card.selected{box-shadow:inset 0 -3px 0 var(--accent)}.card-unhealthy b{color:var(--bad)}.card-exited b{color:var(--warn)}.card-healthy b{color:var(--ok)}.card b{display:block;font-size:24px}.card span{color:var(--muted)}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:9px 14px;border-bottom:1px solid var(--border);vertical-align:top}
th{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted);background:var(--panel)}tr:last-child td{border-bottom:0}
tbody tr:hover{background:color-mix(in srgb,var(--accent) 5%,transparent)}
.badge{display:inline-block;padding:1px 10px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
.healthy,.participant{color:var(--ok);background:var(--ok-bg)}.unhealthy{color:var(--bad);background:var(--bad-bg)}.exited,.terminating{color:var(--warn);background:var(--warn-bg)}.unknown,.viewer{color:var(--unk);background:var(--unk-bg)}
.toolbar{display:flex;gap:10px;align-items:center;margin:0 0 12px}.toolbar input,.toolbar select{font:inherit;padding:6px 10px;border:1px solid var(--border);border-radius:6px;background:var(--panel);color:var(--text);min-width:260px}
.muted{color:var(--muted)}.empty{padding:24px;text-align:center;color:var(--muted)}
.kv{width:100%}.kv>tbody>tr>th{width:1%;white-space:nowrap;min-width:160px;text-transform:none;letter-spacing:0;font-size:13px;color:var(--text);font-family:ui-monospace,Menlo,Consolas,monospace;font-weight:500;background:transparent}
.kv .kv{border:1px solid var(--border);border-radius:6px}.kv td{word-break:break-word}.val-str{color:#0a7f5a}.val-num{color:#7a3fd1}.val-bool{color:#b3501b}.val-null,.val-secret{color:var(--muted);font-style:italic}.val-capsule,.val-fn{color:#9a3c8e;font-family:ui-monospace,Menlo,Consolas,monospace}
.block-row>th{padding:8px 14px}.block-name{font-weight:600}.block-body{margin:6px 0 0;border:1px solid var(--border);border-radius:6px;overflow:hidden}.block-body>.kv>tbody>tr>th{min-width:140px}
@media (prefers-color-scheme:dark){.val-str{color:#7ee2b8}.val-num{color:#c6a5ff}.val-bool{color:#ffb27a}.val-capsule,.val-fn{color:#f0a6e4}}
ul.refs{margin:0;padding-left:18px}.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}@media (max-width:800px){.grid2{grid-template-columns:1fr}}
.detail-head{display:flex;align-items:center;gap:12px;flex-wrap:wrap}.pad{padding:12px 16px}
.graph{overflow:auto;padding:12px}.graph svg{display:block}.graph a text{fill:var(--text)}.graph .node rect{fill:var(--panel);stroke:var(--border);stroke-width:1.5}
.graph .node.healthy rect{stroke:var(--ok)}.graph .node.unhealthy rect{stroke:var(--bad)}.graph .node.exited rect{stroke:var(--warn)}.graph a:focus rect,.graph a:hover rect{stroke-width:3}
.graph .edge{stroke:var(--muted);fill:none;stroke-width:1.4}.graph .arrow{fill:var(--muted)}.graph .nodename{font:600 12px ui-monospace,Menlo,Consolas,monospace}.graph .nodelabel{font:12px system-ui,sans-serif;fill:var(--muted)}
div.records{overflow-x:auto;max-width:100%}td:has(>div.records){max-width:0;width:100%}table.records th{text-transform:none;letter-spacing:0;font-size:12px;font-family:ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}table.records td{font-size:13px;overflow-wrap:anywhere;min-width:80px}.chips{display:flex;flex-wrap:wrap;gap:4px}.chip{display:inline-block;border:1px solid var(--border);border-radius:4px;padding:0 6px;font:12px ui-monospace,Menlo,Consolas,monospace;white-space:nowrap}.chip-k{color:var(--muted)}table.records .kv th{min-width:0}
.self-mark{font-weight:600;color:var(--accent)}
.btn{font:inherit;font-weight:600;padding:6px 14px;border-radius:6px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}.btn:disabled{opacity:.6;cursor:wait}
.reload-result{margin:12px 0}.reload-result .ok{color:var(--ok)}.diag{background:var(--bad-bg);color:var(--bad);border-radius:8px;padding:12px 16px;white-space:pre-wrap;margin:8px 0 0;font:13px ui-monospace,Menlo,Consolas,monospace}
.source{margin:0;padding:12px 16px;overflow:auto;font:13px/1.45 ui-monospace,Menlo,Consolas,monospace;counter-reset:line}.source span{display:block}.source span::before{counter-increment:line;content:counter(line);display:inline-block;width:3em;margin-right:1em;text-align:right;color:var(--muted);user-select:none}
.btn.secondary{background:transparent;color:var(--text);border-color:var(--border)}.live-out{max-height:70vh;min-height:200px;white-space:pre-wrap;word-break:break-all}.live-out span::before{content:none}.live-out span.block{border-top:1px solid var(--border);padding:6px 0}
.notfound{text-align:center;padding:64px 16px}.notfound b{display:block;font-size:64px;color:var(--accent);line-height:1}`;
