/**
 * Pyroscope's `name` query parameter of `/ingest`: `app.cpu{env=prod,region=eu}`. The part
 * before `{` is the application name (label `__name__`); pairs are `key=value` separated by
 * commas. `normalizeLabelSet` writes the canonical form (pairs sorted by key) as
 * `labelset.Normalized()` does upstream.
 */
import type { Label, Labels } from './types.js';
import { LABEL_NAME } from './types.js';

/** Pyroscope label names: letters, digits, `_` and `.`, not starting with a digit or `.`. */
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_.]*$/;

export function isValidProfileLabelName(name: string): boolean {
  return LABEL_NAME_RE.test(name);
}

/**
 * Parses `name`; labels come back sorted by name.
 * @throws Error naming the problem for a missing `}`, a pair without `=` or an invalid key.
 */
export function parseLabelSet(s: string): Labels {
  const open = s.indexOf('{');
  const app = (open < 0 ? s : s.slice(0, open)).trim();
  const out = new Map<string, string>();
  if (app !== '') out.set(LABEL_NAME, app);
  if (open >= 0) {
    if (!s.trimEnd().endsWith('}')) throw new Error(`invalid name ${JSON.stringify(s)}: missing closing "}"`);
    const inner = s.slice(open + 1, s.lastIndexOf('}'));
    for (const part of inner.split(',')) {
      if (part.trim() === '') continue;
      const eq = part.indexOf('=');
      if (eq < 0) throw new Error(`invalid name ${JSON.stringify(s)}: label ${JSON.stringify(part.trim())} has no "="`);
      const k = part.slice(0, eq).trim();
      const v = part.slice(eq + 1).trim();
      if (!isValidProfileLabelName(k)) throw new Error(`invalid name ${JSON.stringify(s)}: ${JSON.stringify(k)} is not a valid label name`);
      out.set(k, v);
    }
  }
  return [...out].map(([name, value]): Label => ({ name, value })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `app{k=v,...}` with keys sorted; `__name__` is the part before the braces. */
export function normalizeLabelSet(labels: Labels): string {
  let app = '';
  const pairs: string[] = [];
  for (const l of [...labels].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (l.name === LABEL_NAME) app = l.value;
    else pairs.push(`${l.name}=${l.value}`);
  }
  return `${app}{${pairs.join(',')}}`;
}
