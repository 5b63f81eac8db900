/** Build identity reported by `alloy --version` and `alloy_build_info`. */
import { readFileSync } from 'node:fs';

// Set by the bundlers (packaging/bundle.mjs for dist/bundle/, packaging/build.mjs for the standalone
// executable, which has no package.json to read); undeclared (so `typeof` is 'undefined') when
// running from dist/ or sources.
declare const __ALLOY_TS_VERSION__: string | undefined;
declare const __ALLOY_TS_REVISION__: string | undefined;

/**
 * The package's version (as in package.json, no `v`): the bundler's define when bundled, else
 * package.json read relative to this module; undefined when neither is found. Shared with the
 * operator (its User-Agent and default image tag).
 */
export function packageVersion(): string | undefined {
  if (typeof __ALLOY_TS_VERSION__ === 'string') return __ALLOY_TS_VERSION__;
  // dist/collector/src/runtime/build-info.js and collector/src/runtime/build-info.ts both sit 3-4 levels below package.json.
  for (const rel of ['../../../package.json', '../../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'alloy-ts' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return undefined;
}

export const BUILD_INFO = {
  version: `v${packageVersion() ?? '0.0.0-unknown'}`,
  revision: process.env.ALLOY_BUILD_REVISION ?? (typeof __ALLOY_TS_REVISION__ === 'string' ? __ALLOY_TS_REVISION__ : 'unknown'),
  branch: process.env.ALLOY_BUILD_BRANCH ?? 'unknown',
} as const;

export function versionText(): string {
  return `alloy, version ${BUILD_INFO.version} (branch: ${BUILD_INFO.branch}, revision: ${BUILD_INFO.revision})\n  build runtime: node ${process.version}\n  platform: ${process.platform}/${process.arch}\n`;
}
