/**
 * Request bodies and JSON responses of the API server: bodies are decoded from JSON, YAML or
 * the protobuf kubectl's `create` generators send; answers are JSON with `Warning` headers.
 */
import type http from 'node:http';
import YAML from 'yaml';
import { badRequest } from './errors.js';
import { decodeProtobuf } from './protobuf.js';
import type { Json } from './types.js';

export function send(res: http.ServerResponse, code: number, body: Json, warnings: readonly string[] = []): void {
  const data = JSON.stringify(body);
  const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) };
  if (warnings.length > 0) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(data);
}

/** The decoded request body; `null` when it is empty; 400 when it does not decode. */
export async function readBody(req: http.IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  const ct = String(req.headers['content-type'] ?? 'application/json');
  if (ct.startsWith('application/vnd.kubernetes.protobuf') && raw.length > 0) return decodeProtobuf(raw);
  const text = raw.toString('utf8');
  if (text.trim() === '') return null;
  try {
    if (ct.includes('yaml')) return YAML.parse(text) as Json;
    return JSON.parse(text) as Json;
  } catch (e: unknown) {
    throw badRequest(`the request body could not be decoded as ${ct.includes('yaml') ? 'YAML' : 'JSON'}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
