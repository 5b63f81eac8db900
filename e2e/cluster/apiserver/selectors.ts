/**
 * Label and field selectors with the real server's grammar:
 * labels `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`; fields `f=v`, `f==v`, `f!=v`.
 * Parse errors are `ApiError` 400s naming the bad term.
 */
import { badRequest } from './errors.js';
import { getPath, isObject, type Json, type JsonObject } from './types.js';

export type LabelRequirement =
  | { readonly key: string; readonly op: 'in' | 'notin'; readonly values: readonly string[] }
  | { readonly key: string; readonly op: 'exists' | 'doesnotexist' };

export type LabelSelector = readonly LabelRequirement[];

const KEY_RE = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

export function parseLabelSelector(s: string): LabelSelector {
  const reqs: LabelRequirement[] = [];
  for (const term of splitTerms(s)) {
    let m: RegExpExecArray | null;
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term))) {
      const values = m[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
      reqs.push({ key: checkKey(m[1]!, s), op: m[2] as 'in' | 'notin', values });
    } else if ((m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term))) {
      reqs.push({ key: checkKey(m[1]!, s), op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] });
    } else if ((m = /^!\s*(\S+)$/.exec(term))) {
      reqs.push({ key: checkKey(m[1]!, s), op: 'doesnotexist' });
    } else if (KEY_RE.test(term)) {
      reqs.push({ key: term, op: 'exists' });
    } else {
      throw badRequest(`unable to parse requirement: found '${term}' in label selector "${s}"; expected key=value, key!=value, key in (a,b), key notin (a), key or !key`);
    }
  }
  return reqs;
}

function checkKey(key: string, whole: string): string {
  if (!KEY_RE.test(key)) throw badRequest(`unable to parse requirement: invalid label key "${key}" in selector "${whole}"`);
  return key;
}

export function matchLabels(sel: LabelSelector, labels: Json | undefined): boolean {
  const l = isObject(labels) ? labels : {};
  for (const r of sel) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    const v = has ? String(l[r.key]) : undefined;
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'doesnotexist':
        if (has) return false;
        break;
      case 'in':
        if (v === undefined || !r.values.includes(v)) return false;
        break;
      case 'notin':
        if (v !== undefined && r.values.includes(v)) return false;
        break;
    }
  }
  return true;
}

/** Converts a `metav1.LabelSelector` object (matchLabels/matchExpressions) into requirements. */
export function fromLabelSelectorObject(sel: Json | undefined): LabelSelector {
  if (!isObject(sel)) return [];
  const reqs: LabelRequirement[] = [];
  if (isObject(sel['matchLabels'])) {
    for (const [k, v] of Object.entries(sel['matchLabels'])) reqs.push({ key: k, op: 'in', values: [String(v)] });
  }
  if (Array.isArray(sel['matchExpressions'])) {
    for (const e of sel['matchExpressions']) {
      if (!isObject(e)) continue;
      const key = String(e['key']);
      const values = Array.isArray(e['values']) ? e['values'].map(String) : [];
      switch (e['operator']) {
        case 'In':
          reqs.push({ key, op: 'in', values });
          break;
        case 'NotIn':
          reqs.push({ key, op: 'notin', values });
          break;
        case 'Exists':
          reqs.push({ key, op: 'exists' });
          break;
        case 'DoesNotExist':
          reqs.push({ key, op: 'doesnotexist' });
          break;
      }
    }
  }
  return reqs;
}

/** Renders a label selector object in the string form (`status.labelSelector` of scale). */
export function labelSelectorString(sel: Json | undefined): string {
  return fromLabelSelectorObject(sel)
    .map((r) => {
      switch (r.op) {
        case 'exists':
          return r.key;
        case 'doesnotexist':
          return `!${r.key}`;
        case 'in':
          return r.values.length === 1 ? `${r.key}=${r.values[0]}` : `${r.key} in (${r.values.join(',')})`;
        case 'notin':
          return `${r.key} notin (${r.values.join(',')})`;
      }
    })
    .join(',');
}

export interface FieldRequirement {
  readonly field: string;
  readonly op: '=' | '!=';
  readonly value: string;
}

export function parseFieldSelector(s: string, allowed: readonly string[]): FieldRequirement[] {
  const out: FieldRequirement[] = [];
  for (const term of splitTerms(s)) {
    const m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
    const field = m[1]!;
    if (field !== 'metadata.name' && field !== 'metadata.namespace' && !allowed.includes(field)) {
      throw badRequest(`field label not supported: ${field}`);
    }
    out.push({ field, op: m[2] === '!=' ? '!=' : '=', value: m[3]!.trim() });
  }
  return out;
}

function fieldValue(obj: JsonObject, field: string): string {
  if (field === 'source') {
    const src = getPath(obj, 'source.component');
    return typeof src === 'string' ? src : '';
  }
  const v = getPath(obj, field);
  if (v === undefined || v === null) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

export function matchFields(reqs: readonly FieldRequirement[], obj: JsonObject): boolean {
  for (const r of reqs) {
    const v = fieldValue(obj, r.field);
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}
