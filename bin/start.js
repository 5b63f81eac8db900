#!/usr/bin/env node
// `npm start`: builds if needed, then runs the collector on examples/self-scrape.alloy with the
// HTTP server on 127.0.0.1:12345 (override with ALLOY_LISTEN_ADDR). Ctrl-C stops it gracefully.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(`${root}dist/collector/src/cli/main.js`)) {
  const b = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}
const args = [
  `${root}bin/alloy`,
  'run',
  `--server.http.listen-addr=${process.env.ALLOY_LISTEN_ADDR ?? '127.0.0.1:12345'}`,
  `--storage.path=${root}data-alloy/`,
  `${root}examples/self-scrape.alloy`,
];
const child = spawn(process.execPath, args, { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
