/**
 * Gossip over HTTP on the main server port: `POST /api/v0/cluster/gossip` with a JSON
 * `GossipMessage`; the answer is the receiver's `GossipMessage` (push-pull in one round trip).
 * A cluster-name mismatch is answered with 400 and the reason; malformed bodies with 400.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { ClusterNameMismatchError, type GossipMessage, type GossipTransport, type Membership } from './membership.js';

export const GOSSIP_PATH = '/api/v0/cluster/gossip';
const MAX_BODY = 8 << 20;

const nodeRecord = z.object({
  name: z.string().min(1),
  addr: z.string().min(1),
  state: z.enum(['participant', 'viewer', 'terminating']),
  incarnation: z.number().finite(),
  heartbeat: z.number().finite(),
  left: z.boolean().optional(),
});
const gossipMessage = z.object({ cluster: z.string(), from: z.string(), nodes: z.array(nodeRecord) });

export function parseGossipMessage(body: string): GossipMessage {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new Error(`gossip message is not JSON: ${(err as Error).message}`);
  }
  const r = gossipMessage.safeParse(json);
  if (!r.success) throw new Error(`invalid gossip message: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const nodes = r.data.nodes.map((n) => (n.left === undefined ? { name: n.name, addr: n.addr, state: n.state, incarnation: n.incarnation, heartbeat: n.heartbeat } : { ...n, left: n.left }));
  return { cluster: r.data.cluster, from: r.data.from, nodes };
}

export interface TransportCounters {
  /** Bytes sent/received by this node's gossip client and handler. */
  onBytes?(direction: 'tx' | 'rx', n: number): void;
}

export class HttpGossipTransport implements GossipTransport {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  readonly #timeoutMs: number;
  readonly #counters: TransportCounters;

  constructor(opts: { readonly timeoutMs?: number } & TransportCounters = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 2_000;
    this.#counters = opts;
  }

  async exchange(addr: string, msg: GossipMessage): Promise<GossipMessage> {
    const body = JSON.stringify(msg);
    try {
      return await this.#send(addr, body);
    } catch (err) {
      // A kept-alive socket the peer closed just as we reused it: retry once on a fresh one.
      if ((err as { retryable?: boolean }).retryable) return this.#send(addr, body);
      throw err;
    }
  }

  #send(addr: string, body: string): Promise<GossipMessage> {
    this.#counters.onBytes?.('tx', Buffer.byteLength(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        `http://${addr}${GOSSIP_PATH}`,
        { method: 'POST', agent: this.#agent, headers: { 'content-type': 'application/json' }, timeout: this.#timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            this.#counters.onBytes?.('rx', text.length);
            if (res.statusCode !== 200) {
              let reason = text.trim();
              try {
                reason = (JSON.parse(text) as { error?: string }).error ?? reason;
              } catch {
                // plain-text answer (e.g. a collector without clustering)
              }
              const hint = res.statusCode === 404 ? ' (is --cluster.enabled=true set on that node?)' : '';
              reject(new Error(`gossip with ${addr}: HTTP ${res.statusCode}: ${reason}${hint}`));
              return;
            }
            try {
              resolve(parseGossipMessage(text));
            } catch (err) {
              reject(new Error(`gossip with ${addr}: ${(err as Error).message}`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`gossip with ${addr}: no answer within ${this.#timeoutMs}ms`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.message.startsWith('gossip with')) return reject(err);
        const e = new Error(`gossip with ${addr}: ${err.message}`) as Error & { retryable?: boolean };
        e.retryable = req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        reject(e);
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Serve one gossip exchange for `membership` (mounted at `GOSSIP_PATH`). Never throws. */
export async function serveGossip(membership: Membership, req: IncomingMessage, res: ServerResponse, counters: TransportCounters = {}): Promise<void> {
  const send = (status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    counters.onBytes?.('tx', Buffer.byteLength(text));
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
  };
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST', 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `method ${req.method} not allowed; gossip uses POST` }));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > MAX_BODY) return send(413, { error: `gossip message larger than ${MAX_BODY} bytes` });
      chunks.push(c as Buffer);
    }
  } catch (err) {
    return send(400, { error: `reading gossip message: ${(err as Error).message}` });
  }
  counters.onBytes?.('rx', size);
  try {
    return send(200, membership.handle(parseGossipMessage(Buffer.concat(chunks).toString('utf8'))));
  } catch (err) {
    return send(err instanceof ClusterNameMismatchError ? 400 : 400, { error: (err as Error).message });
  }
}
