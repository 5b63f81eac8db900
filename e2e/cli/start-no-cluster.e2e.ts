// `npm start -- --no-cluster` as a newcomer runs it: the shipped standalone config loads with no
// warning (nothing else needs to listen anywhere), a banner names the UI, live debugging and
// config addresses, the samples really stream through prometheus.relabel.tag, and Ctrl-C stops it.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';

jest.setTimeout(120_000);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('npm start -- --no-cluster', () => {
  it('prints a banner with the UI address, loads without warnings and streams live samples', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'start-no-cluster-'));
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(root, 'bin/start.js'), '--no-cluster'], {
      env: { ...process.env, ALLOY_LISTEN_ADDR: `127.0.0.1:${port}`, ALLOY_STORAGE_PATH: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      const end = Date.now() + 100_000; // includes a first build of dist/ when it is stale
      while (!out.includes('Ctrl-C stops it')) {
        if (Date.now() > end || child.exitCode !== null) throw new Error(`no banner:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const base = `http://127.0.0.1:${port}/`;
      expect(out).toContain(`UI:              ${base}`);
      expect(out).toContain(`live samples:    ${base}debug/prometheus.relabel.tag`);
      // The first scrape runs at once; its samples pass through the relabel and reach the stream.
      const ac = new AbortController();
      const stream = await fetch(`${base}api/v0/web/debug/prometheus.relabel.tag`, { signal: ac.signal });
      expect(stream.status).toBe(200);
      const reader = stream.body!.getReader();
      let text = '';
      const deadline = Date.now() + 30_000;
      while (!text.includes('source="standalone-demo"') && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString();
      }
      ac.abort();
      expect(text).toContain('source="standalone-demo"');
      expect(out).not.toMatch(/level=(warn|error)/);
    } finally {
      child.kill('SIGINT');
      await exited;
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
