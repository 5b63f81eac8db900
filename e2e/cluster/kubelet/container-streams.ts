/**
 * What the kubelet's streaming endpoints do inside a pod (the container runtime's part):
 *
 * - exec: the command runs in the container's network and mount namespaces (`nsenter -t <pid>`
 *   into the namespaces the container was started in), with the container's env and working
 *   directory, in its own process group. A TTY is a real pseudo-terminal from util-linux
 *   `script`; resizes are applied to it with `stty`.
 * - attach: the running instance's stdout/stderr from now on, and its stdin when the container
 *   keeps one (`stdin: true`; `stdinOnce` closes it when the first attached client leaves).
 * - port-forward: a TCP connection to `localhost:<port>` inside the pod's network namespace (a
 *   short-lived relay process in that namespace, as container runtimes do with `socat`/netns),
 *   or to the pod address when the pod shares the host network.
 *
 * Errors before anything starts are `StreamingError`s in the runtime's words.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
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
 * Relay run inside the pod's network namespace: connects to localhost:port (IPv4, then IPv6, then
 * the pod address: Node.js containers' wildcard and localhost listens are bound to the pod
 * address by pod-preload.mjs), reports `OK` or `ERR <errors>` on stderr, then pipes.
 */
const RELAY = `
const net = require('node:net');
const port = Number(process.argv[1]);
const podIP = process.argv[2];
const errors = [];
const attempt = (hosts) => {
  const host = hosts.shift();
  const s = net.connect({ host, port });
  s.once('error', (e) => {
    errors.push((host === podIP ? 'pod address: ' : host.includes(':') ? 'IPv6: ' : 'IPv4: ') + e.message);
    if (hosts.length > 0) return attempt(hosts);
    process.stderr.write('ERR ' + errors.join(', ') + '\\n', () => process.exit(1));
  });
  s.once('connect', () => {
    s.removeAllListeners('error');
    s.on('error', () => process.exit(0));
    process.stderr.write('OK\\n');
    process.stdin.pipe(s);
    s.on('data', (c) => process.stdout.write(c));
    s.on('end', () => process.stdout.write('', () => process.exit(0)));
    s.on('close', () => process.stdout.write('', () => process.exit(0)));
  });
};
attempt(['127.0.0.1', '::1', ...(podIP ? [podIP] : [])]);
`;

/**
 * Connects to `localhost:<port>` in the pod's network namespace (`netns`), or to `podIP:port`
 * when the pod has none. Rejects with the connection errors.
 */
export function dialPod(podIP: string, netns: string | undefined, port: number): Promise<Duplex> {
  if (!netns) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: podIP, port });
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e) => reject(new Error(`failed to connect to ${podIP}:${port}: ${e.message}`)));
    });
  }
  const [exe, args] = PodNetwork.exec(netns, process.execPath, ['-e', RELAY, String(port), podIP]);
  const child = spawn(exe, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  child.stdin!.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    let err = '';
    const onErr = (c: Buffer): void => {
      err += c.toString();
      const line = err.split('\n')[0] ?? '';
      if (!err.includes('\n')) return;
      child.stderr!.off('data', onErr);
      child.stderr!.resume();
      if (line === 'OK') {
        const d = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
        d.once('close', () => killGroup(child));
        resolve(d);
      } else reject(new Error(`failed to connect to localhost:${port} inside namespace ${JSON.stringify(netns)}, ${line.replace(/^ERR /, '')}`));
    };
    child.stderr!.on('data', onErr);
    child.once('error', (e) => reject(new Error(`port-forward relay: ${e.message}`)));
    child.once('exit', (code) => {
      if (!err.includes('\n')) reject(new Error(`port-forward relay in ${netns} exited with ${code}: ${err.trim()}`));
    });
  });
}
