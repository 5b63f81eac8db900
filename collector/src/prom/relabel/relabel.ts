/**
 * Prometheus relabeling: rule configuration (Alloy's `rule` block fields), validation with
 * Alloy's messages, compilation to fast matchers/templates, and processing of label sets.
 * Semantics follow prometheus `model/relabel` and Alloy `internal/component/common/relabel`:
 * regexes are RE2 anchored as `^(?:re)$`, templates expand like Go's `Regexp.Expand`, setting a
 * label to an empty value deletes it, an empty result set means "dropped".
 * Depends on `prom/labels`, `prom/regex`; used by the relabel/scrape components.
 */
import { hash as oneShotHash } from 'node:crypto';
import type { Labels } from '../types.js';
import { LabelsBuilder, isValidLabelName } from '../labels/labels.js';
import { compileRe2, Re2SyntaxError, type CompiledRe2 } from '../regex/re2.js';

export const RELABEL_ACTIONS = [
  'replace', 'keep', 'drop', 'hashmod', 'labelmap', 'labeldrop', 'labelkeep', 'lowercase', 'uppercase', 'keepequal', 'dropequal',
] as const;
export type RelabelAction = (typeof RELABEL_ACTIONS)[number];

/** One relabel rule, as written in an Alloy `rule` block (defaults applied). */
export interface RelabelConfig {
  readonly source_labels?: readonly string[] | undefined;
  readonly separator: string;
  readonly regex: string;
  readonly modulus: number;
  readonly target_label: string;
  readonly replacement: string;
  readonly action: RelabelAction;
}

export const DEFAULT_RELABEL_CONFIG: RelabelConfig = {
  separator: ';',
  regex: '(.*)',
  modulus: 0,
  target_label: '',
  replacement: '$1',
  action: 'replace',
};

/** Fills in Alloy's defaults for the fields a rule block left out. */
export function withDefaults(partial: Partial<RelabelConfig>): RelabelConfig {
  const out: { -readonly [K in keyof RelabelConfig]: RelabelConfig[K] } = { ...DEFAULT_RELABEL_CONFIG };
  for (const k of Object.keys(partial) as (keyof RelabelConfig)[]) {
    if (partial[k] !== undefined) (out as Record<string, unknown>)[k] = partial[k];
  }
  return out;
}

const RELABEL_TARGET = /^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$/;

/**
 * Validates a rule as Alloy's `Config.Validate` does. Returns the error message, or undefined.
 * Messages name the field to fix.
 */
export function validateRelabelConfig(rc: RelabelConfig): string | undefined {
  const a = rc.action as string;
  if (a === '') return 'relabel action cannot be empty';
  if (!(RELABEL_ACTIONS as readonly string[]).includes(a)) {
    return `unrecognized action type ${JSON.stringify(a)}; valid actions are ${RELABEL_ACTIONS.join(', ')}`;
  }
  try {
    compileRe2(rc.regex);
  } catch (err) {
    if (err instanceof Re2SyntaxError) return `invalid 'regex': ${err.message}`;
    throw err;
  }
  if (!Number.isSafeInteger(rc.modulus) || rc.modulus < 0) return `'modulus' must be a non-negative integer, got ${rc.modulus}`;
  if (rc.modulus === 0 && a === 'hashmod') return 'relabel configuration for hashmod requires non-zero modulus';
  const needsTarget = ['replace', 'hashmod', 'lowercase', 'uppercase', 'keepequal', 'dropequal'];
  if (needsTarget.includes(a) && rc.target_label === '') return `relabel configuration for ${a} action requires 'target_label' value`;
  if (['replace', 'lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(a) && !RELABEL_TARGET.test(rc.target_label)) {
    return `${JSON.stringify(rc.target_label)} is invalid 'target_label' for ${a} action`;
  }
  if (['lowercase', 'uppercase', 'keepequal', 'dropequal'].includes(a) && rc.replacement !== DEFAULT_RELABEL_CONFIG.replacement) {
    return `'replacement' can not be set for ${a} action`;
  }
  if (a === 'labelmap' && !RELABEL_TARGET.test(rc.replacement)) return `${JSON.stringify(rc.replacement)} is invalid 'replacement' for ${a} action`;
  if (a === 'hashmod' && !isValidLabelName(rc.target_label)) return `${JSON.stringify(rc.target_label)} is invalid 'target_label' for ${a} action`;
  if (a === 'labeldrop' || a === 'labelkeep') {
    if (
      rc.source_labels !== undefined ||
      rc.target_label !== DEFAULT_RELABEL_CONFIG.target_label ||
      rc.modulus !== DEFAULT_RELABEL_CONFIG.modulus ||
      rc.separator !== DEFAULT_RELABEL_CONFIG.separator ||
      rc.replacement !== DEFAULT_RELABEL_CONFIG.replacement
    ) {
      return `${a} action requires only 'regex', and no other fields`;
    }
  }
  if (a === 'keepequal' || a === 'dropequal') {
    if (
      rc.regex !== DEFAULT_RELABEL_CONFIG.regex ||
      rc.modulus !== DEFAULT_RELABEL_CONFIG.modulus ||
      rc.separator !== DEFAULT_RELABEL_CONFIG.separator ||
      rc.replacement !== DEFAULT_RELABEL_CONFIG.replacement
    ) {
      return `${a} action requires only 'source_labels' and 'target_label', and no other fields`;
    }
  }
  return undefined;
}

/** A parsed Go `Regexp.Expand` template: literals, group indexes and group names. */
type TemplatePart = string | number | { readonly name: string };
export interface Template {
  /** Set when the template has no `$` references. */
  readonly constant: string | undefined;
  readonly parts: readonly TemplatePart[];
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/** Parses a template exactly as Go's `Regexp.Expand` interprets it. */
export function parseTemplate(t: string): Template {
  const parts: TemplatePart[] = [];
  let lit = '';
  let i = 0;
  let hasRef = false;
  while (i < t.length) {
    const d = t.indexOf('$', i);
    if (d < 0) {
      lit += t.slice(i);
      break;
    }
    lit += t.slice(i, d);
    i = d + 1;
    if (t[i] === '$') {
      lit += '$';
      i++;
      continue;
    }
    let j = i;
    const brace = t[j] === '{';
    if (brace) j++;
    const nameStart = j;
    while (j < t.length && isWordChar(t.charCodeAt(j))) j++;
    const name = t.slice(nameStart, j);
    if (name === '' || (brace && t[j] !== '}')) {
      lit += '$'; // malformed: `$` is literal text
      continue;
    }
    if (brace) j++;
    i = j;
    if (lit !== '') parts.push(lit);
    lit = '';
    hasRef = true;
    let num = -1;
    if (/^[0-9]+$/.test(name)) {
      num = Number(name);
      if (num >= 1e8) num = -1;
    }
    parts.push(num >= 0 ? num : { name });
  }
  if (lit !== '') parts.push(lit);
  return { constant: hasRef ? undefined : parts.join(''), parts };
}

/** Expands a parsed template with a match's groups, as Go's `Regexp.Expand`. */
export function expand(tpl: Template, m: RegExpExecArray | readonly (string | undefined)[], groupNames: readonly (string | undefined)[]): string {
  if (tpl.constant !== undefined) return tpl.constant;
  let out = '';
  for (const p of tpl.parts) {
    if (typeof p === 'string') out += p;
    else if (typeof p === 'number') out += m[p] ?? '';
    else {
      const idx = groupNames.indexOf(p.name);
      if (idx > 0) out += m[idx] ?? '';
    }
  }
  return out;
}

/** Match predicate specialised for common shapes (`(.*)`, `.*`, literal alternations). */
type Matcher = (s: string) => boolean;

function makeMatcher(re: CompiledRe2): Matcher {
  const src = re.source;
  if (src === '(.*)' || src === '.*') return (s) => s.indexOf('\n') < 0;
  if (src === '.+' || src === '(.+)') return (s) => s.length > 0 && s.indexOf('\n') < 0;
  if (/^[A-Za-z0-9_:,\-= ]+(\|[A-Za-z0-9_:,\-= ]+)*$/.test(src)) {
    const set = new Set(src.split('|'));
    if (set.size === 1) return (s) => s === src;
    return (s) => set.has(s);
  }
  const rx = re.regexp;
  return (s) => rx.test(s);
}

export interface CompiledRule {
  readonly config: RelabelConfig;
  readonly action: RelabelAction;
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  readonly regex: CompiledRe2;
  readonly matches: Matcher;
  readonly target: Template;
  readonly replacement: Template;
  readonly modulus: bigint;
}

/**
 * Validates and compiles rules.
 * @throws Error with the rule index and Alloy's validation message.
 */
export function compileRules(configs: readonly RelabelConfig[]): CompiledRule[] {
  return configs.map((config, i) => {
    const msg = validateRelabelConfig(config);
    if (msg !== undefined) throw new Error(`rule[${i}]: ${msg}`);
    const regex = compileRe2(config.regex);
    return {
      config,
      action: config.action,
      sourceLabels: config.source_labels ?? [],
      separator: config.separator,
      regex,
      matches: makeMatcher(regex),
      target: parseTemplate(config.target_label),
      replacement: parseTemplate(config.replacement),
      modulus: BigInt(config.modulus),
    };
  });
}

const SMALL_MODULUS = 1n << 20n;

/** Prometheus hashmod: md5 of the value, last 8 bytes as big-endian uint64, modulo `modulus`. */
export function hashmod(value: string, modulus: bigint): string {
  // One-shot hex digest is ~3x faster than createHash().digest() for short inputs.
  const hex = oneShotHash('md5', value, 'hex');
  if (modulus <= SMALL_MODULUS) {
    // (hi·2^32 + lo) mod m in doubles: every intermediate stays below 2^53 for m ≤ 2^20.
    const m = Number(modulus);
    const hi = parseInt(hex.slice(16, 24), 16) % m;
    const lo = parseInt(hex.slice(24, 32), 16) % m;
    return String((((hi * (4294967296 % m)) % m) + lo) % m);
  }
  return (BigInt('0x' + hex.slice(16)) % modulus).toString();
}

const ASCII = /^[\x00-\x7f]*$/;

/**
 * Go's `strings.ToLower`/`ToUpper`: rune-by-rune simple case mapping, never changing the number of
 * characters (JS maps `ß` → `SS` and `İ` → `i̇`; Go keeps `ß` and maps `İ` → `i`).
 */
export function goCase(s: string, upper: boolean): string {
  if (ASCII.test(s)) return upper ? s.toUpperCase() : s.toLowerCase();
  let out = '';
  for (const ch of s) {
    if (!upper && ch === '\u0130') {
      out += 'i';
      continue;
    }
    const m = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += m.length === ch.length || [...m].length === 1 ? m : ch;
  }
  return out;
}

function sourceValue(rule: CompiledRule, lb: LabelsBuilder): string {
  const sl = rule.sourceLabels;
  if (sl.length === 1) return lb.get(sl[0]!);
  if (sl.length === 0) return '';
  let v = lb.get(sl[0]!);
  for (let i = 1; i < sl.length; i++) v += rule.separator + lb.get(sl[i]!);
  return v;
}

/** Applies one rule to the builder; returns false when the series/target must be dropped. */
export function applyRule(rule: CompiledRule, lb: LabelsBuilder): boolean {
  switch (rule.action) {
    case 'drop':
      return !rule.matches(sourceValue(rule, lb));
    case 'keep':
      return rule.matches(sourceValue(rule, lb));
    case 'dropequal':
      return lb.get(rule.config.target_label) !== sourceValue(rule, lb);
    case 'keepequal':
      return lb.get(rule.config.target_label) === sourceValue(rule, lb);
    case 'replace': {
      const val = sourceValue(rule, lb);
      let m: readonly (string | undefined)[] | null;
      if (rule.target.constant !== undefined && rule.replacement.constant !== undefined) {
        m = rule.matches(val) ? [val] : null;
      } else if (rule.regex.source === '(.*)') {
        m = val.indexOf('\n') < 0 ? [val, val] : null;
      } else {
        m = rule.regex.regexp.exec(val);
      }
      if (m === null) return true;
      const target = expand(rule.target, m, rule.regex.groupNames);
      if (!isValidLabelName(target)) return true;
      const res = expand(rule.replacement, m, rule.regex.groupNames);
      if (res === '') lb.del(target);
      else lb.set(target, res);
      return true;
    }
    case 'lowercase':
      lb.set(rule.config.target_label, goCase(sourceValue(rule, lb), false));
      return true;
    case 'uppercase':
      lb.set(rule.config.target_label, goCase(sourceValue(rule, lb), true));
      return true;
    case 'hashmod':
      lb.set(rule.config.target_label, hashmod(sourceValue(rule, lb), rule.modulus));
      return true;
    case 'labelmap':
      lb.forEach((name, value) => {
        const m = rule.regex.regexp.exec(name);
        if (m) {
          const res = expand(rule.replacement, m, rule.regex.groupNames);
          if (res !== '') lb.set(res, value);
        }
      });
      return true;
    case 'labeldrop':
      lb.retain((name) => !rule.matches(name));
      return true;
    case 'labelkeep':
      lb.retain(rule.matches);
      return true;
  }
}

/** Applies all rules to the builder in order; false as soon as one drops. */
export function processBuilder(lb: LabelsBuilder, rules: readonly CompiledRule[]): boolean {
  for (let i = 0; i < rules.length; i++) if (!applyRule(rules[i]!, lb)) return false;
  return true;
}

const sharedBuilder = new LabelsBuilder();

/**
 * Relabels a label set. Returns the resulting labels (the input object itself when no rule changed
 * anything), or `null` when a rule dropped it or no labels remain.
 */
export function processLabels(ls: Labels, rules: readonly CompiledRule[]): Labels | null {
  if (rules.length === 0) return ls.length === 0 ? null : ls;
  const lb = sharedBuilder.reset(ls);
  if (!processBuilder(lb, rules)) return null;
  const out = lb.labels();
  return out.length === 0 ? null : out;
}
