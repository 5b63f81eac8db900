/**
 * Entry point of the `alloy` command (bin/alloy imports the compiled file and calls `main`).
 * Subcommands: run, fmt, validate, config-reloader; `--version`. Returns the exit code.
 * Each subcommand is imported when chosen, so `fmt` or `config-reloader` never load the runtime.
 */
import type { CliIO } from '../cli-kit/io.js';
import { versionText } from '../runtime/build-info.js';

export const USAGE = `alloy is an Alloy-compatible telemetry collector.

Usage:
  alloy [command]

Available Commands:
  run              Run the collector with an Alloy config file or directory
  fmt              Format an Alloy config file
  validate         Validate an Alloy config file or directory without running it
  config-reloader  Watch mounted config directories and call /-/reload (Kubernetes sidecar)

Flags:
  -h, --help       help for alloy
  -v, --version    version for alloy

Use "alloy [command] --help" for more information about a command.
`;

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '-h':
    case '--help':
      io.stdout.write(USAGE);
      return 0;
    case '--version':
    case '-v':
    case 'version':
      io.stdout.write(versionText());
      return 0;
    case 'run':
      return (await import('./run.js')).runCommand(rest, io);
    case 'fmt':
      return (await import('./fmt.js')).fmtCommand(rest, io);
    case 'validate':
      return (await import('./validate.js')).validateCommand(rest, io);
    case 'config-reloader':
      return (await import('../reloader/command.js')).configReloaderCommand(rest, io);
    default:
      io.stderr.write(`Error: unknown command "${cmd}" for "alloy"\nRun 'alloy --help' for usage.\n`);
      return 2;
  }
}

/** Runs `main` with the process streams and exits with its code once output is flushed. */
export async function runMain(): Promise<void> {
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin });
  await new Promise<void>((r) => process.stdout.write('', () => r()));
  await new Promise<void>((r) => process.stderr.write('', () => r()));
  process.exit(code);
}
