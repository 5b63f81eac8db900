/**
 * Test-only: runs a whole Alloy config in-process with the real component registry, so `loki.*`
 * tests exercise decoding, validation and wiring exactly as `alloy run` does.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { LogManager } from '../../logging/logger.js';
import { syntaxEvaluator } from '../../runtime/evaluator.js';
import { defaultRegistry } from '../registry.js';
import { Runtime, type LoadResult } from '../../runtime/runtime.js';

export interface TestRuntime {
  readonly rt: Runtime;
  readonly registry: Registry;
  readonly dir: string;
  readonly load: LoadResult;
  stop(): Promise<void>;
}

/** Loads `config` (written to a temp dir as `config.alloy`); `stop` stops it and removes the dir. */
export async function runConfig(config: string): Promise<TestRuntime> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'loki-rt-'));
  const cfg = path.join(dir, 'config.alloy');
  await fs.writeFile(cfg, config);
  const registry = new Registry();
  const rt = new Runtime({
    configPath: cfg,
    storagePath: path.join(dir, 'data'),
    stabilityLevel: 'experimental',
    logs: new LogManager({ stream: new PassThrough().resume() }),
    registry,
    services: new Map(),
    components: defaultRegistry(),
    evaluator: syntaxEvaluator(),
    buildInfo: { version: 'v0', revision: '', branch: '' },
  });
  const load = await rt.load();
  return {
    rt,
    registry,
    dir,
    load,
    stop: async () => {
      await rt.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback TCP port that was free a moment ago (for configs that need a fixed port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
