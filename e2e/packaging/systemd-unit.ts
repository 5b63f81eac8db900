/**
 * What systemd does with a service unit, for starting it where systemd is not PID 1 (CI containers):
 * the [Service] settings, an EnvironmentFile parsed with systemd's rules, and ExecStart expanded
 * with systemd's variable rules. Only the subset the alloy unit uses; anything else is an error,
 * so a unit change that this runner would silently mis-handle fails the test instead.
 */

export interface ServiceUnit {
  /** [Service] keys in file order; repeated keys (Environment=) keep every value. */
  readonly service: ReadonlyMap<string, readonly string[]>;
}

/** Parses an INI-style unit file (sections, `Key=Value`, `#`/`;` comments, `\` line continuation). */
export function parseUnit(text: string): ServiceUnit {
  const service = new Map<string, string[]>();
  let section = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`unit line without "=": ${line}`);
    if (section !== 'Service') continue;
    const key = line.slice(0, eq).trim();
    const list = service.get(key) ?? [];
    list.push(line.slice(eq + 1).trim());
    service.set(key, list);
  }
  return { service };
}

/** The single value of a [Service] key (the last one, as systemd applies), or undefined. */
export function serviceValue(unit: ServiceUnit, key: string): string | undefined {
  return unit.service.get(key)?.at(-1);
}

/**
 * An EnvironmentFile: `KEY=VALUE` lines, `#`/`;` comments, whitespace around the key and unquoted
 * value trimmed, single or double quotes removed (backslash escapes inside double quotes), a
 * trailing backslash continues the line.
 */
export function parseEnvironmentFile(text: string): Map<string, string> {
  const env = new Map<string, string>();
  const lines = text.replace(/\\\n/g, '').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) throw new Error(`EnvironmentFile line is not KEY=VALUE: ${line}`);
    env.set(m[1]!, unquote(m[2]!.trim()));
  }
  return env;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1);
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

/** `Environment=` assignments (`A=b "C=d e"`), with `%H` (host name) expanded. */
export function parseEnvironment(values: readonly string[], hostname: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const v of values) {
    for (const word of splitWords(v.replace(/%H/g, hostname))) {
      const eq = word.indexOf('=');
      if (eq <= 0) throw new Error(`Environment= entry is not KEY=VALUE: ${word}`);
      env.set(word.slice(0, eq), word.slice(eq + 1));
    }
  }
  return env;
}

/** Splits a command line into words: whitespace separates, quotes group, backslash escapes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated quote in: ${line}`);
  if (inWord) words.push(cur);
  return words;
}

/**
 * ExecStart= expansion: a word that is exactly `$NAME` becomes the variable's value split at
 * whitespace (zero words when empty or unset); `${NAME}` inside a word is replaced as one string.
 * Prefixes (`-`, `@`, `+`, `!`) are not supported: the alloy unit uses none.
 */
export function expandExecStart(line: string, env: ReadonlyMap<string, string>): string[] {
  if (/^[-@+!:]/.test(line)) throw new Error(`ExecStart prefixes are not supported by this runner: ${line}`);
  const out: string[] = [];
  for (const word of splitWords(line)) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(word);
    if (whole) {
      out.push(...(env.get(whole[1]!) ?? '').split(/\s+/).filter((w) => w !== ''));
      continue;
    }
    out.push(word.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env.get(name) ?? ''));
  }
  return out;
}
