/**
 * The one renderer of component values for every UI page. Input is Alloy's typed JSON (the
 * same `[{name, type: "attr"|"block", value|body}]` bodies and `{type, value}` values the
 * components API serves), so what the page shows is what the API says, typed as Alloy types it:
 * strings quoted, durations as written in the config (`"30s"`, typed by the schema upstream),
 * capsules as `capsule("MetricsReceiver")`, secrets as `(secret)`, functions as `function`.
 *
 * Blocks are nested panels titled `name "label"`; lists of similar objects (scrape targets) are
 * tables; objects whose values are all strings (label sets) are chips.
 */
import type { AlloyJSONStatement, AlloyJSONValue } from '../syntax/index.js';
import { escapeHtml } from './html.js';

const MAX_DEPTH = 12;

/** A body (arguments, exports, debug info) as a key/value table with nested blocks. */
export function renderBody(body: readonly AlloyJSONStatement[], depth = 0): string {
  if (body.length === 0) return depth === 0 ? '<p class="muted pad">None.</p>' : '<span class="val-null">(empty block)</span>';
  const rows = body.map((st) => {
    if (st.type === 'attr') return `<tr><th scope="row">${escapeHtml(st.name)}</th><td>${renderAlloyValue(st.value, depth + 1)}</td></tr>`;
    const title = `${escapeHtml(st.name)}${st.label !== undefined && st.label !== '' ? ` <span class="val-str">"${escapeHtml(st.label)}"</span>` : ''}`;
    return `<tr class="block-row"><th scope="row" colspan="2"><span class="block-name">${title}</span> <span class="muted">block</span><div class="block-body">${renderBody(st.body, depth + 1)}</div></th></tr>`;
  });
  return `<table class="kv"><tbody>${rows.join('')}</tbody></table>`;
}

/** One typed value. */
export function renderAlloyValue(v: AlloyJSONValue, depth = 0): string {
  switch (v.type) {
    case 'null':
      return '<span class="val-null">null</span>';
    case 'string':
      return `<span class="val-str">${escapeHtml(JSON.stringify(v.value))}</span>`;
    case 'number':
      return `<span class="val-num">${escapeHtml(String(v.value))}</span>`;
    case 'bool':
      return `<span class="val-bool">${v.value ? 'true' : 'false'}</span>`;
    case 'function':
      return '<span class="val-fn">function</span>';
    case 'capsule':
      return v.value === '(secret)' ? '<span class="val-secret">(secret)</span>' : `<span class="val-capsule">${escapeHtml(v.value)}</span>`;
    case 'array':
      return renderArray(v.value, depth);
    case 'object':
      return renderObject(v.value, depth);
  }
}

function isScalar(v: AlloyJSONValue): boolean {
  return v.type !== 'array' && v.type !== 'object';
}

function renderArray(items: readonly AlloyJSONValue[], depth: number): string {
  if (items.length === 0) return '<span class="val-null">[]</span>';
  if (items.every(isScalar)) return `<span class="val-list">[${items.map((x) => renderAlloyValue(x, depth + 1)).join(', ')}]</span>`;
  if (depth > MAX_DEPTH) return '<span class="val-null">[…]</span>';
  const columns = recordColumns(items);
  if (columns) {
    const head = columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
    const rows = items
      .map((row) => {
        const fields = new Map((row as Extract<AlloyJSONValue, { type: 'object' }>).value.map((f) => [f.key, f.value]));
        return `<tr>${columns.map((c) => {
          const x = fields.get(c);
          return `<td>${x === undefined ? '' : renderAlloyValue(x, depth + 1)}</td>`;
        }).join('')}</tr>`;
      })
      .join('');
    return `<div class="records"><table class="records"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
  }
  return `<table class="kv"><tbody>${items.map((x, i) => `<tr><th scope="row">[${i}]</th><td>${renderAlloyValue(x, depth + 1)}</td></tr>`).join('')}</tbody></table>`;
}

function renderObject(fields: readonly { key: string; value: AlloyJSONValue }[], depth: number): string {
  if (fields.length === 0) return '<span class="val-null">{}</span>';
  if (depth > MAX_DEPTH) return '<span class="val-null">{…}</span>';
  if (fields.every((f) => f.value.type === 'string')) {
    const chips = fields.map((f) => `<span class="chip"><span class="chip-k">${escapeHtml(f.key)}</span>=${renderAlloyValue(f.value, depth + 1)}</span>`);
    return `<span class="chips">${chips.join('')}</span>`;
  }
  return `<table class="kv"><tbody>${fields.map((f) => `<tr><th scope="row">${escapeHtml(f.key)}</th><td>${renderAlloyValue(f.value, depth + 1)}</td></tr>`).join('')}</tbody></table>`;
}

/** Columns when every item is an object and together they have at most 10 keys; else undefined. */
function recordColumns(items: readonly AlloyJSONValue[]): string[] | undefined {
  const cols: string[] = [];
  for (const x of items) {
    if (x.type !== 'object') return undefined;
    for (const f of x.value) if (!cols.includes(f.key)) cols.push(f.key);
    if (cols.length > 10) return undefined;
  }
  return cols.length > 0 ? cols : undefined;
}
