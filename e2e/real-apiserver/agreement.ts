/**
 * Raw requests sent alike to the real kube-apiserver and the test API server, so a test can hold
 * the test server to the real one's answers (status code, reason, message, causes).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

export interface Answer {
  readonly code: number;
  readonly reason?: string;
  readonly message?: string;
  readonly causes?: ReadonlyArray<{ readonly reason?: string; readonly message?: string; readonly field?: string }>;
  /** For an answer that is an object (not a Status): what deletion left of it. */
  readonly object?: { readonly kind: string; readonly finalizers: readonly string[]; readonly deleting: boolean };
}

export interface Target {
  readonly url: string;
  readonly caPem?: string;
  readonly token?: string;
}

/** Sends one request; resolves with the Status fields of the answer (never rejects on 4xx/5xx). */
export async function send(target: Target, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  const { code, parsed } = await sendRaw(target, method, path, body, contentType);
  const isStatus = parsed['kind'] === 'Status';
  const details = parsed['details'] as { causes?: Answer['causes'] } | undefined;
  const md = parsed['metadata'] as { finalizers?: string[]; deletionTimestamp?: string } | undefined;
  return {
    code,
    ...(isStatus && typeof parsed['reason'] === 'string' ? { reason: parsed['reason'] } : {}),
    ...(isStatus && typeof parsed['message'] === 'string' ? { message: parsed['message'] } : {}),
    ...(isStatus && details?.causes ? { causes: details.causes } : {}),
    ...(!isStatus && typeof parsed['kind'] === 'string' ? { object: { kind: parsed['kind'], finalizers: md?.finalizers ?? [], deleting: md?.deletionTimestamp !== undefined } } : {}),
  };
}

/** Sends one request; resolves with the code, the parsed JSON body (`{}` when not JSON) and the Content-Type. */
export function sendRaw(target: Target, method: string, path: string, body?: unknown, contentType = 'application/json', accept = 'application/json'): Promise<{ code: number; parsed: Record<string, unknown>; contentType: string }> {
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { accept, 'content-type': contentType };
  // As client-go: a sized body (the real server refuses chunked DELETE bodies with a bare 400).
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  if (target.token !== undefined) headers['authorization'] = `Bearer ${target.token}`;
  const url = new URL(path, target.url);
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let parsed: Record<string, unknown> = {};
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // not JSON: only the code is compared
        }
        resolve({ code: res.statusCode ?? 0, parsed, contentType: String(res.headers['content-type'] ?? '') });
      });
    };
    const req = url.protocol === 'https:' ? https.request(url, { method, headers, ca: target.caPem }, onResponse) : http.request(url, { method, headers }, onResponse);
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Opens a watch and resolves with its first event for which `pick` holds (the stream is then
 * closed), with `undefined` when the server ends the stream first, or rejects after `timeoutMs`.
 * `start` runs once the response headers arrived, so a change it makes is seen by the watch.
 */
export function firstWatchEvent(target: Target, path: string, accept: string, pick: (ev: { type: string; object: Record<string, unknown> }) => boolean, start: () => Promise<unknown>, timeoutMs = 15_000): Promise<{ type: string; object: Record<string, unknown>; contentType: string } | undefined> {
  const headers: Record<string, string> = { accept };
  if (target.token !== undefined) headers['authorization'] = `Bearer ${target.token}`;
  const url = new URL(path, target.url);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (req.destroy(), reject(new Error(`no matching watch event on ${target.url}${path} within ${timeoutMs} ms`))), timeoutMs);
    const onResponse = (res: IncomingMessage): void => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const ev = JSON.parse(buf.slice(0, nl)) as { type: string; object: Record<string, unknown> };
          buf = buf.slice(nl + 1);
          if (pick(ev)) {
            clearTimeout(timer);
            req.destroy();
            resolve({ ...ev, contentType: String(res.headers['content-type'] ?? '') });
            return;
          }
        }
      });
      res.on('end', () => (clearTimeout(timer), resolve(undefined)));
      start().catch((e: unknown) => (clearTimeout(timer), req.destroy(), reject(e)));
    };
    const req = url.protocol === 'https:' ? https.request(url, { headers, ca: target.caPem }, onResponse) : http.request(url, { headers }, onResponse);
    req.on('error', () => undefined);
    req.end();
  });
}
