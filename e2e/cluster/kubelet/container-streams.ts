/**
 * What the kubelet's streaming endpoints do inside a pod (the container runtime's part):
 *
 * - exec: the command runs in the container's network and mount namespaces (`nsenter -t <pid>`
 *   into the namespaces the container was started in), with the container's env and working
 *   directory, in its own process group. A TTY is a real pseudo-terminal from util-linux
 *   `script`; resizes are applied to it with `stty`.
 * - attach: the running instance's stdout/stderr from now on, and its stdin when the container
 *   keeps one (`stdin: true`; `stdinOnce` closes it when the first attached client leaves).
 * - port-forward: a TCP connection to `localhost:<port>` inside the pod's network namespace
 *   (through one relay process per pod living in that namespace, reached over a Unix socket;
 *   container runtimes dial from inside the netns the same way), or to the pod address when the
 *   pod has no namespace of its own.
 *
 * Errors before anything starts are `StreamingError`s in the runtime's words.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Duplex, type Writable } from 'node:stream';
import { PodNetwork } from './pod-network.js';
import { StreamingError, type AttachSession, type ExecProcess, type TerminalSize } from './streaming.js';

/** A running container instance, as exec and attach see it. */
export interface RunningContainer {
  readonly name: string;
  /** Pid of the container's first process (its namespaces are entered through it). */
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** The pod's network namespace, when it has its own. */
  readonly netns?: string;
  /** True when the container runs in its own mount namespace. */
  readonly mountNamespace: boolean;
  /** The container's stdin, when its spec keeps one open. */
  readonly stdin?: Writable;
  readonly stdinOnce: boolean;
  /** Resolves when this instance exits. */
  readonly exited: Promise<unknown>;
  readonly taps: Set<(stream: 'stdout' | 'stderr', chunk: Buffer) => void>;
}

const NSENTER = '/usr/bin/nsenter';
const SCRIPT = '/usr/bin/script';
const STTY = '/usr/bin/stty';
const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };

/** The executable `cmd` resolves to with `PATH`, or undefined (as execvp would fail). */
function lookPath(cmd: string, env: Readonly<Record<string, string>>, cwd: string): string | undefined {
  const ok = (p: string): boolean => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return ok(path.resolve(cwd, cmd)) ? cmd : undefined;
  for (const dir of (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) if (dir && ok(path.join(dir, cmd))) return path.join(dir, cmd);
  return undefined;
}

const shellQuote = (v: string): string => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);

/**
 * Starts `argv` in the container. @throws StreamingError 500 when the executable cannot be found
 * (the runtime's "executable file not found in $PATH").
 */
export function execInContainer(c: RunningContainer, argv: readonly string[], opts: { stdin: boolean; tty: boolean; initialSize?: TerminalSize }): ExecProcess {
  const cmd = argv[0] ?? '';
  if (!lookPath(cmd, c.env, c.cwd)) {
    throw new StreamingError(500, `failed to exec in container: exec: ${JSON.stringify(cmd)}: executable file not found in $PATH`);
  }
  // With a TTY the command runs on a pseudo-terminal (script's -e passes its exit code on), sized
  // before the command starts when the client sent its size.
  const size = opts.initialSize && opts.initialSize.width > 0 && opts.initialSize.height > 0 ? `${STTY} rows ${opts.initialSize.height} cols ${opts.initialSize.width} 2>/dev/null; ` : '';
  const inner = opts.tty ? [SCRIPT, '-q', '-f', '-e', '-c', `${size}exec ${argv.map(shellQuote).join(' ')}`, '/dev/null'] : [...argv];
  const enter = [...(c.netns ? ['-n'] : []), ...(c.mountNamespace ? ['-m'] : [])];
  const [exe, args] = enter.length > 0 ? [NSENTER, ['-t', String(c.pid), ...enter, '--', ...inner]] : [inner[0]!, inner.slice(1)];
  const env: Record<string, string> = { ...c.env, ...(opts.tty ? { TERM: c.env.TERM ?? 'xterm' } : {}) };
  const child = spawn(exe, args, { cwd: c.cwd, env, detached: true, stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);
  // Exec'd processes end with their container, as they would in its cgroup.
  void c.exited.then(() => killGroup(child));
  const exited = new Promise<number>((resolve) => {
    child.once('error', () => resolve(127));
    child.once('close', (code, signal) => resolve(code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 128)));
  });
  // With a TTY, stderr is the same terminal: script's own diagnostics go to stdout too.
  const stdout = opts.tty ? Duplex.from(mergeOutputs(child)) : child.stdout!;
  return {
    ...(child.stdin ? { stdin: child.stdin } : {}),
    stdout,
    ...(opts.tty ? {} : { stderr: child.stderr! }),
    exited,
    resize: (size) => {
      if (opts.tty) void resizeTerminal(child, size);
    },
    kill: () => killGroup(child),
  };
}

async function* mergeOutputs(child: ChildProcess): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let open = 2;
  let wake: () => void = () => undefined;
  for (const s of [child.stdout!, child.stderr!]) {
    s.on('data', (c: Buffer) => {
      queue.push(c);
      wake();
    });
    s.once('close', () => {
      open--;
      wake();
    });
  }
  for (;;) {
    while (queue.length > 0) yield queue.shift()!;
    if (open === 0) return;
    await new Promise<void>((resolve) => (wake = resolve));
  }
}

function killGroup(child: ChildProcess): void {
  if (!child.pid || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Sets the size of the terminal `script` created: found through its child's stdin, set with stty (which signals SIGWINCH). */
async function resizeTerminal(child: ChildProcess, size: TerminalSize): Promise<void> {
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && child.exitCode === null) {
    const tty = await terminalOf(child.pid ?? 0);
    if (tty) {
      await new Promise<void>((resolve) => execFile(STTY, ['-F', tty, 'rows', String(size.height), 'cols', String(size.width)], () => resolve()));
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The `/dev/pts/N` on which a descendant of `pid` (script's child) has its stdin, or undefined. */
async function terminalOf(pid: number): Promise<string | undefined> {
  const children = async (p: number): Promise<number[]> => {
    const tasks = await fsp.readdir(`/proc/${p}/task`).catch(() => [] as string[]);
    const out: number[] = [];
    for (const t of tasks) {
      const text = await fsp.readFile(`/proc/${p}/task/${t}/children`, 'utf8').catch(() => '');
      out.push(...text.split(/\s+/).filter(Boolean).map(Number));
    }
    return out;
  };
  const queue = [pid];
  for (let depth = 0; depth < 4 && queue.length > 0; depth++) {
    for (const p of queue.splice(0)) {
      const fd0 = await fsp.readlink(`/proc/${p}/fd/0`).catch(() => '');
      if (fd0.startsWith('/dev/pts/')) return fd0;
      queue.push(...(await children(p)));
    }
  }
  return undefined;
}

/** Attaches to the running instance's output (and stdin when asked and kept open). */
export function attachToContainer(c: RunningContainer, opts: { stdin: boolean }): AttachSession {
  const listeners: ((stream: 'stdout' | 'stderr', chunk: Buffer) => void)[] = [];
  const tap = (stream: 'stdout' | 'stderr', chunk: Buffer): void => {
    for (const l of listeners) l(stream, chunk);
  };
  c.taps.add(tap);
  let detached = false;
  const stdin = opts.stdin ? c.stdin : undefined;
  return {
    ...(stdin ? { stdin } : {}),
    onOutput: (l) => void listeners.push(l),
    ended: c.exited.then(() => undefined),
    detach: () => {
      if (detached) return;
      detached = true;
      c.taps.delete(tap);
      if (stdin && c.stdinOnce && !stdin.writableEnded) stdin.end();
    },
  };
}

/**
 * The relay that runs inside a pod's network namespace, one per pod, started on the first
 * port-forward: it listens on a Unix socket (reachable from the host), reads `<port>\n` from each
 * connection, connects to localhost:port (IPv4, then IPv6, then the pod address: Node.js
 * containers' wildcard and localhost listens are bound to the pod address by pod-preload.mjs),
 * answers `OK\n` or `ERR <errors>\n`, then pipes both ways with half-close. It exits when its
 * stdin (held by the kubelet) closes.
 */
const RELAY = `
const net = require('node:net');
const fs = require('node:fs');
const [path, podIP] = process.argv.slice(1);
try { fs.unlinkSync(path); } catch {}
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
const dial = (port, hosts, errors, done) => {
  const host = hosts.shift();
  const s = net.connect({ host, port, allowHalfOpen: true });
  s.once('error', (e) => {
    errors.push((host === podIP ? 'pod address: ' : host.includes(':') ? 'IPv6: ' : 'IPv4: ') + e.message);
    if (hosts.length > 0) dial(port, hosts, errors, done);
    else done(undefined, errors.join(', '));
  });
  s.once('connect', () => done(s));
};
net.createServer({ allowHalfOpen: true }, (c) => {
  c.on('error', () => c.destroy());
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) return;
    c.off('data', onData);
    c.pause();
    const rest = head.subarray(nl + 1);
    if (rest.length > 0) c.unshift(rest);
    const port = Number(head.subarray(0, nl).toString());
    dial(port, ['127.0.0.1', '::1', ...(podIP ? [podIP] : [])], [], (s, err) => {
      if (!s) return void c.end('ERR ' + err + '\\n');
      s.on('error', () => { s.destroy(); c.destroy(); });
      s.on('close', () => c.destroy());
      c.on('close', () => s.destroy());
      c.write('OK\\n');
      c.pipe(s);
      s.pipe(c);
    });
  };
  c.on('data', onData);
}).listen(path, () => process.stdout.write('READY\\n'));
`;

interface Relay {
  readonly socketPath: string;
  readonly child: ChildProcess;
}

/** Running relays by network namespace. */
const relays = new Map<string, Promise<Relay>>();

function relayFor(netns: string, podIP: string): Promise<Relay> {
  const existing = relays.get(netns);
  if (existing) return existing;
  const socketPath = path.join(os.tmpdir(), `${netns}.pf.sock`);
  const [exe, args] = PodNetwork.exec(netns, process.execPath, ['-e', RELAY, socketPath, podIP]);
  const child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  child.stdin!.on('error', () => undefined);
  const started = new Promise<Relay>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('READY\n')) resolve({ socketPath, child });
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => reject(new Error(`port-forward relay in ${netns}: ${e.message}`)));
    child.once('exit', (code) => {
      relays.delete(netns);
      reject(new Error(`port-forward relay in ${netns} exited with ${code}: ${err.trim()}`));
    });
  });
  relays.set(netns, started);
  started.catch(() => relays.delete(netns));
  return started;
}

/** Stops the port-forward relay of a pod's network namespace (the pod is gone). */
export function stopRelay(netns: string): void {
  const r = relays.get(netns);
  relays.delete(netns);
  void r?.then(
    (relay) => {
      killGroup(relay.child);
      fs.rmSync(relay.socketPath, { force: true });
    },
    () => undefined,
  );
}

/**
 * Connects to `localhost:<port>` in the pod's network namespace (`netns`), or to `podIP:port`
 * when the pod has none. Rejects with the connection errors.
 */
export async function dialPod(podIP: string, netns: string | undefined, port: number): Promise<Duplex> {
  if (!netns) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: podIP, port, allowHalfOpen: true });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => reject(new Error(`failed to connect to ${podIP}:${port}: ${e.message}`)));
    });
  }
  const relay = await relayFor(netns, podIP);
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: relay.socketPath, allowHalfOpen: true });
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      s.off('data', onData);
      s.pause();
      const line = head.subarray(0, nl).toString();
      const rest = head.subarray(nl + 1);
      if (line !== 'OK') {
        s.destroy();
        return reject(new Error(`failed to connect to localhost:${port} inside namespace ${JSON.stringify(netns)}, ${line.replace(/^ERR /, '')}`));
      }
      if (rest.length > 0) s.unshift(rest);
      s.removeAllListeners('error');
      resolve(s);
    };
    s.on('data', onData);
    s.once('error', (e) => reject(new Error(`port-forward relay in ${netns}: ${e.message}`)));
    s.once('close', () => reject(new Error(`port-forward relay in ${netns} closed the connection`)));
    s.write(`${port}\n`);
  });
}
