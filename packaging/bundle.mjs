#!/usr/bin/env node
// The forms `bin/alloy` and `bin/operator` start: the ESM output in dist/ bundled by esbuild (the
// last step of `npm run build`). Code splitting keeps every `import()` a separate chunk, so a
// component still loads only when a config names it, while the start-up path reads a handful of
// files instead of ~200 modules (bench/startup.ts measures both forms of the collector; the
// operator's bundle holds ~5 MiB less RSS, operator/README.md).
//   dist/bundle/cli.js, dist/bundle/reloader.js   the two entry points of bin/alloy
//   dist/bundle/chunks/*.js                        shared code and the lazily imported parts
//   dist/bundle/inputs.json                        the dist/ files bundled, with their sizes and mtimes,
//                                                  so bin/alloy can tell a bundle older than dist/
//   dist/bundle/operator/                          the same for bin/operator (operator.js, chunks/,
//                                                  inputs.json), built on its own so neither program's
//                                                  chunks depend on the other's entry points
// The bundle resolves packages that stay outside it (the native `snappy` binding) and package.json
// from its place inside the checkout, exactly as dist/ does. Nothing here is needed at run time:
// bin/alloy falls back to dist/ when the bundle is missing or stale.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Each bundle: its output folder, entry points, and worker scripts (below). */
const targets = [
  { out: path.join(root, 'dist/bundle'), entries: { cli: 'dist/collector/src/cli/main.js', reloader: 'dist/collector/src/reloader/main.js' }, withWorkers: true },
  // The operator never runs components (it only validates configs), so it needs no worker script.
  { out: path.join(root, 'dist/bundle/operator'), entries: { operator: 'dist/operator/src/main.js' }, withWorkers: false },
];
/**
 * Worker thread scripts, found by their pools as `new URL('./<name>.js', import.meta.url)` (which
 * esbuild leaves as written): emitted beside the chunks that hold the pools, under the same name.
 * A pool bundled outside `chunks/` would look elsewhere, so the build checks where they landed.
 */
const workers = {
  'chunks/decode-worker': 'dist/collector/src/component/prometheus/receive_http/decode-worker.js',
  'chunks/compress-worker': 'dist/collector/src/prom/snappy/compress-worker.js',
};

/**
 * zod's namespaces (classic, core, mini) re-export every message locale (`z.locales`, ~340 KB of
 * source, some of it non-Latin-1, which makes V8 hold the whole chunk as two-byte text). Nothing
 * here selects a locale; zod's default English one is imported by its schemas directly, so the
 * namespaces keep only `en`.
 */
const zodLocalesEnglishOnly = {
  name: 'zod-locales-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic[\\/]external|mini[\\/]external|core[\\/]index)\.js$/.test(args.importer) ? { path: args.importer, namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(path.join(path.dirname(args.path), '../locales/en.js'))};\n`,
      resolveDir: path.dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * Chunk names carry a content hash, so a rebuild adds files beside the old ones instead of
 * overwriting them: a process started from the previous bundle can still import the components it
 * has not loaded yet. Chunks no build has written for an hour are removed.
 */
function pruneChunks(out, current) {
  const dir = path.join(out, 'chunks');
  const cutoff = Date.now() - 3600_000;
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    if (!current.has(file) && statSync(file).mtimeMs < cutoff) rmSync(file, { force: true });
  }
}

export async function bundle() {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const { build } = await import('esbuild');
  let files = 0;
  let bytes = 0;
  for (const target of targets) {
    const r = await bundleOne(build, pkg, target);
    files += r.files;
    bytes += r.bytes;
  }
  return { files, bytes };
}

async function bundleOne(build, pkg, { out, entries, withWorkers }) {
  const own = withWorkers ? workers : {};
  for (const rel of [...Object.values(entries), ...Object.values(own)]) {
    try {
      statSync(path.join(root, rel));
    } catch {
      throw new Error(`${rel} is missing: run "npm run build" (tsc) first`);
    }
  }
  // inputs.json goes first and comes back last, so a launcher never takes a half-written bundle for current.
  rmSync(path.join(out, 'inputs.json'), { force: true });
  mkdirSync(out, { recursive: true });
  const result = await build({
    entryPoints: Object.fromEntries(Object.entries({ ...entries, ...own }).map(([k, v]) => [k, path.join(root, v)])),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: out,
    chunkNames: 'chunks/[name]-[hash]',
    external: ['snappy'],
    keepNames: true,
    // Non-ASCII text escaped: V8 keeps each chunk's source, one byte per character only if all are Latin-1.
    charset: 'ascii',
    minifyWhitespace: true,
    minifySyntax: true,
    metafile: true,
    // CommonJS dependencies call require() for Node's built-in modules; ESM has none of its own.
    banner: { js: "import { createRequire as __alloyCreateRequire } from 'node:module'; const require = __alloyCreateRequire(import.meta.url);" },
    define: { __ALLOY_TS_VERSION__: JSON.stringify(pkg.version) },
    plugins: [zodLocalesEnglishOnly],
    logLevel: 'error',
  });
  for (const [file, meta] of Object.entries(result.metafile.outputs)) {
    if (path.dirname(path.resolve(root, file)) === path.join(out, 'chunks')) continue;
    const text = meta.entryPoint === undefined || !file.endsWith('.js') ? '' : readFileSync(path.resolve(root, file), 'utf8');
    for (const name of Object.keys(own).map((k) => path.basename(k))) {
      if (text.includes(`./${name}.js`)) throw new Error(`${file} refers to ./${name}.js but the worker is emitted in dist/bundle/chunks/: keep its pool out of the entry point (a lazy import)`);
    }
  }
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => path.relative(root, path.resolve(root, p)))
    .filter((p) => p.startsWith(`dist${path.sep}`))
    .sort();
  const files = inputs.map((p) => {
    const st = statSync(path.join(root, p));
    return [p, st.size, Math.floor(st.mtimeMs)];
  });
  writeFileSync(path.join(out, 'inputs.json'), JSON.stringify({ files }));
  pruneChunks(out, new Set(Object.keys(result.metafile.outputs).map((p) => path.resolve(root, p))));
  return { files: files.length, bytes: Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0) };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await bundle();
  } catch (err) {
    process.stderr.write(`bundle: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
