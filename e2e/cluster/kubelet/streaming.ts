/**
 * The kubelet's streaming endpoints on an upgraded connection, as the real kubelet's CRI
 * streaming server (k8s.io/kubelet/pkg/cri/streaming) serves them to the API server:
 *
 * - `/exec/<ns>/<pod>/<container>?command=…&input=1&output=1&error=1&tty=1` and `/attach/…`:
 *   remote-command protocols `v4.channel.k8s.io` (error stream carries a JSON metav1.Status with
 *   the exit code), `v3` (adds the resize stream), `v2` and `channel.k8s.io` (v1) (text errors).
 * - `/portForward/<ns>/<pod>`: `portforward.k8s.io`, a (data, error) stream pair per forwarded
 *   connection, matched by `requestID`, the port in the `port` header.
 *
 * Negotiation (`X-Stream-Protocol-Version`, first client protocol the server supports; none
 * given → v1) and the upgrade (`Connection: Upgrade`, `Upgrade: SPDY/3.1`) answer as
 * k8s.io/apimachinery's httpstream does, including its refusal texts. WebSocket upgrades are
 * refused with 400, so clients that try WebSockets first (kubectl ≥ 1.29 through an API server
 * that passes them on unchanged) fall back to SPDY, as with a kubelet that predates v5.
 *
 * Everything that runs processes or dials pods is behind `StreamingRuntime`, which the kubelet
 * implements; this module only speaks the protocols.
 */
import type http from 'node:http';
import type { Duplex, Readable, Writable } from 'node:stream';
import { SpdySession, StreamRefused, type SpdyStream } from './spdy.js';

export const REMOTE_COMMAND_PROTOCOLS = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export const PORT_FORWARD_PROTOCOLS = ['portforward.k8s.io'] as const;
/** The kubelet's default `StreamCreationTimeout`. */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

export interface TerminalSize {
  readonly width: number;
  readonly height: number;
}

/** A process started in a container by exec. */
export interface ExecProcess {
  /** Present when stdin was requested. */
  readonly stdin?: Writable;
  readonly stdout: Readable;
  /** Absent with a TTY (stdout and stderr are one terminal). */
  readonly stderr?: Readable;
  /** Resolves with the exit code (128+n for a signal) once the process ended and its output is drained. */
  readonly exited: Promise<number>;
  resize(size: TerminalSize): void;
  /** Ends the process (its whole process group). */
  kill(): void;
}

/** A session attached to a running container's standard streams. */
export interface AttachSession {
  /** Present when stdin was requested and the container keeps stdin open (`stdin: true`). */
  readonly stdin?: Writable;
  /** Output written by the container from now on, until it exits or `detach()`. */
  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): void;
  /** Resolves when the container instance exits. */
  readonly ended: Promise<void>;
  detach(): void;
}

export interface StreamingRuntime {
  /** Starts `argv` in the container. @throws StreamingError (404 unknown pod/container, 500 not running). */
  exec(namespace: string, pod: string, container: string, argv: readonly string[], opts: { stdin: boolean; tty: boolean; initialSize?: TerminalSize }): ExecProcess;
  /** Attaches to the container. @throws StreamingError as exec. */
  attach(namespace: string, pod: string, container: string, opts: { stdin: boolean }): AttachSession;
  /**
   * Checks, before the upgrade, that the pod (and the container, when named) runs here.
   * @throws StreamingError 404 (unknown pod or container), 500 (container not running).
   */
  check(namespace: string, pod: string, container?: string): { uid: string };
  /** Connects to `port` on the pod's loopback (inside its network namespace). Rejects with the dial error. */
  dial(namespace: string, pod: string, port: number): Promise<Duplex>;
}

/** An HTTP answer before the upgrade (status and text, as the real kubelet writes them). */
export class StreamingError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/** Remote-command stream flags from the query the API server forwards (`input`, `output`, `error`, `tty`). @throws StreamingError 400. */
export function remoteCommandOptions(q: URLSearchParams): { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean } {
  const tty = q.get('tty') === '1';
  const stdin = q.get('input') === '1';
  const stdout = q.get('output') === '1';
  // A TTY joins stderr into stdout (the kubelet drops the stderr stream).
  const stderr = q.get('error') === '1' && !tty;
  if (!stdin && !stdout && !stderr) throw new StreamingError(400, 'you must specify at least 1 of stdin, stdout, stderr');
  return { stdin, stdout, stderr, tty };
}

/**
 * Picks the protocol: the first the client offers that the server supports; '' when the client
 * offers none (legacy v1). @throws StreamingError 403 naming both lists (with the accepted list as header).
 */
export function negotiateProtocol(client: readonly string[], server: readonly string[]): string {
  if (client.length === 0) return '';
  for (const c of client) if (server.includes(c)) return c;
  throw new StreamingError(403, `unable to upgrade: unable to negotiate protocol: client supports [${client.join(' ')}], server accepts [${server.join(' ')}]`, {
    'X-Accepted-Stream-Protocol-Versions': server.join(', '),
  });
}

/** Every value of `X-Stream-Protocol-Version` (repeated headers and comma lists both count). */
export function clientProtocols(req: http.IncomingMessage): string[] {
  const raw = req.headersDistinct['x-stream-protocol-version'] ?? [];
  return raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

/** Writes a plain HTTP/1.1 answer on a socket that has not been upgraded, then ends it. */
export function writeHttpError(socket: Duplex, status: number, statusText: string, body: string, headers: Readonly<Record<string, string>> = {}): void {
  const lines = [`HTTP/1.1 ${status} ${statusText}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Checks the upgrade headers, answers 101 with the negotiated protocol and starts a SPDY server
 * session on the socket. @throws StreamingError (400 not a SPDY upgrade, 403 no common protocol).
 */
export function upgradeToSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, protocols: readonly string[], onStream: (s: SpdyStream) => void): { session: SpdySession; protocol: string } {
  const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
  const connection = String(req.headers.connection ?? '').toLowerCase();
  if (upgrade.includes('websocket')) {
    throw new StreamingError(400, 'unable to upgrade: WebSocket streaming is not served by this kubelet; use SPDY/3.1 (clients fall back to it)');
  }
  if (!connection.includes('upgrade') || !upgrade.includes('spdy/3.1')) {
    throw new StreamingError(400, `unable to upgrade: missing upgrade headers in request (Connection: ${JSON.stringify(req.headers.connection ?? '')}, Upgrade: ${JSON.stringify(req.headers.upgrade ?? '')}; want Upgrade: SPDY/3.1)`);
  }
  const protocol = negotiateProtocol(clientProtocols(req), protocols);
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (protocol !== '') lines.push(`X-Stream-Protocol-Version: ${protocol}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  const session = new SpdySession(socket, { role: 'server', onStream, head });
  return { session, protocol };
}

// ---- exec and attach ----

interface RemoteCommandStreams {
  error?: SpdyStream;
  stdin?: SpdyStream;
  stdout?: SpdyStream;
  stderr?: SpdyStream;
  resize?: SpdyStream;
}

const STREAM_TYPES = ['error', 'stdin', 'stdout', 'stderr', 'resize'] as const;

/**
 * Serves one exec or attach session on an upgraded socket: waits for the client's streams
 * (as many as the options ask for), runs `start`, then reports the outcome on the error stream
 * and closes the session. Never throws after the upgrade; failures are written to the error stream.
 */
export function serveRemoteCommand(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  opts: ReturnType<typeof remoteCommandOptions>,
  start: (streams: RemoteCommandStreams, protocol: string) => Promise<RemoteCommandResult>,
  streamTimeoutMs = STREAM_CREATION_TIMEOUT_MS,
): void {
  const streams: RemoteCommandStreams = {};
  let expected = 1 + Number(opts.stdin) + Number(opts.stdout) + Number(opts.stderr);
  let received = 0;
  let ready: () => void = () => undefined;
  const allThere = new Promise<void>((resolve) => (ready = resolve));
  const { session, protocol } = upgradeToSpdy(req, socket, head, REMOTE_COMMAND_PROTOCOLS, (s) => {
    const type = s.header('streamtype') as (typeof STREAM_TYPES)[number] | undefined;
    if (!type || !STREAM_TYPES.includes(type)) throw new StreamRefused(`unexpected stream type: ${JSON.stringify(type ?? '')}`);
    streams[type] = s;
    if (++received === expected) ready();
  });
  // v1/v2 have no resize stream; v3/v4 open one when a TTY was asked for.
  if (opts.tty && (protocol === 'v4.channel.k8s.io' || protocol === 'v3.channel.k8s.io')) expected++;
  if (received === expected) ready();
  const timer = setTimeout(() => session.close(), streamTimeoutMs);
  let closed = false;
  session.once('close', () => {
    closed = true;
    clearTimeout(timer);
  });
  void allThere.then(async () => {
    clearTimeout(timer);
    if (closed) return;
    // v1 closes stdin at once (what 1.0 kubelets did).
    if (protocol === '' || protocol === 'channel.k8s.io') streams.stdin?.resume();
    let result: RemoteCommandResult;
    try {
      result = await start(streams, protocol);
    } catch (e) {
      result = { kind: 'internal', message: messageOf(e) };
    }
    const status = errorStreamPayload(result, protocol);
    if (streams.error && status !== undefined && !streams.error.destroyed) streams.error.write(status);
    // Every byte written so far (output may still sit in a stream's write buffer) leaves, each
    // stream with its FIN, before the GOAWAY that ends the session.
    await Promise.all([streams.error, streams.stdout, streams.stderr].map((s) => (s ? finished(s) : undefined)));
    session.close();
  });
}

export type RemoteCommandResult = { kind: 'exit'; code: number; description: string } | { kind: 'internal'; message: string };

/**
 * What the error stream carries. v4: a JSON metav1.Status (Success; NonZeroExitCode with an
 * ExitCode cause; or an InternalError). Older protocols: the error text, nothing on success.
 */
export function errorStreamPayload(result: RemoteCommandResult, protocol: string): string | undefined {
  const v4 = protocol === 'v4.channel.k8s.io';
  if (result.kind === 'exit' && result.code === 0) return v4 ? JSON.stringify({ metadata: {}, status: 'Success' }) : undefined;
  if (result.kind === 'exit') {
    const message = `command terminated with non-zero exit code: ${result.description}`;
    if (!v4) return message;
    return JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: String(result.code) }] } });
  }
  const message = `Internal error occurred: ${result.message}`;
  if (!v4) return message;
  return JSON.stringify({ metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message: result.message }] }, code: 500 });
}

/** Reads the resize stream: a sequence of JSON `{"Width":w,"Height":h}` objects. */
export function onResize(stream: Readable, listener: (size: TerminalSize) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    // Objects are flat, so each `}` ends one.
    for (let i = buf.indexOf('}'); i >= 0; i = buf.indexOf('}')) {
      const text = buf.slice(0, i + 1);
      buf = buf.slice(i + 1);
      try {
        const v = JSON.parse(text.slice(text.indexOf('{'))) as { Width?: unknown; Height?: unknown };
        if (typeof v.Width === 'number' && typeof v.Height === 'number') listener({ width: v.Width, height: v.Height });
      } catch {
        // A malformed size ends nothing: the real kubelet stops reading sizes, the session goes on.
      }
    }
  });
}

/** How long a TTY exec waits for the client's first terminal size before starting without one. */
const FIRST_SIZE_WAIT_MS = 1000;

/**
 * Starts the exec process and wires it to the session's streams; resolves with the outcome.
 * With a resize stream, the process starts once the client's first size arrived (so the command
 * sees its terminal size from the start), or after a second without one.
 */
export async function runExec(start: (initialSize?: TerminalSize) => ExecProcess, streams: RemoteCommandStreams, argv: readonly string[]): Promise<RemoteCommandResult> {
  let proc: ExecProcess | undefined;
  let initial: TerminalSize | undefined;
  if (streams.resize) {
    let first: () => void = () => undefined;
    const gotFirst = new Promise<void>((resolve) => (first = resolve));
    onResize(streams.resize, (size) => {
      if (proc) proc.resize(size);
      else {
        initial = size;
        first();
      }
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([gotFirst, new Promise<void>((resolve) => (timer = setTimeout(resolve, FIRST_SIZE_WAIT_MS)))]);
    clearTimeout(timer);
  }
  proc = start(initial);
  if (streams.stdin && proc.stdin) {
    const stdin = proc.stdin;
    stdin.on('error', () => undefined);
    streams.stdin.pipe(stdin);
  } else streams.stdin?.resume();
  const p = proc;
  const pump = (from: Readable | undefined, to: SpdyStream | undefined): Promise<void> =>
    new Promise((resolve) => {
      if (!from) return resolve();
      from.on('data', (c: Buffer) => {
        if (to && !to.destroyed) to.write(c);
      });
      from.once('end', () => resolve());
      from.once('close', () => resolve());
      from.once('error', () => resolve());
    });
  const drained = Promise.all([pump(p.stdout, streams.stdout), pump(p.stderr, streams.stderr)]);
  // The client going away ends the process (the session's streams are all reset then).
  const gone = (): void => p.kill();
  streams.error?.once('close', gone);
  const code = await p.exited;
  await drained;
  streams.error?.off('close', gone);
  return { kind: 'exit', code, description: `error executing command ${JSON.stringify(argv)}, exit code ${code}` };
}

/** Wires an attach session to the streams; resolves (Success) when the container exits or the client leaves. */
export async function runAttach(att: AttachSession, streams: RemoteCommandStreams): Promise<RemoteCommandResult> {
  if (streams.stdin && att.stdin) {
    const stdin = att.stdin;
    streams.stdin.on('data', (c: Buffer) => {
      if (!stdin.destroyed && !stdin.writableEnded) stdin.write(c);
    });
  } else streams.stdin?.resume();
  att.onOutput((which, chunk) => {
    const to = which === 'stderr' ? (streams.stderr ?? streams.stdout) : streams.stdout;
    if (to && !to.destroyed) to.write(chunk);
  });
  const left = new Promise<void>((resolve) => {
    streams.error?.once('close', () => resolve());
    // The client detaching (Ctrl-P Ctrl-Q, or its stdin closing with nothing else to read) ends the session.
    streams.stdin?.once('end', () => resolve());
  });
  await Promise.race([att.ended, left]);
  att.detach();
  return { kind: 'exit', code: 0, description: '' };
}

// ---- port-forward ----

interface StreamPair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * Serves port-forward on an upgraded socket until the client closes it: each (data, error)
 * pair with the same `requestID` is one connection to the pod's `port`. A failed dial is
 * written to the pair's error stream in the kubelet's words.
 */
export function servePortForward(req: http.IncomingMessage, socket: Duplex, head: Buffer, podLabel: string, uid: string, dial: (port: number) => Promise<Duplex>, streamTimeoutMs = STREAM_CREATION_TIMEOUT_MS): SpdySession {
  const pairs = new Map<string, StreamPair>();
  const { session } = upgradeToSpdy(req, socket, head, PORT_FORWARD_PROTOCOLS, (s) => {
    const portText = s.header('port') ?? '';
    if (portText === '') throw new StreamRefused('"port" header is required');
    const port = Number(portText);
    if (!/^\d+$/.test(portText) || port > 65535) throw new StreamRefused(`unable to parse "${portText}" as a port`);
    if (port < 1) throw new StreamRefused(`port "${portText}" must be > 0`);
    const type = s.header('streamtype') ?? '';
    if (type === '') throw new StreamRefused('"streamType" header is required');
    if (type !== 'error' && type !== 'data') throw new StreamRefused(`invalid stream type "${type}"`);
    // Old clients send no requestID: pair the error stream N with the data stream N+2.
    const id = s.header('requestid') ?? String(type === 'error' ? s.id : s.id - 2);
    let pair = pairs.get(id);
    if (!pair) {
      const timer = setTimeout(() => {
        pairs.delete(id);
        const p = pair!;
        p.error?.end(`(conn=${podLabel}, request=${id}) timed out waiting for streams`);
        p.data?.reset();
      }, streamTimeoutMs);
      pair = { timer };
      pairs.set(id, pair);
    }
    if (pair[type]) throw new StreamRefused(`${type} stream already assigned`);
    pair[type] = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(id);
      void forward(pair.data, pair.error, port, podLabel, uid, dial);
    }
  });
  session.once('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  return session;
}

async function forward(data: SpdyStream, error: SpdyStream, port: number, podLabel: string, uid: string, dial: (port: number) => Promise<Duplex>): Promise<void> {
  let conn: Duplex;
  try {
    conn = await dial(port);
  } catch (e) {
    error.end(`error forwarding port ${port} to pod ${podLabel}, uid ${uid}: ${messageOf(e)}`);
    data.end();
    return;
  }
  // Each direction half-closes the other; the pair ends when the pod side is closed.
  data.pipe(conn);
  conn.pipe(data);
  const done = (): void => {
    conn.destroy();
    if (!data.destroyed && !data.writableEnded) data.end();
    if (!error.destroyed && !error.writableEnded) error.end();
  };
  conn.once('close', done);
  conn.once('error', done);
  data.once('close', () => conn.destroy());
}

/** Ends `s` and resolves once everything written to it has been handed to the session (or it was destroyed). */
function finished(s: SpdyStream): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed || s.writableFinished) return resolve();
    s.once('finish', () => resolve());
    s.once('close', () => resolve());
    if (!s.writableEnded) s.end();
  });
}

/** The message of an error from any realm (errors of Node's core fail `instanceof Error` in a VM context). */
function messageOf(e: unknown): string {
  const m = (e as { message?: unknown } | null)?.message;
  return typeof m === 'string' ? m : String(e);
}
