/**
 * `alloy fmt [--write] [--test] FILE|-`: prints the canonical formatting of an Alloy file (or
 * stdin), or rewrites it in place with `--write`; `--test` exits 1 when the file is not already
 * formatted. Syntax errors: formatted diagnostics on stderr and exit 1; usage errors exit 2.
 * When the only errors are missing commas before a closer (Alloy requires them), the report ends
 * with a hint, and `--fix-commas` adds them before formatting.
 */
import { promises as fs } from 'node:fs';
import { addMissingCommas, decodeSource, format, formatDiagnostics } from '../syntax/index.js';
import { flagUsage, parseFlags, UsageError, type FlagSpec } from '../cli-kit/flags.js';
import type { CliIO } from '../cli-kit/io.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'write', kind: 'bool', default: false, help: 'Write the result to the source file instead of stdout', aliases: ['w'] },
  { name: 'test', kind: 'bool', default: false, help: 'Exit 1 (printing nothing) when the input is not already formatted', aliases: ['t'] },
  { name: 'fix-commas', kind: 'bool', default: false, help: 'Add the commas Alloy requires after the last element of multi-line lists and objects' },
  { name: 'help', kind: 'bool', default: false, help: 'Show help for fmt', aliases: ['h'] },
];

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return decodeSource(Buffer.concat(chunks));
}

export async function fmtCommand(args: readonly string[], io: CliIO): Promise<number> {
  let file: string;
  let write: boolean;
  let test: boolean;
  let fixCommas: boolean;
  try {
    const { values, positionals } = parseFlags(args, FLAGS);
    if (values.get('help') === true) {
      io.stdout.write(`Usage:\n  alloy fmt [flags] FILE|-\n\nFlags:\n${flagUsage(FLAGS)}\n`);
      return 0;
    }
    if (positionals.length > 1) throw new UsageError('expected at most one FILE (use - for stdin)');
    file = positionals[0] ?? '-';
    write = values.get('write') as boolean;
    test = values.get('test') as boolean;
    fixCommas = values.get('fix-commas') as boolean;
    if (write && file === '-') throw new UsageError('--write cannot be used with stdin: pass a file name');
  } catch (err) {
    io.stderr.write(`Error: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
  let src: string;
  try {
    src = file === '-' ? await readAll(io.stdin) : decodeSource(await fs.readFile(file));
  } catch (err) {
    io.stderr.write(`Error: reading ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}\n`);
    return 1;
  }
  const name = file === '-' ? '<stdin>' : file;
  const fixed = addMissingCommas(src, name);
  const res = format(fixCommas && fixed !== undefined ? fixed : src, name);
  if (res.text === undefined) {
    io.stderr.write(formatDiagnostics(res.diags, new Map([[name, src]])));
    if (fixed !== undefined) {
      io.stderr.write(`\nhint: only commas are missing (Alloy requires one after the last element of a multi-line list or object); "alloy fmt --fix-commas${write ? ' --write' : ''} ${file}" adds them\n`);
    }
    return 1;
  }
  if (test) return res.text === src ? 0 : 1;
  if (write) {
    if (res.text !== src) await fs.writeFile(file, res.text);
    return 0;
  }
  io.stdout.write(res.text);
  return 0;
}
