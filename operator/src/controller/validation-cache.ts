/**
 * Validation results remembered by their input. The collector's validator is deterministic: the
 * same sources and stability level always give the same diagnostics. A Collector is reconciled
 * several times while it converges and again on every resync, nearly always with an unchanged
 * config, so the result of the first validation answers the later ones without parsing again.
 *
 * Keys are the sha256 of the inputs (the cache holds no config text); at most `maxEntries`
 * results are kept, the least recently used dropped first. A validator that throws is not
 * remembered: the next call tries again.
 */
import { createHash } from 'node:crypto';
import type { ConfigDiagnostic, ConfigValidator } from './collector-reconciler.js';

/** Wraps `validate` with a bounded cache of its results. @throws when `maxEntries` < 1. */
export function memoizeValidator(validate: ConfigValidator, maxEntries = 4096): ConfigValidator {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new Error(`memoizeValidator: maxEntries must be a whole number >= 1, got ${maxEntries}`);
  const results = new Map<string, readonly ConfigDiagnostic[]>();
  return async (sources, opts) => {
    const h = createHash('sha256').update(opts.stabilityLevel ?? '').update('\0');
    for (const [file, text] of [...sources].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      h.update(String(Buffer.byteLength(file))).update(':').update(file).update(String(Buffer.byteLength(text))).update(':').update(text);
    }
    const key = h.digest('base64');
    const known = results.get(key);
    if (known !== undefined) {
      // Map order is insertion order: re-inserting marks the entry as the most recently used.
      results.delete(key);
      results.set(key, known);
      return known;
    }
    const diagnostics = await validate(sources, opts);
    results.set(key, diagnostics);
    if (results.size > maxEntries) results.delete(results.keys().next().value!);
    return diagnostics;
  };
}
