/**
 * Runs the real kubectl. `requireTool` implements the project rule for external tools: missing
 * under `CI=true` is a loud failure; otherwise the caller skips with a printed reason.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';

export const KUBECTL = process.env.KUBECTL ?? '/usr/bin/kubectl';

/** True when `path` is executable. Throws under CI=true when it is not; prints why otherwise. */
export function requireTool(name: string, path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.X_OK);
    return true;
  } catch {
    const msg = `${name} not found at ${path}; install it (Debian: apt-get install ${name}) or set ${name.toUpperCase()}=/path`;
    if (process.env.CI === 'true') throw new Error(`required tool missing under CI=true: ${msg}`);
    process.stderr.write(`SKIP: ${msg}\n`);
    return false;
  }
}

export interface KubectlResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

export interface KubectlOptions {
  readonly kubeconfig: string;
  /** Sent on stdin (e.g. a manifest for `apply -f -`). */
  readonly input?: string;
  /** @default 60000 */
  readonly timeoutMs?: number;
}

/** Runs kubectl; resolves with its output and exit code (never rejects on a non-zero exit). */
export function runKubectl(args: readonly string[], opts: KubectlOptions): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(KUBECTL, [...args], { env: { ...process.env, KUBECONFIG: opts.kubeconfig }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? 1 });
    });
    // kubectl may exit before it reads stdin (most verbs never do): EPIPE on the pipe is not an
    // error of the run; its exit code and stderr say what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs kubectl and returns stdout; throws with stderr when it exits non-zero. */
export async function kubectl(args: readonly string[], opts: KubectlOptions): Promise<string> {
  const r = await runKubectl(args, opts);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
