import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LiveDebugging } from '../runtime/live-debugging.js';
import { LIVE_PATH, serveLiveStream } from './live-stream.js';

const live = new LiveDebugging();
let server: http.Server;
let base = '';

beforeAll(async () => {
  server = http.createServer((req, res) => serveLiveStream(req, res, new URL(req.url!, 'http://x'), live, (id) => (id === 'prometheus.relabel.x' ? 'ok' : id === 'prometheus.remote_write.x' ? 'unsupported' : 'missing')));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}${LIVE_PATH}`;
});
afterAll(() => new Promise((r) => server.close(r)));

/** Reads SSE events until `done` says so or the deadline passes. */
async function readEvents(url: string, done: (events: { event: string; data: string }[]) => boolean, onOpen: () => void, ms = 5000): Promise<{ event: string; data: string }[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const events: { event: string; data: string }[] = [];
  try {
    const r = await fetch(url, { signal: ac.signal });
    expect(r.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = r.body!.getReader();
    let buf = '';
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buf += Buffer.from(value).toString();
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (block.startsWith(':')) continue;
        const ev = { event: 'message', data: '' };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) ev.event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        ev.data = data.join('\n'); // as EventSource joins the data fields of one event
        events.push(ev);
        if (ev.event === 'start') onOpen();
        if (done(events)) return events;
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return events;
}

describe('live debugging stream', () => {
  it('is refused with the fix while the config has not enabled it', async () => {
    live.enabled = false;
    const r = await fetch(`${base}prometheus.relabel.x`);
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('livedebugging {\n  enabled = true\n}');
  });

  it('answers 404 for an unknown component and 400 for one that publishes nothing', async () => {
    live.enabled = true;
    expect((await fetch(`${base}nope.nope`)).status).toBe(404);
    const r = await fetch(`${base}prometheus.remote_write.x`);
    expect(r.status).toBe(400);
    expect(await r.text()).toContain('does not support live debugging');
  });

  it('streams published lines at most `rate` per second and reports the dropped ones; stops publishing work when the viewer leaves', async () => {
    live.enabled = true;
    let produced = 0;
    const events = await readEvents(
      `${base}prometheus.relabel.x?rate=10`,
      (evs) => evs.some((e) => e.event === 'dropped'),
      () => {
        live.publish('prometheus.relabel.x', () => {
          produced++;
          return Array.from({ length: 100 }, (_, i) => `{a="${i}"} => ${i}`);
        });
      },
    );
    expect(produced).toBe(1);
    expect(events[0]).toEqual({ event: 'start', data: JSON.stringify({ component: 'prometheus.relabel.x', rate: 10 }) });
    const lines = events.filter((e) => e.event === 'message').map((e) => e.data);
    expect(lines).toEqual(Array.from({ length: 10 }, (_, i) => `{a="${i}"} => ${i}`));
    expect(events.find((e) => e.event === 'dropped')!.data).toBe('90');
    // The viewer is gone: publishing no longer formats anything.
    const deadline = Date.now() + 5000;
    while (live.watchers('prometheus.relabel.x') > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(live.watchers('prometheus.relabel.x')).toBe(0);
    live.publish('prometheus.relabel.x', () => {
      produced++;
      return ['x'];
    });
    expect(produced).toBe(1);
  });

  it('sends a multi-line item (an OTLP request as text) as one event that keeps its newlines', async () => {
    live.enabled = true;
    const item = 'ResourceSpans #0\nResource SchemaURL: \nSpan #0\n    Name           : GET /\n';
    const events = await readEvents(
      `${base}prometheus.relabel.x`,
      (evs) => evs.some((e) => e.event === 'message'),
      () => live.publish('prometheus.relabel.x', () => [item]),
    );
    expect(events.filter((e) => e.event === 'message').map((e) => e.data)).toEqual([item.replace(/\n$/, '')]);
  });
});
