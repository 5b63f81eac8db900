/**
 * Reads an Alloy config with the collector's own parser (`collector/src/syntax`, the parser only:
 * no runtime, no components) into the neutral `ConfigBlock` outline `collector-access.ts` works on.
 * Literal attribute values are kept; any other expression becomes `DYNAMIC`.
 */
import { parseFile, type ast } from '../../../collector/src/syntax/index.js';
import { DYNAMIC, type ConfigBlock, type ConfigValue } from './collector-access.js';

function value(e: ast.Expr): ConfigValue {
  switch (e.kind) {
    case 'Literal':
      return e.value;
    case 'Array':
      return e.elements.map(value);
    case 'Object':
      return Object.fromEntries(e.fields.map((f) => [f.name.name, value(f.value)]));
    case 'Paren':
      return value(e.inner);
    default:
      return DYNAMIC;
  }
}

function block(b: ast.BlockStmt): ConfigBlock {
  const attrs: Record<string, ConfigValue> = {};
  const blocks: ConfigBlock[] = [];
  for (const s of b.body) {
    if (s.kind === 'Attribute') attrs[s.name.name] = value(s.value);
    else blocks.push(block(s));
  }
  return { name: b.name.join('.'), ...(b.label !== undefined ? { label: b.label } : {}), attrs, blocks };
}

/**
 * Top-level blocks of a config (components and config blocks), or the parser's first error.
 * `declare` bodies are included: a custom component's Kubernetes components need access as well.
 */
export function configBlocks(filename: string, text: string): { ok: true; blocks: ConfigBlock[] } | { ok: false; message: string } {
  const { file, diags } = parseFile(filename, text);
  const error = diags.find((d) => d.severity === 'error');
  if (error !== undefined) return { ok: false, message: error.message };
  const out: ConfigBlock[] = [];
  const visit = (body: ast.Body): void => {
    for (const s of body) {
      if (s.kind !== 'Block') continue;
      const b = block(s);
      out.push(b);
      if (b.name === 'declare') visit(s.body);
    }
  };
  visit(file.body);
  return { ok: true, blocks: out };
}
