/**
 * Test helper: runs the real `prometheus-node-exporter` binary on a free loopback port. Tests
 * call `startNodeExporter()`; when the binary is missing it throws under `CI=true` and returns
 * null otherwise (the caller skips with the printed reason). Used by textparse and scrape tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../remotewrite/remotewrite.test-support.js';

export const NODE_EXPORTER_BIN = '/usr/bin/prometheus-node-exporter';

export interface RunningExporter {
  readonly address: string;
  stop(): Promise<void>;
}

export { freePort };

export async function startNodeExporter(): Promise<RunningExporter | null> {
  if (!existsSync(NODE_EXPORTER_BIN)) {
    const msg = `${NODE_EXPORTER_BIN} not found (install the prometheus-node-exporter Debian package)`;
    if (process.env['CI'] === 'true') throw new Error(msg);
    console.warn(`skipping node_exporter test: ${msg}`);
    return null;
  }
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const child: ChildProcess = spawn(NODE_EXPORTER_BIN, [`--web.listen-address=${address}`, '--log.level=error'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`node_exporter exited with ${child.exitCode}: ${stderr}`);
    try {
      const res = await fetch(`http://${address}/metrics`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`node_exporter did not start listening on ${address}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
