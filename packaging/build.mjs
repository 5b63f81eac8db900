#!/usr/bin/env node
// `npm run package`: the standalone Linux x64 executable of the collector and the Debian package
// around it, built offline from dist/ (run `npm run build` first; the npm script does).
//   dist/packages/alloy-linux-amd64         Node's single executable application: one file, no Node.js needed
//   dist/packages/alloy_<version>_amd64.deb  /usr/bin/alloy, /etc/alloy/config.alloy, /etc/default/alloy,
//                                            /usr/lib/systemd/system/alloy.service, maintainer scripts
// Options: --no-deb (executable only), --out DIR (default dist/packages).
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const outDir = path.resolve(outIdx >= 0 ? args[outIdx + 1] : path.join(root, 'dist/packages'));
const withDeb = !args.includes('--no-deb');
/** The fuse Node's official binaries carry for single executable applications. */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

function fail(msg) {
  process.stderr.write(`package: ${msg}\n`);
  process.exit(1);
}

function step(what) {
  process.stdout.write(`package: ${what}\n`);
}

if (process.platform !== 'linux' || process.arch !== 'x64') fail(`builds linux/x64 packages only (this is ${process.platform}/${process.arch})`);
const entry = path.join(root, 'dist/collector/src/cli/main.js');
if (!existsSync(entry)) fail(`${entry} is missing: run "npm run build" first`);
if (!readFileSync(process.execPath).includes(SEA_FUSE)) {
  fail(`${process.execPath} was built without single-executable support (no ${SEA_FUSE}); use an official Node.js >= 20.19 build`);
}
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
let revision = 'unknown';
try {
  revision = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
} catch {
  // not a git checkout: the executable reports revision "unknown"
}

const work = path.join(outDir, '.work');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// 1. One CommonJS script (what a single executable runs). The native snappy binding cannot load
//    from inside the executable; the collector then uses its pure-JS snappy (bundled).
step('bundling the collector (esbuild)');
const { build } = await import('esbuild');
const bundle = path.join(work, 'alloy.cjs');
await build({
  stdin: {
    contents:
      "import { runMain } from './dist/collector/src/cli/main.js';\n" +
      "runMain().catch((e) => { process.stderr.write(String((e && e.stack) || e) + '\\n'); process.exit(1); });\n",
    resolveDir: root,
    sourcefile: 'standalone-main.js',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  outfile: bundle,
  external: ['snappy'],
  keepNames: true,
  define: {
    'import.meta.url': '__alloy_import_meta_url',
    __ALLOY_TS_VERSION__: JSON.stringify(pkg.version),
    __ALLOY_TS_REVISION__: JSON.stringify(revision),
  },
  banner: { js: "const __alloy_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'error',
});

// 2. The executable: a copy of this Node.js binary with the script injected as its SEA blob.
step('building the single executable (node --experimental-sea-config + postject)');
const blob = path.join(work, 'alloy.blob');
const seaConfig = path.join(work, 'sea-config.json');
writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false }));
execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'pipe' });
const exe = path.join(outDir, 'alloy-linux-amd64');
rmSync(exe, { force: true });
copyFileSync(process.execPath, exe);
chmodSync(exe, 0o755);
const postject = path.join(root, 'node_modules/postject/dist/cli.js');
execFileSync(process.execPath, [postject, exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE], { stdio: 'ignore' });
const version = execFileSync(exe, ['--version'], { encoding: 'utf8', env: { PATH: '/nonexistent' } });
if (!version.includes(`v${pkg.version}`)) fail(`the executable reports an unexpected version:\n${version}`);
step(`${path.relative(root, exe)} (${(statSync(exe).size / 2 ** 20).toFixed(1)} MiB)`);

// 3. The Debian package.
if (withDeb) {
  step('building the Debian package (dpkg-deb)');
  const deb = path.join(root, 'packaging/deb');
  const tree = path.join(work, 'deb');
  const put = (from, to, mode) => {
    const dst = path.join(tree, to);
    mkdirSync(path.dirname(dst), { recursive: true });
    copyFileSync(from, dst);
    chmodSync(dst, mode);
  };
  put(exe, 'usr/bin/alloy', 0o755);
  put(path.join(deb, 'files/config.alloy'), 'etc/alloy/config.alloy', 0o640);
  put(path.join(deb, 'files/default'), 'etc/default/alloy', 0o644);
  put(path.join(deb, 'files/alloy.service'), 'usr/lib/systemd/system/alloy.service', 0o644);
  mkdirSync(path.join(tree, 'DEBIAN'), { recursive: true });
  for (const f of ['conffiles', 'postinst', 'prerm', 'postrm']) {
    put(path.join(deb, 'control', f), path.join('DEBIAN', f), f === 'conffiles' ? 0o644 : 0o755);
  }
  const sizeKiB = Math.ceil(Number(execFileSync('du', ['-sk', '--exclude=DEBIAN', tree], { encoding: 'utf8' }).split('\t')[0]));
  const control = readFileSync(path.join(deb, 'control/control.in'), 'utf8').replace('@VERSION@', pkg.version).replace('@SIZE@', String(sizeKiB));
  writeFileSync(path.join(tree, 'DEBIAN/control'), control);
  cpSync(path.join(tree, 'DEBIAN/control'), path.join(work, 'control'));
  const out = path.join(outDir, `alloy_${pkg.version}_amd64.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', tree, out], { stdio: ['ignore', 'ignore', 'inherit'] });
  step(`${path.relative(root, out)} (${(statSync(out).size / 2 ** 20).toFixed(1)} MiB)`);
}
rmSync(work, { recursive: true, force: true });
