// Process-level membership edge cases: a node configured with another --cluster.name is refused
// (both sides stay apart and the refused node says why), and a SIGKILLed node restarted under the
// same name and address rejoins at once instead of waiting out its tombstone.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';

jest.setTimeout(60_000);

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/alloy');

interface Proc {
  proc: ChildProcess;
  out: () => string;
  exit: Promise<number | null>;
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, procs: Proc[], ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${procs.map((p) => p.out().slice(-2000)).join('\n---\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const peers = async (port: number): Promise<string> =>
  ((await (await fetch(`http://127.0.0.1:${port}/api/v0/web/peers`)).json()) as Array<{ name: string }>)
    .map((p) => p.name)
    .sort()
    .join(',');

describe('cluster membership edge cases across processes', () => {
  const procs: Proc[] = [];
  let dir = '';

  function start(name: string, port: number, join: string, clusterName: string): Proc {
    const proc = spawn(
      process.execPath,
      [bin, 'run', `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, name)}`, '--cluster.enabled=true', `--cluster.node-name=${name}`, `--cluster.join-addresses=${join}`, `--cluster.name=${clusterName}`, '--cluster.rejoin-interval=1s', path.join(dir, 'empty.alloy')],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const p = { proc, out: () => out, exit: new Promise<number | null>((r) => proc.on('exit', (c) => r(c))) };
    procs.push(p);
    return p;
  }

  afterAll(async () => {
    for (const p of procs) p.proc.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exit));
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses a node of another cluster; a restarted node rejoins under its old name', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cluster-isolation-'));
    await fs.writeFile(path.join(dir, 'empty.alloy'), '');
    const [pa, pb, pc] = [await freePort(), await freePort(), await freePort()];
    const join = `127.0.0.1:${pa},127.0.0.1:${pb}`;
    start('a', pa, join, 'prod');
    const b = start('b', pb, join, 'prod');
    await eventually('a and b together', async () => ((await peers(pa)) === 'a,b' ? true : undefined), procs);

    // Another cluster name: refused both ways, and the UI status says why.
    const x = start('x', pc, join, 'staging');
    await eventually('x running alone and reporting the mismatch', async () => {
      const html = await (await fetch(`http://127.0.0.1:${pc}/clustering`)).text();
      return html.includes('cluster name mismatch') && (await peers(pc)) === 'x' ? html : undefined;
    }, procs);
    expect(await peers(pa)).toBe('a,b');
    x.proc.kill('SIGTERM');
    await x.exit;

    // SIGKILL b and restart it at once with the same name and address: a takes it back without
    // waiting for its failure timeout.
    b.proc.kill('SIGKILL');
    await b.exit;
    start('b', pb, join, 'prod');
    const t0 = Date.now();
    await eventually('b back in a\'s view and a in b\'s', async () => ((await peers(pa)) === 'a,b' && (await peers(pb)) === 'a,b' ? true : undefined), procs);
    // The restarted b must stay (its new incarnation outranks the old record's tombstone).
    await new Promise((r) => setTimeout(r, 6_000));
    expect(await peers(pa)).toBe('a,b');
    expect(await peers(pb)).toBe('a,b');
    process.stdout.write(`cluster isolation: restarted node visible again after ${Date.now() - t0 - 6_000}ms\n`);
  });
});
