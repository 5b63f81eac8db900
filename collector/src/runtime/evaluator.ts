/**
 * The `ConfigEvaluator` backed by the syntax vm: component exports are layered as a child scope
 * over one standard-library root scope, block bodies decode through `decodeBody`, and
 * `valueToJSON` / `encodeBodyJSON` render values for the API (secrets and URL credentials redacted).
 */
import { collectReferences, decodeBody, encodeBodyJSON, stdlibScope, valueToJSON, type Scope, type StdlibOptions, type Value } from '../syntax/index.js';
import { redactDeep, redactTypedBody } from '../logging/redact.js';
import type { ConfigEvaluator } from './loader.js';

/** `opts.version` is the collector's version (`constants.version`). */
export function syntaxEvaluator(opts: StdlibOptions = {}): ConfigEvaluator {
  const root: Scope = stdlibScope(opts);
  return {
    collectReferences: (body) => collectReferences(body),
    isStdlibRoot: (name) => root.lookup(name).found,
    decode: (body, schema, vars, owner) => {
      try {
        const r = decodeBody(body, schema, root.child(vars as Record<string, Value>), owner);
        return r.value === undefined ? { diags: r.diags } : { value: r.value as never, diags: r.diags };
      } catch (err) {
        const at = owner ?? { start: { file: '', line: 1, column: 1, offset: 0 }, end: { file: '', line: 1, column: 1, offset: 0 } };
        return { diags: [{ severity: 'error', message: `internal error decoding block: ${err instanceof Error ? err.message : String(err)}`, start: at.start, end: at.end }] };
      }
    },
    // URLs lose their credentials too (passwords, tokens in query strings): see logging/redact.ts.
    toJSON: (value) => (value === undefined ? null : redactDeep(valueToJSON(value))),
    encodeBody: (value, schema) => redactTypedBody(encodeBodyJSON(value, schema)),
  };
}
