/**
 * Test-only helpers shared by remote-write unit tests, e2e journeys and benches: locating external
 * tools (failing loudly under CI=true) and free loopback ports. Not imported by production code.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Returns the tool's path, or undefined after printing why the caller should skip. Under
 * `CI=true` a missing tool throws, so CI can never pass by skipping.
 */
export function requireTool(path: string, why: string): string | undefined {
  if (existsSync(path)) return path;
  const msg = `${path} is not installed; needed for ${why}`;
  if (process.env['CI'] === 'true') throw new Error(`${msg} (CI=true: install it, e.g. apt-get install)`);
  console.warn(`SKIP: ${msg}`);
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
