#!/usr/bin/env node
// `npm start`: (re)builds dist/ when it is missing or older than the sources, then runs the
// collector on examples/self-scrape.alloy with the HTTP server (UI, API, /metrics) on
// 127.0.0.1:12345 (override with ALLOY_LISTEN_ADDR). Ctrl-C stops it gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entry = path.join(root, 'dist/collector/src/cli/main.js');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

if (!existsSync(entry) || statSync(entry).mtimeMs < newestSource(path.join(root, 'collector/src'))) {
  process.stderr.write('building dist/ (npm run build) ...\n');
  const b = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (!existsSync(entry)) process.exit(b.status ?? 1);
  if (b.status !== 0) process.stderr.write('build reported type errors (see above); starting with the emitted output anyway\n');
}
const args = [
  path.join(root, 'bin/alloy'),
  'run',
  `--server.http.listen-addr=${process.env.ALLOY_LISTEN_ADDR ?? '127.0.0.1:12345'}`,
  `--storage.path=${path.join(root, 'data-alloy')}`,
  path.join(root, 'examples/self-scrape.alloy'),
];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
