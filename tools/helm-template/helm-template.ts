/**
 * Runs `bin/helm-template` (real `helm template` when helm is on PATH, else the Go stand-in in this
 * folder) and parses its output. Used by chart, Kustomize and e2e tests and by the scripts that
 * regenerate golden files.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const HELM_TEMPLATE_BIN = path.join(REPO_ROOT, 'bin/helm-template');

export interface HelmTemplateResult {
  /** Exit status of the renderer (0 on success). */
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface HelmTemplateOptions {
  /** Force the stand-in even when helm is on PATH (tests that pin stand-in behaviour). */
  readonly standIn?: boolean;
  /** Text fed to stdin (for `-f -`). */
  readonly input?: string;
}

/** `helmTemplate(['my-release', 'charts/alloy', '-f', 'values.yaml'])`, arguments as `helm template`. */
export function helmTemplate(args: readonly string[], options: HelmTemplateOptions = {}): HelmTemplateResult {
  const env = { ...process.env };
  if (options.standIn === true) env['HELM_TEMPLATE_STANDIN'] = '1';
  const r = spawnSync(HELM_TEMPLATE_BIN, [...args], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    input: options.input,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error !== undefined) throw new Error(`bin/helm-template could not start: ${r.error.message}`);
  return { status: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Like helmTemplate but throws with the renderer's stderr when it fails. */
export function helmTemplateOk(args: readonly string[], options: HelmTemplateOptions = {}): string {
  const r = helmTemplate(args, options);
  if (r.status !== 0) throw new Error(`helm template ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

export interface RenderedManifest {
  /** `# Source:` of the document, e.g. `alloy/templates/configmap.yaml`. */
  readonly source: string;
  readonly object: Record<string, unknown>;
}

/** Splits `helm template` output into its documents, each with the template it came from. */
export function parseManifests(output: string): RenderedManifest[] {
  const out: RenderedManifest[] = [];
  for (const doc of parseAllDocuments(output)) {
    if (doc.errors.length > 0) throw new Error(`rendered output is not valid YAML: ${doc.errors[0]!.message}`);
    const object = doc.toJS() as unknown;
    if (object === null || typeof object !== 'object') continue;
    const m = /^# Source: (\S+)/m.exec(String(doc.commentBefore ?? '').replace(/^ ?/gm, '# ')) ?? /Source: (\S+)/.exec(String(doc.commentBefore ?? ''));
    out.push({ source: m?.[1] ?? '', object: object as Record<string, unknown> });
  }
  return out;
}

/** The one object of `kind` (and `name` when given); throws when absent or ambiguous. */
export function findObject(manifests: readonly RenderedManifest[], kind: string, name?: string): Record<string, unknown> {
  const hits = manifests.filter((m) => m.object['kind'] === kind && (name === undefined || (m.object['metadata'] as { name?: string } | undefined)?.name === name));
  if (hits.length !== 1) throw new Error(`expected one ${kind}${name !== undefined ? ` ${name}` : ''}, found ${hits.length}`);
  return hits[0]!.object;
}

/**
 * Whether bin/helm-template can render (it needs helm or go on PATH). Under CI=true a missing
 * renderer throws; otherwise it warns that `what` is skipped and returns false.
 */
export function rendererAvailable(what: string): boolean {
  if (spawnSync('sh', ['-c', 'command -v helm || command -v go'], { encoding: 'utf8' }).status === 0) return true;
  if (process.env['CI'] === 'true') throw new Error('neither helm nor go is on PATH: CI needs one of them to render the chart');
  console.warn(`skipping ${what}: neither helm nor go is on PATH`);
  return false;
}
