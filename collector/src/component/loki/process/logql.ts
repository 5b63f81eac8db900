/**
 * LogQL log selectors for `stage.match`: a stream selector `{name="v", name!="v", name=~"re",
 * name!~"re"}` followed by any number of line filters `|= "text"`, `!= "text"`, `|~ "re"`,
 * `!~ "re"`. Label regexes are fully anchored, line-filter regexes are not (as in Loki); both use
 * RE2 syntax. Strings are double-quoted (Go escapes) or backtick raw strings.
 */
import { compileRe2, re2Search } from '../../../prom/regex/re2.js';

export interface LabelMatcher {
  readonly name: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
  readonly test: (v: string) => boolean;
}

export interface LineFilter {
  readonly op: '|=' | '!=' | '|~' | '!~';
  readonly value: string;
  readonly test: (line: string) => boolean;
}

export interface LogSelector {
  readonly matchers: readonly LabelMatcher[];
  readonly filters: readonly LineFilter[];
}

export class SelectorError extends Error {}

/** Parses a LogQL log selector; throws `SelectorError` naming the position and problem. */
export function parseLogSelector(src: string): LogSelector {
  let i = 0;
  const err = (msg: string): never => {
    throw new SelectorError(`invalid selector ${JSON.stringify(src)} at offset ${i}: ${msg}`);
  };
  const ws = (): void => {
    while (i < src.length && /\s/.test(src[i]!)) i++;
  };
  const str = (): string => {
    ws();
    if (src[i] === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) err('unterminated raw string');
      const v = src.slice(i + 1, j);
      i = j + 1;
      return v;
    }
    if (src[i] !== '"') err('expected a quoted string');
    let j = i + 1;
    while (j < src.length && src[j] !== '"') j += src[j] === '\\' ? 2 : 1;
    if (j >= src.length) err('unterminated string');
    let v: string;
    try {
      v = JSON.parse(src.slice(i, j + 1)) as string;
    } catch {
      return err(`bad string ${src.slice(i, j + 1)}`);
    }
    i = j + 1;
    return v;
  };
  const regex = (re: string, anchored: boolean): ((s: string) => boolean) => {
    try {
      const c = compileRe2(re);
      const r = anchored ? c.regexp : re2Search(c);
      return (s) => r.test(s);
    } catch (e: unknown) {
      return err((e as Error).message);
    }
  };
  ws();
  if (src[i] !== '{') err('a selector starts with "{", e.g. {app="web"}');
  i++;
  const matchers: LabelMatcher[] = [];
  for (;;) {
    ws();
    if (src[i] === '}') {
      i++;
      break;
    }
    if (matchers.length > 0) {
      if (src[i] !== ',') err('expected "," or "}"');
      i++;
      ws();
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (!m) err('expected a label name');
    const name = m![0];
    i += name.length;
    ws();
    const op = (['=~', '!~', '!=', '='] as const).find((o) => src.startsWith(o, i));
    if (!op) err('expected one of =, !=, =~, !~');
    i += op!.length;
    const value = str();
    let test: (v: string) => boolean;
    if (op === '=') test = (v) => v === value;
    else if (op === '!=') test = (v) => v !== value;
    else {
      const r = regex(value, true);
      test = op === '=~' ? r : (v) => !r(v);
    }
    matchers.push({ name, op: op!, value, test });
  }
  if (matchers.length === 0) err('at least one label matcher is required, e.g. {app="web"}');
  if (matchers.every((m) => m.test(''))) err('at least one matcher must not match the empty value, e.g. {app="web"} or {app=~".+"}');
  const filters: LineFilter[] = [];
  for (;;) {
    ws();
    if (i >= src.length) break;
    const op = (['|=', '!=', '|~', '!~'] as const).find((o) => src.startsWith(o, i));
    if (!op) err('expected a line filter (|= "text", != "text", |~ "re", !~ "re")');
    i += op!.length;
    const value = str();
    let test: (l: string) => boolean;
    if (op === '|=') test = (l) => l.includes(value);
    else if (op === '!=') test = (l) => !l.includes(value);
    else {
      const r = regex(value, false);
      test = op === '|~' ? r : (l) => !r(l);
    }
    filters.push({ op: op!, value, test });
  }
  return { matchers, filters };
}
