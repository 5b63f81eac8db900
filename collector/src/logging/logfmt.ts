/** logfmt encoding shared by the collector's logger and the lean config-reloader (no imports). */

/** logfmt value quoting: bare when safe, otherwise a JSON-style quoted string. */
export function logfmtValue(v: unknown): string {
  let s: string;
  if (v instanceof Error) s = v.message;
  else if (v instanceof Date) s = v.toISOString();
  else if (typeof v === 'object' && v !== null) s = JSON.stringify(v);
  else s = String(v);
  return s === '' || /[\s"=\\]/.test(s) || /[^\x21-\x7e]/.test(s) ? JSON.stringify(s) : s;
}
