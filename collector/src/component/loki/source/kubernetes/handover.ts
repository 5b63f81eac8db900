/**
 * Position handover between clustered collectors: when ownership of a container moves (a peer
 * joined, left or came back), the new owner asks every peer how far it forwarded that container's
 * log and resumes after the newest position, instead of re-reading the log from its start.
 *
 * Wire (on a peer's main HTTP server, the address gossip uses, with gossip's trust model):
 * - `GET <component path>cursor?key=<ns>/<pod>:<container>:<uid>` answers
 *   `{"cursor": "<RFC3339Nano> <count>" | null, "active": <still tailing or stopping it>}`;
 * - `POST <component path>cursor` with `{"key": ..., "cursor": "<RFC3339Nano> <count>"}`: a
 *   collector that shuts down hands the final positions of the containers it tailed, and of those
 *   it gave away lately (their new owner may not have asked yet), to every peer (its server stops
 *   answering right after), answered 204.
 *
 * Contracts:
 * - `resolveHandover` never throws: an unreachable peer or a bad answer is skipped (reported
 *   through `onPeerError`), and the result is then the newest position the reachable peers and
 *   the local positions know.
 * - While a peer answers `active` (its view of the membership has not changed yet, or its last
 *   batch is still being forwarded), it is asked again every `pollMs` until it stops, its final
 *   position is handed over (`handedOver`), or `waitMs` has passed. A peer that does not answer
 *   (busy, or shutting down with its handover on the way) is asked again the same way and
 *   reported through `onPeerError` when it never answered. Lines a peer forwards after its last
 *   answer can repeat only when `waitMs` runs out.
 * - Peers that left this node's view recently (`departed`) are asked too: a collector that stops
 *   leaves the membership first and stops its tailers after, so the new owner may no longer see
 *   it while it still tails. Such a peer is asked like the others until its server refuses the
 *   connection; it closes its server only after handing its final positions over, so a refused
 *   connection from a departed peer means it has nothing more to say and is not asked again.
 * - With no peer reachable that tailed the container, the new owner reads the log from its start
 *   (what the API still holds), as upstream does: those lines repeat.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { cursorAfter, formatCursor, parseCursor, type Cursor } from './cursors.js';

/** What a node knows about one container. */
export interface HandoverState {
  readonly cursor: Cursor | undefined;
  readonly active: boolean;
}

export interface HandoverAnswer extends HandoverState {
  readonly peer: string;
}

/**
 * Why asking a peer failed: `refused` when nothing listens at its address any more; `transient`
 * when a later try may succeed (no connection, no answer in time, or 503 from a collector that
 * is starting or stopping).
 */
export class PeerError extends Error {
  readonly refused: boolean;
  readonly transient: boolean;
  constructor(message: string, refused = false, transient = refused) {
    super(message);
    this.name = 'PeerError';
    this.refused = refused;
    this.transient = transient;
  }
}

/**
 * Serves `cursor?key=...` from `lookup` (`subpath` is the path under the component's prefix, the
 * query comes from `req.url`); other subpaths are 404, other methods 405.
 */
export async function serveHandover(
  req: IncomingMessage,
  res: ServerResponse,
  subpath: string,
  lookup: (key: string) => HandoverState,
  accept: (key: string, cursor: Cursor) => void,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const send = (status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (subpath !== '/cursor') return send(404, { error: `unknown path ${subpath}; peers ask GET cursor?key=<namespace>/<pod>:<container>:<uid>` });
  if (req.method === 'POST') {
    let text = '';
    try {
      for await (const c of req) {
        text += (c as Buffer).toString('utf8');
        if (text.length > 64 * 1024) return send(413, { error: 'handover body larger than 64 KiB' });
      }
      const body = JSON.parse(text) as { key?: unknown; cursor?: unknown };
      const cursor = typeof body.cursor === 'string' ? parseCursor(body.cursor) : undefined;
      if (typeof body.key !== 'string' || body.key === '' || cursor === undefined) throw new Error('want {"key": "<ns>/<pod>:<container>:<uid>", "cursor": "<RFC3339Nano> <count>"}');
      accept(body.key, cursor);
    } catch (err) {
      return send(400, { error: `bad handover: ${(err as Error).message}` });
    }
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET') return send(405, { error: `method ${req.method ?? ''} not allowed; use GET (or POST a handover)` });
  const key = url.searchParams.get('key');
  if (!key) return send(400, { error: 'missing key parameter: cursor?key=<namespace>/<pod>:<container>:<uid>' });
  const s = lookup(key);
  send(200, { cursor: s.cursor ? formatCursor(s.cursor) : null, active: s.active });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** Asks one peer (`host:port`) for its state of `key`; rejects with a message naming the peer. */
export function askPeer(addr: string, componentPath: string, key: string, timeoutMs: number): Promise<HandoverAnswer> {
  const url = `http://${addr}${componentPath}cursor?key=${encodeURIComponent(key)}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('error', (err) => reject(new Error(`asking ${addr} for the position of ${key}: ${err.message}`)));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`asking ${addr} for the position of ${key}: HTTP ${res.statusCode}: ${text.trim()}`));
        try {
          const body = JSON.parse(text) as { cursor?: unknown; active?: unknown };
          const cursor = typeof body.cursor === 'string' ? parseCursor(body.cursor) : undefined;
          if (typeof body.cursor === 'string' && cursor === undefined) throw new Error(`bad cursor ${JSON.stringify(body.cursor)}`);
          resolve({ peer: addr, cursor, active: body.active === true });
        } catch (err) {
          reject(new Error(`asking ${addr} for the position of ${key}: ${(err as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.message.startsWith('asking ') ? err : new PeerError(`asking ${addr} for the position of ${key}: ${err.message}`, err.code === 'ECONNREFUSED')));
  });
}

/** Hands `cursor` of `key` to one peer (POST); rejects with a `PeerError` naming the peer. */
export function handOver(addr: string, componentPath: string, key: string, cursor: Cursor, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.request(`http://${addr}${componentPath}cursor`, { method: 'POST', agent, timeout: timeoutMs, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new PeerError(`handing the position of ${key} to ${addr}: HTTP ${res.statusCode}`, false, res.statusCode === 503))));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs}ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new PeerError(`handing the position of ${key} to ${addr}: ${err.message}`, err.code === 'ECONNREFUSED', true)));
    req.end(JSON.stringify({ key, cursor: formatCursor(cursor) }));
  });
}

/**
 * `handOver`, tried again every `pauseMs` while it fails transiently (a peer still starting
 * answers 503 until its configuration is loaded) and `retryForMs` has not passed; rejects with
 * the last error.
 */
export async function handOverRetrying(addr: string, componentPath: string, key: string, cursor: Cursor, o: { timeoutMs: number; retryForMs: number; pauseMs: number; send?: typeof handOver }): Promise<void> {
  const send = o.send ?? handOver;
  const deadline = Date.now() + o.retryForMs;
  for (;;) {
    try {
      return await send(addr, componentPath, key, cursor, o.timeoutMs);
    } catch (err) {
      if (!(err instanceof PeerError && err.transient) || Date.now() + o.pauseMs > deadline) throw err;
      await new Promise((r) => setTimeout(r, o.pauseMs));
    }
  }
}

export interface HandoverOptions {
  /** Peer addresses (`host:port` of their main HTTP servers), this node excluded. */
  readonly peers: readonly string[];
  /** Addresses of peers that left this node's view recently (see the contracts above). */
  readonly departed?: readonly string[];
  readonly componentPath: string;
  readonly key: string;
  /** This node's own position for the container (positions file, or handed over by a peer). */
  readonly local: () => Cursor | undefined;
  /** Whether a peer handed over its final position of the container. */
  readonly handedOver: () => boolean;
  readonly signal: AbortSignal;
  readonly waitMs?: number;
  readonly pollMs?: number;
  readonly timeoutMs?: number;
  readonly ask?: typeof askPeer;
  readonly onPeerError?: (err: Error) => void;
}

/** The newest position of `key` known to this node and its peers (see the contracts above). */
export async function resolveHandover(o: HandoverOptions): Promise<{ cursor: Cursor | undefined; from: string | undefined }> {
  const ask = o.ask ?? askPeer;
  const deadline = Date.now() + (o.waitMs ?? 5000);
  let best: Cursor | undefined;
  let from: string | undefined;
  const departed = new Set((o.departed ?? []).filter((p) => !o.peers.includes(p)));
  let pending = [...o.peers, ...departed];
  const wasActive = new Set<string>();
  const failures = new Map<string, Error>();
  while (pending.length > 0 && !o.signal.aborted) {
    const asked = pending;
    const answers = await Promise.all(asked.map((p) => ask(p, o.componentPath, o.key, o.timeoutMs ?? 2000).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))))));
    pending = [];
    for (const [i, a] of answers.entries()) {
      const peer = asked[i]!;
      if (a instanceof Error) {
        // A departed peer whose server is closed already handed over what it had.
        if (departed.has(peer) && a instanceof PeerError && a.refused) {
          failures.delete(peer);
          continue;
        }
        // Asked again until the deadline: a busy peer, or one shutting down whose handover is coming.
        failures.set(peer, a);
        pending.push(peer);
        continue;
      }
      failures.delete(peer);
      if (a.cursor !== undefined && cursorAfter(a.cursor, best)) {
        best = a.cursor;
        from = a.peer;
      }
      if (a.active) {
        pending.push(a.peer);
        wasActive.add(a.peer);
      }
    }
    if (pending.length === 0 || o.handedOver()) break;
    if (Date.now() >= deadline) {
      const tailing = pending.filter((p) => !failures.has(p));
      if (tailing.length > 0) o.onPeerError?.(new Error(`${tailing.join(', ')} still tailing ${o.key} after ${o.waitMs ?? 5000}ms; lines it forwards from now on may repeat`));
      break;
    }
    await sleep(o.pollMs ?? 200, o.signal);
  }
  for (const [peer, err] of failures) if (!o.handedOver() || !wasActive.has(peer)) o.onPeerError?.(err);
  const local = o.local();
  if (local !== undefined && cursorAfter(local, best)) return { cursor: local, from: undefined };
  return { cursor: best, from };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
