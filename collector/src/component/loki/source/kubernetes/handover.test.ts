import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cursor } from './cursors.js';
import { handOverRetrying, PeerError, resolveHandover, serveHandover, type HandoverAnswer, type askPeer } from './handover.js';

const KEY = 'ns/p:c:u';
const at = (ms: number): Cursor => ({ ms, nanos: 0, count: 1 });

/** A fake `askPeer`: each peer answers from its script, one entry per ask (the last repeats). */
function scripted(script: Record<string, Array<Omit<HandoverAnswer, 'peer'> | PeerError>>): { ask: typeof askPeer; asked: string[] } {
  const asked: string[] = [];
  const ask: typeof askPeer = async (addr) => {
    asked.push(addr);
    const answers = script[addr]!;
    const a = answers.length > 1 ? answers.shift()! : answers[0]!;
    if (a instanceof PeerError) throw a;
    return { peer: addr, ...a };
  };
  return { ask, asked };
}

const base = { componentPath: '/api/v0/component/x/', key: KEY, local: () => undefined, handedOver: () => false, pollMs: 1, waitMs: 2000 };

describe('resolveHandover', () => {
  it('GIVEN a peer that left the view and still tails WHEN asked THEN it is polled until it stops and its final position wins', async () => {
    const { ask, asked } = scripted({
      'stay:1': [{ cursor: undefined, active: false }],
      'gone:1': [{ cursor: at(1), active: true }, { cursor: at(2), active: true }, { cursor: at(3), active: false }],
    });
    const r = await resolveHandover({ ...base, peers: ['stay:1'], departed: ['gone:1'], ask, signal: new AbortController().signal });
    expect(r).toEqual({ cursor: at(3), from: 'gone:1' });
    expect(asked.filter((a) => a === 'gone:1')).toHaveLength(3);
  });

  it('GIVEN a departed peer whose server is closed THEN it is asked once and not waited for, nor reported', async () => {
    const { ask, asked } = scripted({ 'gone:1': [new PeerError('asking gone:1: connect ECONNREFUSED', true)] });
    const errors: Error[] = [];
    const r = await resolveHandover({ ...base, waitMs: 60_000, peers: [], departed: ['gone:1'], ask, signal: new AbortController().signal, onPeerError: (e) => errors.push(e) });
    expect(r).toEqual({ cursor: undefined, from: undefined });
    expect(asked).toEqual(['gone:1']);
    expect(errors).toEqual([]);
  });

  it('GIVEN a peer still in the view refuses connections THEN it is asked again until the wait ends and reported', async () => {
    const { ask, asked } = scripted({ 'dead:1': [new PeerError('asking dead:1: connect ECONNREFUSED', true)] });
    const errors: Error[] = [];
    await resolveHandover({ ...base, waitMs: 50, peers: ['dead:1'], ask, signal: new AbortController().signal, onPeerError: (e) => errors.push(e) });
    expect(asked.length).toBeGreaterThan(1);
    expect(errors.map((e) => e.message)).toEqual(['asking dead:1: connect ECONNREFUSED']);
  });

  it('a departed address that is back in the view is asked once per round, as a peer', async () => {
    const { ask, asked } = scripted({ 'p:1': [{ cursor: at(5), active: false }] });
    const r = await resolveHandover({ ...base, peers: ['p:1'], departed: ['p:1'], ask, signal: new AbortController().signal });
    expect(r.cursor).toEqual(at(5));
    expect(asked).toEqual(['p:1']);
  });
});

describe('handOverRetrying', () => {
  let server: http.Server;
  let addr: string;
  let answers: number[];
  const got: Array<{ key: string; cursor: Cursor }> = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const status = answers.length > 1 ? answers.shift()! : answers[0]!;
      if (status !== 204) {
        req.resume();
        res.writeHead(status).end();
        return;
      }
      void serveHandover(req, res, '/cursor', () => ({ cursor: undefined, active: false }), (key, cursor) => void got.push({ key, cursor }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  beforeEach(() => (got.length = 0));

  it('GIVEN a peer still loading its configuration (503) THEN the handover is sent again until it is accepted', async () => {
    answers = [503, 503, 204];
    await handOverRetrying(addr, '/api/v0/component/x/', KEY, at(7), { timeoutMs: 1000, retryForMs: 5000, pauseMs: 5 });
    expect(got).toEqual([{ key: KEY, cursor: at(7) }]);
  });

  it('GIVEN a peer that does not run the component (404) THEN it fails at once naming the peer', async () => {
    answers = [404, 204];
    await expect(handOverRetrying(addr, '/api/v0/component/x/', KEY, at(7), { timeoutMs: 1000, retryForMs: 5000, pauseMs: 5 })).rejects.toThrow(`handing the position of ${KEY} to ${addr}: HTTP 404`);
    expect(got).toEqual([]);
  });

  it('GIVEN a peer that keeps answering 503 THEN it gives up after retryForMs with the last error', async () => {
    answers = [503];
    await expect(handOverRetrying(addr, '/api/v0/component/x/', KEY, at(7), { timeoutMs: 1000, retryForMs: 50, pauseMs: 5 })).rejects.toThrow(/HTTP 503/);
  });
});
