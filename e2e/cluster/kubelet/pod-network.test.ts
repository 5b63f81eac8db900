// Pod network namespaces on a bridge: two pods and the host reach each other, nothing is left after close.
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { claimIpBlock } from '../harness/cluster.js';
import { waitFor } from '../harness/wait.js';
import { IP, PodNetwork, podNetworkUnavailable } from './pod-network.js';

const run = promisify(execFile);
const why = podNetworkUnavailable();
if (why !== undefined && process.env['CI'] === 'true') throw new Error(`${why} (CI=true)`);
if (why !== undefined) process.stderr.write(`SKIP: ${why}\n`);

(why === undefined ? describe : describe.skip)('PodNetwork', () => {
  it('gives each pod its namespace and address; pods and host reach each other; close removes everything', async () => {
    const block = claimIpBlock();
    const base = `10.${block.base.split('.')[1]}`;
    const net = await PodNetwork.create(base);
    const servers: ReturnType<typeof spawn>[] = [];
    try {
      const a = await net.attach('uid-a', `${base}.1.1`);
      const b = await net.attach('uid-b', `${base}.1.2`);
      expect(net.namespaceOf('uid-a')).toBe(a);
      expect(await net.attach('uid-a', `${base}.1.1`)).toBe(a);
      const serve = (ns: string, addr: string): void => {
        const [cmd, args] = PodNetwork.exec(ns, process.execPath, ['-e', `require('node:http').createServer((q, s) => s.end('${addr}')).listen(8080, '${addr}')`]);
        servers.push(spawn(cmd, args, { stdio: 'ignore' }));
      };
      serve(a, `${base}.1.1`);
      serve(b, `${base}.1.2`);
      const fromHost = await waitFor(async () => {
        const r = await fetch(`http://${base}.1.2:8080/`).catch(() => undefined);
        return r?.ok ? r.text() : undefined;
      }, { timeoutMs: 10_000, what: 'pod b answering the host' });
      expect(fromHost).toBe(`${base}.1.2`);
      const [cmd, args] = PodNetwork.exec(a, process.execPath, ['-e', `fetch('http://${base}.1.2:8080/').then((r) => r.text()).then((t) => console.log(t))`]);
      expect((await run(cmd, args, { timeout: 10_000 })).stdout.trim()).toBe(`${base}.1.2`);
      // Loopback inside a pod is its own.
      const [cmd2, args2] = PodNetwork.exec(b, process.execPath, ['-e', "fetch('http://127.0.0.1:8080/').then(() => console.log('reached'), () => console.log('refused'))"]);
      expect((await run(cmd2, args2, { timeout: 10_000 })).stdout.trim()).toBe('refused');
    } finally {
      for (const s of servers) s.kill('SIGKILL');
      await net.close();
      block.release();
    }
    const { stdout: namespaces } = await run(IP, ['netns', 'list']);
    expect(namespaces).not.toContain(`alloy-${base.split('.')[1]}-`);
    const { stdout: links } = await run(IP, ['-o', 'link', 'show']);
    expect(links).not.toContain(net.bridge);
  }, 30_000);

  it('refuses a base that is not 10.N', async () => {
    await expect(PodNetwork.create('192.168')).rejects.toThrow('PodNetwork: base must look like 10.N (N 0-255), got "192.168"');
  });
});
