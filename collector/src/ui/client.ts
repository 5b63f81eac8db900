/**
 * The UI's browser script, shipped as the source text of `clientMain` (see `web-ui.ts`), so it
 * must stay self-contained: no imports, no references to module-level values. Adds to the
 * server-rendered pages: relative times, instant filtering of the components table (kept in
 * the URL), and live refresh of <main> from the server every `data-refresh` seconds (paused
 * while the tab is hidden or "Live" is unticked), keeping focus and caret in the filter box.
 */

interface Elem {
  textContent: string | null;
  hidden: boolean;
  innerHTML: string;
  value: string;
  checked: boolean;
  id: string;
  title: string;
  readonly dataset: Record<string, string | undefined>;
  selectionStart: number | null;
  selectionEnd: number | null;
  getAttribute(name: string): string | null;
  querySelector(sel: string): Elem | null;
  querySelectorAll(sel: string): Iterable<Elem>;
  addEventListener(type: string, fn: () => void): void;
  setAttribute(name: string, value: string): void;
  appendChild(child: Elem): void;
  remove(): void;
  readonly childElementCount: number;
  readonly firstElementChild: Elem | null;
  focus(): void;
  setSelectionRange?(start: number, end: number): void;
}
declare const document: {
  readonly body: Elem;
  readonly hidden: boolean;
  readonly activeElement: Elem | null;
  createElement(tag: string): Elem;
  getElementById(id: string): Elem | null;
};
declare const location: { readonly href: string; readonly pathname: string; readonly search: string };
declare const history: { replaceState(data: unknown, title: string, url: string): void };
declare const window: { location: { reload(): void } };
declare class EventSource {
  constructor(url: string);
}

export function clientMain(): void {
  const main = document.getElementById('main');
  if (!main) return;

  function relative(iso: string): string {
    const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (!Number.isFinite(s)) return iso;
    if (s < 5) return 'just now';
    if (s < 90) return `${s}s ago`;
    if (s < 90 * 60) return `${Math.round(s / 60)}m ago`;
    if (s < 36 * 3600) return `${Math.round(s / 3600)}h ago`;
    return `${Math.round(s / 86400)}d ago`;
  }

  function times(): void {
    for (const t of main!.querySelectorAll('time[datetime]')) {
      const iso = t.getAttribute('datetime') ?? '';
      t.title = iso;
      t.textContent = relative(iso);
    }
  }

  function filter(): void {
    const q = main!.querySelector('#q');
    const h = main!.querySelector('#health');
    if (!q || !h) return;
    const text = q.value.trim().toLowerCase();
    let shown = 0;
    for (const row of main!.querySelectorAll('#components tbody tr')) {
      const ok = (!text || (row.dataset['id'] ?? '').includes(text)) && (!h.value || row.dataset['health'] === h.value);
      row.hidden = !ok;
      if (ok) shown++;
    }
    const empty = main!.querySelector('[data-empty]');
    if (empty) empty.hidden = shown > 0;
    const params = new URLSearchParams(location.search);
    if (text) params.set('q', q.value.trim());
    else params.delete('q');
    if (h.value) params.set('health', h.value);
    else params.delete('health');
    const qs = params.toString();
    history.replaceState(null, '', `${location.pathname}${qs ? `?${qs}` : ''}`);
  }

  /** The Reload button: POST /-/reload, then say what happened (diagnostics inline). */
  function bindReload(): void {
    const form = main!.querySelector('#reload-form');
    const button = main!.querySelector('#reload') as (Elem & { disabled: boolean }) | null;
    const out = main!.querySelector('#reload-result');
    if (!form || !button || !out) return;
    form.addEventListener('submit', ((ev: { preventDefault(): void }) => {
      ev.preventDefault();
      button.disabled = true;
      out.textContent = 'Reloading…';
      fetch('/-/reload', { method: 'POST' })
        .then(async (r) => {
          const text = await r.text();
          if (r.ok) {
            out.innerHTML = '<p class="ok"></p>';
            out.querySelector('.ok')!.textContent = `${text.trim()}. Refreshing…`;
            setTimeout(() => window.location.reload(), 600);
            return;
          }
          out.innerHTML = '<p><b>The configuration was rejected; the previous one keeps running.</b></p><pre class="diag" id="reload-diagnostics"></pre>';
          out.querySelector('#reload-diagnostics')!.textContent = text;
        })
        .catch((err: unknown) => {
          out.textContent = `Reload request failed: ${String(err)}`;
        })
        .finally(() => {
          button.disabled = false;
        });
    }) as unknown as () => void);
  }

  /** Live debugging: stream items from the component (multi-line ones as blocks), keep the newest 1000, pause and resume. */
  function bindLive(): void {
    const box = main!.querySelector('#live-debug');
    const out = main!.querySelector('#live-out');
    const pause = main!.querySelector('#live-pause');
    const rate = main!.querySelector('#live-rate');
    const clear = main!.querySelector('#live-clear');
    const status = main!.querySelector('#live-status');
    if (!box || !out || !pause || !rate || !clear || !status) return;
    const src = box.dataset['src'] ?? '';
    let es: { close(): void; addEventListener(t: string, f: (e: { data: string }) => void): void; onerror: (() => void) | null } | null = null;
    let count = 0;
    let dropped = 0;
    const MAX = 1000;
    const show = (): void => {
      status.textContent = `${es ? 'Streaming' : 'Paused'} · ${count} ${count === 1 ? 'item' : 'items'}${dropped ? ` · ${dropped} dropped by the rate limit` : ''}`;
    };
    const open = (): void => {
      es = new EventSource(`${src}?rate=${encodeURIComponent(rate.value)}`) as unknown as typeof es;
      es!.addEventListener('message', (e) => {
        const span = document.createElement('span');
        span.textContent = e.data;
        if (e.data.includes('\n')) span.setAttribute('class', 'block');
        out.appendChild(span);
        while (out.childElementCount > MAX) out.firstElementChild?.remove();
        count++;
        show();
      });
      es!.addEventListener('dropped', (e) => {
        dropped += Number(e.data) || 0;
        show();
      });
      es!.addEventListener('start', () => show());
      es!.onerror = () => {
        status.textContent = 'Not streaming: live debugging is disabled or the component is gone (retrying).';
      };
    };
    const close = (): void => {
      es?.close();
      es = null;
      show();
    };
    pause.addEventListener('click', () => {
      if (es) {
        close();
        pause.textContent = 'Resume';
        pause.setAttribute('aria-pressed', 'true');
      } else {
        open();
        pause.textContent = 'Pause';
        pause.setAttribute('aria-pressed', 'false');
      }
    });
    rate.addEventListener('change', () => {
      if (!es) return;
      close();
      open();
    });
    clear.addEventListener('click', () => {
      out.textContent = '';
      count = 0;
      dropped = 0;
      show();
    });
    open();
  }

  function bind(): void {
    times();
    bindReload();
    bindLive();
    const q = main!.querySelector('#q');
    const h = main!.querySelector('#health');
    if (q) q.addEventListener('input', filter);
    if (h) h.addEventListener('change', filter);
    filter();
  }

  bind();
  setInterval(times, 5_000);

  const every = Number(document.body.dataset['refresh'] ?? '0');
  const live = document.getElementById('live');
  if (!(every > 0) || !live) return;
  const toggle = document.body.querySelector('.live');
  if (toggle) toggle.hidden = false;
  let busy = false;
  setInterval(() => {
    if (busy || !live.checked || document.hidden) return;
    busy = true;
    fetch(location.href, { headers: { 'x-alloy-ui': 'fragment' } })
      .then(async (r) => {
        if (!r.ok) return;
        const html = await r.text();
        const active = document.activeElement;
        const focusId = active && active.id && main!.querySelector(`#${active.id}`) === active ? active.id : '';
        const caret = focusId ? [active!.selectionStart, active!.selectionEnd] : [null, null];
        const values = new Map<string, string>();
        for (const el of main!.querySelectorAll('input[id], select[id]')) values.set(el.id, el.value);
        main!.innerHTML = html;
        for (const [id, v] of values) {
          const el = main!.querySelector(`#${id}`);
          if (el) el.value = v;
        }
        bind();
        if (focusId) {
          const el = main!.querySelector(`#${focusId}`);
          if (el) {
            el.focus();
            if (caret[0] !== null && caret[1] !== null) el.setSelectionRange?.(caret[0], caret[1]);
          }
        }
      })
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  }, every * 1000);
}
