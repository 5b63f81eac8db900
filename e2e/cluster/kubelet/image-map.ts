/**
 * Maps container images to host executables. No container runtime exists here: an image is
 * "runnable" when a rule matches its repository; the rule gives the image's entrypoint and which
 * in-image binaries map to which host files. Anything else fails the pod with `ErrImagePull`.
 */
import path from 'node:path';

export interface ImageRule {
  /** Shown in error messages, e.g. `alloy (docker.io/alloyts/alloy)`. */
  readonly description: string;
  /** Decides on the repository part of the image (registry and tag/digest stripped). */
  readonly matches: (repository: string) => boolean;
  /** The image's ENTRYPOINT, used when the container has no `command`. */
  readonly entrypoint: readonly string[];
  /** In-image executable → host executable. */
  readonly binaries: Readonly<Record<string, string>>;
  /**
   * In-image writable paths (the container's own filesystem layer) that are redirected to a
   * per-container directory when they appear in args, e.g. `/var/lib/alloy`.
   */
  readonly writablePaths?: readonly string[];
  /** Rewrites the arguments (after the executable) for the host binary, e.g. a foreign CLI's flags. */
  readonly adaptArgs?: (args: readonly string[]) => string[];
}

export type ImageResolution =
  | { readonly ok: true; readonly executable: string; readonly args: readonly string[]; readonly rule: ImageRule }
  | { readonly ok: false; readonly reason: 'ErrImagePull' | 'RunContainerError'; readonly message: string };

/** `docker.io/alloyts/alloy:v1@sha256:..` → `alloyts/alloy` (registry dropped when it has a dot/colon or is localhost). */
export function repositoryOf(image: string): string {
  let s = image.split('@')[0]!;
  const lastSlash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  if (colon > lastSlash) s = s.slice(0, colon);
  const parts = s.split('/');
  if (parts.length > 1 && (parts[0]!.includes('.') || parts[0]!.includes(':') || parts[0] === 'localhost')) parts.shift();
  return parts.join('/');
}

/** The default rules: our image (`…/alloy`, `…/alloy-operator`) runs this repo's `bin/alloy` and `bin/operator`. */
export function defaultImageRules(repoRoot: string): ImageRule[] {
  const binaries = { '/bin/alloy': path.join(repoRoot, 'bin/alloy'), '/bin/operator': path.join(repoRoot, 'bin/operator'), alloy: path.join(repoRoot, 'bin/alloy') };
  return [
    {
      description: 'alloy (any repository ending in "alloy", entrypoint /bin/alloy → bin/alloy, /bin/operator → bin/operator)',
      matches: (repo) => /(^|\/)alloy$/.test(repo),
      entrypoint: ['/bin/alloy'],
      binaries,
      writablePaths: ['/var/lib/alloy', '/tmp'],
    },
    {
      description: 'alloy-operator (any repository ending in "alloy-operator", entrypoint /bin/operator → bin/operator)',
      matches: (repo) => /(^|\/)alloy-operator$/.test(repo),
      entrypoint: ['/bin/operator'],
      binaries,
      writablePaths: ['/tmp'],
    },
  ];
}

/** Maps `--flag=value`/`--flag value` names through `names`; flags not in `names` are dropped. */
function translateFlags(args: readonly string[], names: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^--?([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const target = names[m[1]!];
    const value = m[2] ?? (args[i + 1] !== undefined && !args[i + 1]!.startsWith('-') ? args[++i] : undefined);
    if (target && value !== undefined) out.push(`--${target}=${value}`);
  }
  return out;
}

/**
 * The config reloader images upstream charts use, run as our `alloy config-reloader` with their
 * flags translated: quay.io/prometheus-operator/prometheus-config-reloader (`--watched-dir`,
 * `--reload-url`, `--listen-address`) and jimmidyson/configmap-reload (`--volume-dir`,
 * `--webhook-url`, `--web.listen-address`). Flags without an equivalent are dropped.
 */
export function reloaderImageRules(repoRoot: string): ImageRule[] {
  const alloy = path.join(repoRoot, 'bin/alloy');
  return [
    {
      description: 'prometheus-config-reloader (run as "alloy config-reloader")',
      matches: (repo) => /(^|\/)prometheus-config-reloader$/.test(repo),
      entrypoint: ['/bin/prometheus-config-reloader'],
      binaries: { '/bin/prometheus-config-reloader': alloy },
      adaptArgs: (args) => ['config-reloader', ...translateFlags(args, { 'watched-dir': 'volume-dir', 'reload-url': 'webhook-url', 'listen-address': 'web.listen-address', 'watch-interval': 'poll-interval' })],
      writablePaths: ['/tmp'],
    },
    {
      description: 'configmap-reload (run as "alloy config-reloader")',
      matches: (repo) => /(^|\/)configmap-reload$/.test(repo),
      entrypoint: ['/configmap-reload'],
      binaries: { '/configmap-reload': alloy },
      adaptArgs: (args) => ['config-reloader', ...translateFlags(args, { 'volume-dir': 'volume-dir', 'webhook-url': 'webhook-url', 'web.listen-address': 'web.listen-address' })],
      writablePaths: ['/tmp'],
    },
  ];
}

/** A rule for tests: image `harness/node` runs the current Node.js binary (`node` or `/usr/local/bin/node`). */
export function nodeImageRule(): ImageRule {
  return {
    description: 'harness/node (test image: node → this Node.js)',
    matches: (repo) => repo === 'harness/node',
    entrypoint: ['node'],
    binaries: { node: process.execPath, '/usr/local/bin/node': process.execPath, '/usr/bin/node': process.execPath },
    writablePaths: ['/tmp'],
  };
}

/** Resolves what to execute for a container, from its image, `command` and `args` (already `$(VAR)`-expanded). */
export function resolveImage(rules: readonly ImageRule[], image: string, command: readonly string[] | undefined, args: readonly string[] | undefined): ImageResolution {
  const repo = repositoryOf(image);
  const rule = rules.find((r) => r.matches(repo));
  if (!rule) {
    return {
      ok: false,
      reason: 'ErrImagePull',
      message: `image "${image}" cannot run on the local dev-cluster kubelet: no container runtime here; runnable images are: ${rules.map((r) => r.description).join('; ')}. Add an ImageRule to the kubelet options to map another image.`,
    };
  }
  const argv = command && command.length > 0 ? [...command, ...(args ?? [])] : [...rule.entrypoint, ...(args ?? [])];
  const exe = argv[0];
  const host = exe === undefined ? undefined : rule.binaries[exe];
  if (!host) {
    return {
      ok: false,
      reason: 'RunContainerError',
      message: `exec: "${exe ?? ''}": executable not found in image "${image}" as emulated by the dev-cluster kubelet (known: ${Object.keys(rule.binaries).join(', ')})`,
    };
  }
  const rest = argv.slice(1);
  return { ok: true, executable: host, args: rule.adaptArgs ? rule.adaptArgs(rest) : rest, rule };
}
