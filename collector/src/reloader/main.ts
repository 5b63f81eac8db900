/**
 * Process entry of `alloy config-reloader`: `bin/alloy` loads this file instead of the CLI when
 * the first argument is `config-reloader`, so the sidecar process never loads the collector
 * runtime or its components (see command.ts). Exits with the command's code once output is flushed.
 */
import { configReloaderCommand } from './command.js';

export async function runReloaderMain(argv: readonly string[] = process.argv.slice(3)): Promise<void> {
  const code = await configReloaderCommand(argv, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  await new Promise<void>((r) => process.stderr.write('', () => r()));
  process.exit(code);
}
