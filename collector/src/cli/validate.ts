/**
 * `alloy validate [flags] PATH`: parses and checks a config (syntax, component names, labels,
 * arguments against their schemas, references, cycles, stability level) without running
 * anything. Exit 0 when valid, 1 with formatted diagnostics on stderr, 2 for usage errors.
 * Values that exist only at run time (`sys.env(...)`, other components' exports) are not judged
 * (see `validateConfig`); the report is bounded (first 50 diagnostics, then "and N more").
 */
import { formatDiagnostics } from '../syntax/index.js';
import type { Stability } from '../runtime/component.js';
import { STABILITY_ORDER } from '../runtime/component.js';
import { readConfigSources } from '../runtime/runtime.js';
import { defaultRegistry } from '../component/registry.js';
import { validateConfig } from '../runtime/validate.js';
import { syntaxEvaluator } from '../runtime/evaluator.js';
import { BUILD_INFO } from '../runtime/build-info.js';
import { flagUsage, parseFlags, UsageError, type FlagSpec } from '../cli-kit/flags.js';
import type { CliIO } from '../cli-kit/io.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'config.format', kind: 'string', default: 'alloy', help: 'The format of the source file. Supported formats: alloy' },
  { name: 'stability.level', kind: 'string', default: 'generally-available', help: `Minimum stability level of features to enable. Supported values: ${STABILITY_ORDER.join(', ')}` },
  { name: 'feature.community-components.enabled', kind: 'bool', default: false, help: 'Enable community components' },
  { name: 'help', kind: 'bool', default: false, help: 'Show help for validate', aliases: ['h'] },
];

export async function validateCommand(args: readonly string[], io: CliIO): Promise<number> {
  let path: string;
  let level: Stability;
  try {
    const { values, positionals } = parseFlags(args, FLAGS);
    if (values.get('help') === true) {
      io.stdout.write(`Usage:\n  alloy validate [flags] PATH\n\nFlags:\n${flagUsage(FLAGS)}\n`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('expected exactly one PATH: alloy validate [flags] PATH');
    if (values.get('config.format') !== 'alloy') {
      io.stderr.write(`Error: --config.format=${String(values.get('config.format'))} is not supported: only alloy syntax can be validated\n`);
      return 1;
    }
    const l = values.get('stability.level') as string;
    if (!(STABILITY_ORDER as readonly string[]).includes(l)) {
      throw new UsageError(`invalid value "${l}" for flag --stability.level: supported values are ${STABILITY_ORDER.join(', ')}`);
    }
    path = positionals[0]!;
    level = l as Stability;
  } catch (err) {
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
  let sources: Map<string, string>;
  try {
    sources = await readConfigSources(path);
  } catch (err) {
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return 1;
  }
  const diags = await validateConfig(sources, { stabilityLevel: level, registry: defaultRegistry(), evaluator: syntaxEvaluator({ version: BUILD_INFO.version }) });
  if (diags.length === 0) return 0;
  io.stderr.write(formatDiagnostics(diags, sources));
  return diags.some((d) => d.severity === 'error') ? 1 : 0;
}
