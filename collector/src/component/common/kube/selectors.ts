/**
 * Client-side syntax checks of Kubernetes label and field selectors, so a bad selector is a
 * config error (as Prometheus's `labels.Parse` / `fields.ParseSelector` make it) instead of a
 * 400 from the API server at run time. The server still evaluates the selectors.
 */

const NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A label key: `[prefix/]name`, name ≤ 63 characters, prefix a DNS subdomain ≤ 253. */
function checkKey(key: string): string | undefined {
  const slash = key.indexOf('/');
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) {
    const prefix = key.slice(0, slash);
    if (prefix === '' || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)) return `invalid label key "${key}": prefix part must be a lowercase DNS subdomain`;
  }
  if (name === '' || name.length > 63 || !NAME.test(name)) {
    return `invalid label key "${key}": name part must be at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`;
  }
  return undefined;
}

function checkValue(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63 || !NAME.test(v)) return `invalid label value "${v}": must be at most 63 alphanumeric characters, '-', '_' or '.', starting and ending with an alphanumeric character`;
  return undefined;
}

/** Splits on commas outside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim());
}

/** Kubernetes label selector syntax; returns the problem or undefined when valid. Empty selects everything. */
export function labelSelectorError(sel: string): string | undefined {
  if (sel.trim() === '') return undefined;
  for (const term of splitTerms(sel)) {
    if (term === '') return `unable to parse requirement: empty term in label selector "${sel}"`;
    let m: RegExpExecArray | null;
    let err: string | undefined;
    if ((m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term))) {
      err = checkKey(m[1]!);
      for (const v of m[3]!.split(',').map((x) => x.trim())) err ??= checkValue(v);
    } else if ((m = /^([^!=<>\s(),]+)\s*(==|=|!=)\s*([^!=<>\s(),]*)$/.exec(term))) {
      err = checkKey(m[1]!) ?? checkValue(m[3]!);
    } else if ((m = /^([^!=<>\s(),]+)\s*(<|>)\s*(\S+)$/.exec(term))) {
      err = checkKey(m[1]!) ?? (/^-?\d+$/.test(m[3]!) ? undefined : `invalid value "${m[3]}" for operator ${m[2]}: must be an integer`);
    } else if ((m = /^!\s*([^!=<>\s(),]+)$/.exec(term))) {
      err = checkKey(m[1]!);
    } else if (/^[^!=<>\s(),]+$/.test(term)) {
      err = checkKey(term);
    } else {
      return `unable to parse requirement: found '${term}' in label selector "${sel}"; expected key, !key, key=value, key!=value, key in (a,b) or key notin (a,b)`;
    }
    if (err) return `${err} in label selector "${sel}"`;
  }
  return undefined;
}

/** Kubernetes field selector syntax (`f=v`, `f==v`, `f!=v`, comma-separated); undefined when valid. */
export function fieldSelectorError(sel: string): string | undefined {
  if (sel.trim() === '') return undefined;
  // Commas, '=' and '!' may be escaped with a backslash inside values.
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < sel.length; i++) {
    const ch = sel[i]!;
    if (ch === '\\' && i + 1 < sel.length) {
      cur += ch + sel[++i];
    } else if (ch === ',') {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  for (const term of terms) {
    if (!/^[^=!\\]+(==|!=|=)/.test(term)) return `invalid selector: '${sel}'; can't understand '${term}' (use field=value, field==value or field!=value)`;
  }
  return undefined;
}
