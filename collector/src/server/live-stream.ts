/**
 * `GET /api/v0/web/debug/{id}?rate=N`: the live-debugging stream of one component as
 * Server-Sent Events: one event per item the component publishes (a sample, a log line, a whole
 * OTLP request as multi-line text; each text line is one `data:` field, so the browser's
 * EventSource gets the item back with its newlines). At most `rate` items per second (default 50, 1..1000; a token bucket with one second of burst); lines above it are
 * dropped and counted in an `event: dropped` (`data: <n>`) once a second, so a busy pipeline
 * cannot flood the browser. The subscription ends when the client disconnects.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LiveDebugging } from '../runtime/live-debugging.js';

export const LIVE_PATH = '/api/v0/web/debug/';
const DEFAULT_RATE = 50;
const MAX_RATE = 1000;

/** Whether a component exists and publishes live-debugging data. */
export type LiveSupport = 'ok' | 'missing' | 'unsupported';

export function serveLiveStream(req: IncomingMessage, res: ServerResponse, url: URL, live: LiveDebugging | undefined, support: (id: string) => LiveSupport): void {
  let id: string;
  try {
    id = decodeURIComponent(url.pathname.slice(LIVE_PATH.length));
  } catch {
    id = url.pathname.slice(LIVE_PATH.length);
  }
  if (!live || !live.enabled) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('live debugging is disabled: add `livedebugging {\n  enabled = true\n}` to the configuration and reload\n');
    return;
  }
  const s = support(id);
  if (s === 'missing') {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`component "${id}" not found\n`);
    return;
  }
  if (s === 'unsupported') {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`component "${id}" does not support live debugging (the components API marks those that do with "liveDebuggingEnabled": true)\n`);
    return;
  }
  const asked = Number(url.searchParams.get('rate') ?? DEFAULT_RATE);
  const rate = Number.isFinite(asked) ? Math.min(MAX_RATE, Math.max(1, Math.floor(asked))) : DEFAULT_RATE;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', connection: 'keep-alive' });
  res.write(`retry: 2000\nevent: start\ndata: ${JSON.stringify({ component: id, rate })}\n\n`);
  let tokens = rate;
  let last = Date.now();
  let dropped = 0;
  const unsubscribe = live.subscribe(id, (lines) => {
    const now = Date.now();
    tokens = Math.min(rate, tokens + ((now - last) / 1000) * rate);
    last = now;
    let chunk = '';
    for (const line of lines) {
      if (tokens < 1) {
        dropped++;
        continue;
      }
      tokens--;
      for (const l of line.replace(/\r?\n$/, '').split(/\r?\n/)) chunk += `data: ${l}\n`;
      chunk += '\n';
    }
    if (chunk) res.write(chunk);
  });
  const tick = setInterval(() => {
    if (dropped > 0) {
      res.write(`event: dropped\ndata: ${dropped}\n\n`);
      dropped = 0;
    } else res.write(': keep-alive\n\n');
  }, 1000);
  const stop = (): void => {
    clearInterval(tick);
    unsubscribe();
  };
  req.on('close', stop);
  res.on('close', stop);
}
