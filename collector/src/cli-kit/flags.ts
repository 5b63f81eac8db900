/**
 * A small pflag-compatible flag parser: `--name=value` and `--name value`, booleans as `--name`
 * or `--name=true|false`, repeatable flags collect every value, `--` ends flags. Unknown flags and
 * bad values throw `UsageError` (the CLI exits 2 with its message).
 */
export type FlagKind = 'string' | 'bool' | 'int' | 'duration' | 'stringList';

export interface FlagSpec {
  readonly name: string;
  readonly kind: FlagKind;
  readonly default: string | boolean | number | readonly string[];
  readonly help: string;
  /** stringList only: each occurrence appends (otherwise comma-separated values replace). */
  readonly repeatable?: boolean;
  /** Other accepted names, e.g. `w` for `-w`. */
  readonly aliases?: readonly string[];
}

export type FlagValue = string | boolean | number | string[];

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Go duration syntax (`1m30s`, `500ms`, `0`) → milliseconds. */
export function parseDuration(s: string): number {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    matched = re.lastIndex;
  }
  if (matched !== s.length || s.length === 0) throw new Error(`invalid duration "${s}": use Go duration syntax such as 30s, 1m30s or 500ms`);
  return total;
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function convert(spec: FlagSpec, raw: string): FlagValue {
  const bad = (why: string): never => {
    throw new UsageError(`invalid value "${raw}" for flag --${spec.name}: ${why}`);
  };
  switch (spec.kind) {
    case 'string':
      return raw;
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      return bad('expected true or false');
    case 'int':
      return /^-?\d+$/.test(raw) ? Number(raw) : bad('expected an integer');
    case 'duration':
      try {
        return parseDuration(raw);
      } catch (err) {
        return bad((err as Error).message);
      }
    case 'stringList':
      return raw === '' ? [] : raw.split(',').map((x) => x.trim());
  }
}

export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): { values: Map<string, FlagValue>; positionals: string[]; set: Set<string> } {
  const byName = new Map(specs.flatMap((s) => [s.name, ...(s.aliases ?? [])].map((n) => [n, s] as const)));
  const values = new Map<string, FlagValue>();
  for (const s of specs) values.set(s.name, Array.isArray(s.default) ? [...(s.default as string[])] : (s.default as FlagValue));
  const set = new Set<string>();
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag: ${a.startsWith('--') ? '--' : '-'}${name}`);
    let raw: string;
    if (eq >= 0) raw = body.slice(eq + 1);
    else if (spec.kind === 'bool') raw = 'true';
    else {
      const next = args[i + 1];
      if (next === undefined) throw new UsageError(`flag --${name} needs a value`);
      raw = next;
      i++;
    }
    const v = convert(spec, raw);
    if (spec.kind === 'stringList' && spec.repeatable && set.has(spec.name)) (values.get(spec.name) as string[]).push(...(v as string[]));
    else values.set(spec.name, v);
    set.add(spec.name);
  }
  return { values, positionals, set };
}

export function flagUsage(specs: readonly FlagSpec[]): string {
  return specs
    .map((s) => {
      const d = s.kind === 'duration' ? formatDuration(s.default as number) : Array.isArray(s.default) ? (s.default as string[]).join(',') : String(s.default);
      const type = s.kind === 'bool' ? '' : ` ${s.kind}`;
      return `      --${s.name}${type}\n          ${s.help}${d !== '' ? ` (default ${JSON.stringify(d)})` : ''}`;
    })
    .join('\n');
}
