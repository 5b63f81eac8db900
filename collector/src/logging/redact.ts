/**
 * Redaction of credentials in URLs, for every place a URL is shown or logged: metric labels, the
 * UI and `/api/v0/web/components`, health messages, log lines and error messages.
 *
 * Contracts:
 * - `redactUrl` replaces the password of the userinfo (`https://user:pw@host` →
 *   `https://user:xxxxx@host`, as Go's `url.URL.Redacted` does) and the value of every
 *   credential-like query or fragment parameter (`isSensitiveParam`) with `xxxxx`. Everything else
 *   is kept byte for byte, so a URL without secrets comes back unchanged (`===`).
 * - `redactText` applies `redactUrl` to every `scheme://...` run inside free text (error messages,
 *   log lines); `redactDeep` does so for every string inside a JSON-like tree (new objects are
 *   built only where something changed), and also hides string values stored under a
 *   credential-like key (`params = { token = ["..."] }`, a target's `__param_access_token`).
 * - The result is for display only: never send a redacted URL.
 *
 * Depends on nothing; any layer may use it.
 */

export const REDACTED = 'xxxxx';

/** Exact (normalised: lower case, alphanumerics only) parameter names that carry credentials. */
const SENSITIVE_EXACT = new Set([
  'sig',
  'key',
  'auth',
  'authorization',
  'pass',
  'pwd',
  'passwd',
  'session',
  'jwt',
  'code',
]);
/** Normalised name suffixes that mark a credential (`access_token`, `X-Amz-Signature`, `client_secret`...). */
const SENSITIVE_SUFFIX = /(token|secret|password|passwd|signature|apikey|accesskey|credential|credentials|sessionid|privatekey|sas)$/;

/** Whether a query parameter of this name holds a credential (case and punctuation insensitive). */
export function isSensitiveParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // Malformed escapes: judge the raw name.
  }
  const n = decoded.toLowerCase().replace(/[^a-z0-9]/g, '');
  return n !== '' && (SENSITIVE_EXACT.has(n) || SENSITIVE_SUFFIX.test(n));
}

function redactParams(s: string): string {
  let changed = false;
  const parts = s.split(/([&;])/);
  for (let i = 0; i < parts.length; i += 2) {
    const p = parts[i]!;
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (isSensitiveParam(p.slice(0, eq)) && p.slice(eq + 1) !== REDACTED && eq + 1 < p.length) {
      parts[i] = `${p.slice(0, eq + 1)}${REDACTED}`;
      changed = true;
    }
  }
  return changed ? parts.join('') : s;
}

const URL_SHAPE = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/is;

/** The URL with its userinfo password and credential-like parameters replaced by `xxxxx`. */
export function redactUrl(url: string): string {
  const m = URL_SHAPE.exec(url);
  if (!m) return url;
  const [, scheme, authority, path, query, fragment] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
  let auth = authority;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0 && userinfo.slice(colon + 1) !== REDACTED) auth = `${userinfo.slice(0, colon)}:${REDACTED}${authority.slice(at)}`;
  }
  const q = query !== undefined ? `?${redactParams(query.slice(1))}` : '';
  const f = fragment !== undefined ? `#${redactParams(fragment.slice(1))}` : '';
  const out = `${scheme}${auth}${path}${q}${f}`;
  return out === url ? url : out;
}

/** A URL inside text ends at whitespace, quotes, angle brackets or a backtick. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi;

/** Free text with every URL in it redacted (`redactUrl`). */
export function redactText(text: string): string {
  if (!text.includes('://')) return text;
  const out = text.replace(URL_IN_TEXT, (u) => {
    // A URL quoted by JSON.stringify inside a message may end in an escaped quote: keep it.
    const trail = /\\+$/.exec(u)?.[0] ?? '';
    return redactUrl(u.slice(0, u.length - trail.length)) + trail;
  });
  return out === text ? text : out;
}

/** A JSON-like tree with every string redacted (`redactText`); unchanged parts keep their identity. */
export function redactDeep<T>(value: T): T {
  return redactValue(value, 0) as T;
}

function redactValue(v: unknown, depth: number): unknown {
  if (typeof v === 'string') return redactText(v);
  if (depth > 64 || typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const r = redactValue(v[i], depth + 1);
      if (r !== v[i]) (out ??= v.slice())[i] = r;
    }
    return out ?? v;
  }
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v;
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const r = sensitiveEntry(k, x) ? redactEntry(x) : redactValue(x, depth + 1);
    if (r !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = r;
  }
  return out ?? v;
}

/** A key naming a query parameter (`token`, `__param_access_token`) whose value is text. */
function sensitiveEntry(key: string, value: unknown): boolean {
  if (typeof value !== 'string' && !(Array.isArray(value) && value.every((x) => typeof x === 'string'))) return false;
  return isSensitiveParam(key.startsWith('__param_') ? key.slice('__param_'.length) : key);
}

function redactEntry(value: unknown): unknown {
  return Array.isArray(value) ? value.map(() => REDACTED) : REDACTED;
}

/** The typed value shape of the components API (`syntax/vm/alloy-json.ts`), as far as redaction needs it. */
type TypedValue = { readonly type: string; readonly value?: unknown };
type TypedStatement = { readonly type: string; readonly value?: TypedValue; readonly body?: readonly TypedStatement[] };

/**
 * `redactDeep` for typed Alloy bodies (`[{name, type: "attr"|"block", value|body}]`): URL
 * credentials in string values are redacted, and the values of object keys that name credentials
 * (`params = { token = [...] }`, `__param_access_token`) become `xxxxx`. The structural fields of
 * the encoding (`key`, `name`, `type`) are never taken for credentials.
 */
export function redactTypedBody<T>(body: T): T {
  return (Array.isArray(body) ? body.map((s: TypedStatement) => redactStatement(s)) : body) as T;
}

function redactStatement(s: TypedStatement): TypedStatement {
  if (s.type === 'attr' && s.value !== undefined) return { ...s, value: redactTyped(s.value, 0) };
  if (s.type === 'block' && Array.isArray(s.body)) return { ...s, body: s.body.map((b) => redactStatement(b)) };
  return s;
}

function redactTyped(v: TypedValue, depth: number): TypedValue {
  if (depth > 64) return v;
  switch (v.type) {
    case 'string':
      return typeof v.value === 'string' ? { ...v, value: redactText(v.value) } : v;
    case 'array':
      return Array.isArray(v.value) ? { ...v, value: v.value.map((x: TypedValue) => redactTyped(x, depth + 1)) } : v;
    case 'object': {
      if (!Array.isArray(v.value)) return v;
      const entries = v.value as ReadonlyArray<{ readonly key: string; readonly value: TypedValue }>;
      return {
        ...v,
        value: entries.map((e) => {
          const name = e.key.startsWith('__param_') ? e.key.slice('__param_'.length) : e.key;
          return { key: e.key, value: isSensitiveParam(name) ? hideTyped(e.value) : redactTyped(e.value, depth + 1) };
        }),
      };
    }
    default:
      return v;
  }
}

/** A credential's typed value: strings (and arrays of strings) become `xxxxx`. */
function hideTyped(v: TypedValue): TypedValue {
  if (v.type === 'string') return { type: 'string', value: REDACTED };
  if (v.type === 'array' && Array.isArray(v.value)) return { ...v, value: v.value.map((x: TypedValue) => hideTyped(x)) };
  return v;
}
