/**
 * Unknown-field detection for built-in kinds (`fieldValidation=Strict|Warn`), from the type
 * declarations the `kubernetes-models` package generates out of the Kubernetes OpenAPI schema:
 * each `I<Kind>` interface lists the declared properties and the type of each. Parsed lazily
 * and cached; a type that cannot be resolved is treated as open (never reported).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isObject, type Json, type KubeObject, type ResourceType } from './types.js';

interface PropType {
  /** Declaration file of the property's interface type, if it is an object type. */
  readonly file?: string;
  readonly array: boolean;
  /** `{ [key: string]: T }`: keys are free; values checked if `file` is set. */
  readonly map: boolean;
}

type Props = Map<string, PropType>;

const parsed = new Map<string, Props | null>();

function findRoot(): string | undefined {
  const starts = [path.dirname(fileURLToPath(import.meta.url)), process.cwd()];
  for (let dir of starts) {
    for (;;) {
      const cand = path.join(dir, 'node_modules', 'kubernetes-models');
      if (fs.existsSync(cand)) return path.join(dir, 'node_modules');
      const up = path.dirname(dir);
      if (up === dir) break;
      dir = up;
    }
  }
  return undefined;
}

const NODE_MODULES = findRoot();

function resolveImport(fromFile: string, spec: string): string | undefined {
  let p: string;
  if (spec.startsWith('.')) p = path.resolve(path.dirname(fromFile), spec);
  else if (NODE_MODULES) p = path.join(NODE_MODULES, spec);
  else return undefined;
  p = p.replace(/\.js$/, '');
  return `${p}.d.ts`;
}

function parseFile(file: string): Props | null {
  if (parsed.has(file)) return parsed.get(file)!;
  let src: string;
  try {
    src = fs.readFileSync(file, 'utf8');
  } catch {
    parsed.set(file, null);
    return null;
  }
  const imports = new Map<string, string>();
  for (const m of src.matchAll(/import \{ ([^}]+) \} from "([^"]+)";/g)) {
    const target = resolveImport(file, m[2]!);
    if (!target) continue;
    for (const name of m[1]!.split(',').map((s) => s.trim())) imports.set(name, target);
  }
  const start = /export interface I\w+(?: extends [\w, ]+)? \{\n/.exec(src);
  if (!start) {
    parsed.set(file, null);
    return null;
  }
  const body = src.slice(start.index + start[0].length, src.indexOf('\n}', start.index));
  const clean = body
    .replace(/\/\*\*[\s\S]*?\*\//g, '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .join('\n');
  const props: Props = new Map();
  const re = /^ {4}"([^"]+)"\??: ([\s\S]*?);\n(?= {4}"|$)/gm;
  for (const m of (clean.trim() === '' ? '' : `${clean}\n`).matchAll(re)) {
    const type = m[2]!.trim();
    const array = /^Array<(\w+)>$/.exec(type);
    const map = /^\{\s*\[key: string\]: (\w+);?\s*\}$/.exec(type);
    const ref = array?.[1] ?? map?.[1] ?? (/^\w+$/.test(type) ? type : undefined);
    const f = ref ? imports.get(ref) : undefined;
    props.set(m[1]!, { ...(f ? { file: f } : {}), array: !!array, map: !!map });
  }
  parsed.set(file, props);
  return props;
}

function kindFile(t: ResourceType): string | undefined {
  if (!NODE_MODULES) return undefined;
  const dir = t.group === '' ? path.join(NODE_MODULES, 'kubernetes-models', t.version) : path.join(NODE_MODULES, 'kubernetes-models', t.group, t.version);
  return path.join(dir, `${t.kind}.d.ts`);
}

function isInterfaceFile(file: string): boolean {
  return parseFile(file) !== null;
}

function walk(v: Json, props: Props, at: string, out: string[]): void {
  if (!isObject(v)) return;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'managedFields' && at === 'metadata') continue;
    const pt = props.get(k);
    const here = at === '' ? k : `${at}.${k}`;
    if (!pt) {
      out.push(here);
      continue;
    }
    if (!pt.file || !isInterfaceFile(pt.file)) continue;
    const inner = parseFile(pt.file)!;
    if (pt.array && Array.isArray(x)) x.forEach((item, i) => walk(item, inner, `${here}[${i}]`, out));
    else if (pt.map && isObject(x)) for (const [mk, mv] of Object.entries(x)) walk(mv, inner, `${here}.${mk}`, out);
    else if (!pt.array && !pt.map) walk(x, inner, here, out);
  }
}

/** Dotted paths of fields the kind's schema does not declare; empty when the kind is unknown. */
export function unknownFieldPaths(t: ResourceType, obj: KubeObject): string[] {
  const f = kindFile(t);
  if (!f) return [];
  const props = parseFile(f);
  if (!props) return [];
  const out: string[] = [];
  walk(obj, props, '', out);
  return out;
}
