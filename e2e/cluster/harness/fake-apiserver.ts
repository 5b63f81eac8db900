/**
 * A deliberately small in-memory Kubernetes API server for unit tests of the kubelet and the
 * controllers, so those tests depend only on the REST contract and not on the full API server in
 * `../apiserver`. Supports: list (equality label selectors, `metadata.name`/`spec.nodeName` field
 * selectors), get, create (generateName, uid, generation), update with optimistic concurrency,
 * JSON merge patch, `status` subresource, delete (pods with a grace period get
 * `deletionTimestamp` first, like the real server), and watch with resume and 410 Gone.
 * Not for journeys that use kubectl: those run against the real in-process API server.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { KubeObject } from './k8s-types.js';

interface StoredEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: string;
  obj: KubeObject;
}

interface Parsed {
  resource: string;
  namespace?: string;
  name?: string;
  sub?: string;
}

export interface FakeApiServer {
  readonly url: string;
  /** Objects by `resource/namespace/name`. */
  readonly objects: Map<string, KubeObject>;
  /** Drops the event history: every resume before the next list gets 410 Gone. */
  compact(): void;
  /** Ends every open watch stream (simulates an API server restart or a proxy timeout). */
  dropWatches(): void;
  close(): Promise<void>;
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  const objects = new Map<string, KubeObject>();
  let history: StoredEvent[] = [];
  let rv = 1;
  let expired = false;
  const watchers = new Set<{ resource: string; ns?: string; filter: (o: KubeObject) => boolean; res: http.ServerResponse }>();

  const keyFor = (resource: string, ns: string | undefined, name: string): string => `${resource}/${ns ?? ''}/${name}`;

  function emit(type: StoredEvent['type'], resource: string, obj: KubeObject): void {
    history.push({ rv, type, resource, obj });
    if (history.length > 2000) history = history.slice(-1000);
    for (const w of watchers) {
      if (w.resource !== resource) continue;
      if (w.ns && obj.metadata.namespace !== w.ns) continue;
      if (!w.filter(obj)) continue;
      w.res.write(JSON.stringify({ type, object: obj }) + '\n');
    }
  }

  function save(resource: string, obj: KubeObject, type: StoredEvent['type']): KubeObject {
    rv++;
    obj.metadata.resourceVersion = String(rv);
    if (type === 'DELETED') objects.delete(keyFor(resource, obj.metadata.namespace, obj.metadata.name!));
    else objects.set(keyFor(resource, obj.metadata.namespace, obj.metadata.name!), obj);
    emit(type, resource, structuredClone(obj));
    return obj;
  }

  function parse(pathname: string): Parsed | undefined {
    const parts = pathname.split('/').filter(Boolean);
    let i = parts[0] === 'api' ? 2 : parts[0] === 'apis' ? 3 : -1;
    if (i < 0) return undefined;
    let namespace: string | undefined;
    if (parts[i] === 'namespaces' && parts.length > i + 2) {
      namespace = decodeURIComponent(parts[i + 1]!);
      i += 2;
    }
    const resource = parts[i];
    if (!resource) return undefined;
    return { resource, namespace, name: parts[i + 1] ? decodeURIComponent(parts[i + 1]!) : undefined, sub: parts[i + 2] };
  }

  function selectorFilter(q: URLSearchParams): (o: KubeObject) => boolean {
    const labels = (q.get('labelSelector') ?? '').split(',').filter(Boolean).map((s) => s.split('='));
    const fields = (q.get('fieldSelector') ?? '').split(',').filter(Boolean).map((s) => s.split('='));
    return (o) => {
      for (const [k, v] of labels) if (o.metadata.labels?.[k!] !== v) return false;
      for (const [k, v] of fields) {
        const actual = k === 'metadata.name' ? o.metadata.name : k === 'metadata.namespace' ? o.metadata.namespace : k === 'spec.nodeName' ? ((o as { spec?: { nodeName?: string } }).spec?.nodeName ?? '') : undefined;
        if (actual !== v) return false;
      }
      return true;
    };
  }

  function send(res: http.ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
  function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
    send(res, code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message });
  }

  function mergePatch(target: unknown, patch: unknown): unknown {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
    const out: Record<string, unknown> = target && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
    for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
      if (v === null) delete out[k];
      else out[k] = mergePatch(out[k], v);
    }
    return out;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, res, chunks.length ? (JSON.parse(Buffer.concat(chunks).toString()) as unknown) : undefined);
      } catch (e) {
        status(res, 500, 'InternalError', String(e));
      }
    });
  });

  function handle(req: http.IncomingMessage, res: http.ServerResponse, body: unknown): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = parse(url.pathname);
    if (!p) return status(res, 404, 'NotFound', `no route ${url.pathname}`);
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    if (method === 'GET' && !p.name) {
      const filter = selectorFilter(q);
      if (q.get('watch') === '1' || q.get('watch') === 'true') {
        const from = Number(q.get('resourceVersion') || rv);
        if (expired) return status(res, 410, 'Expired', `too old resource version: ${from} (${rv})`);
        res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
        for (const ev of history) {
          if (ev.rv <= from || ev.resource !== p.resource) continue;
          if (p.namespace && ev.obj.metadata.namespace !== p.namespace) continue;
          if (filter(ev.obj)) res.write(JSON.stringify({ type: ev.type, object: ev.obj }) + '\n');
        }
        const w = { resource: p.resource, ns: p.namespace, filter, res };
        watchers.add(w);
        res.on('close', () => watchers.delete(w));
        return undefined;
      }
      const items = [...objects.entries()]
        .filter(([k, o]) => k.startsWith(`${p.resource}/`) && (!p.namespace || o.metadata.namespace === p.namespace) && filter(o))
        .map(([, o]) => o);
      expired = false;
      return send(res, 200, { kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items });
    }
    if (method === 'POST' && !p.name) {
      const obj = body as KubeObject;
      const meta = obj.metadata ?? {};
      obj.metadata = meta;
      if (!meta.name && meta.generateName) meta.name = meta.generateName + randomUUID().slice(0, 5);
      if (!meta.name) return status(res, 422, 'Invalid', 'metadata.name: Required value');
      if (p.namespace) meta.namespace = p.namespace;
      if (p.resource !== 'events' && objects.has(keyFor(p.resource, meta.namespace, meta.name))) return status(res, 409, 'AlreadyExists', `${p.resource} "${meta.name}" already exists`);
      meta.uid = randomUUID();
      meta.creationTimestamp = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      meta.generation = 1;
      return send(res, 201, save(p.resource, obj, 'ADDED'));
    }
    if (!p.name) return status(res, 405, 'MethodNotAllowed', method);
    const key = keyFor(p.resource, p.namespace, p.name);
    const cur = objects.get(key);
    if (!cur) return status(res, 404, 'NotFound', `${p.resource} "${p.name}" not found`);
    if (method === 'GET') return send(res, 200, cur);
    if (method === 'PUT' || method === 'PATCH') {
      let next: KubeObject;
      if (method === 'PUT') {
        next = body as KubeObject;
        if (next.metadata.resourceVersion && next.metadata.resourceVersion !== cur.metadata.resourceVersion) {
          return status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${p.resource} "${p.name}": the object has been modified; please apply your changes to the latest version and try again`);
        }
      } else next = mergePatch(structuredClone(cur), body) as KubeObject;
      const c = cur as unknown as Record<string, unknown>;
      const n = next as unknown as Record<string, unknown>;
      if (p.sub === 'status') {
        next = { ...structuredClone(cur), status: n.status } as KubeObject;
      } else {
        n.status = c.status;
        if (JSON.stringify(n.spec) !== JSON.stringify(c.spec)) next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
        else next.metadata.generation = cur.metadata.generation;
      }
      next.metadata.uid = cur.metadata.uid;
      next.metadata.creationTimestamp = cur.metadata.creationTimestamp;
      if (cur.metadata.deletionTimestamp) next.metadata.deletionTimestamp = cur.metadata.deletionTimestamp;
      return send(res, 200, save(p.resource, next, 'MODIFIED'));
    }
    if (method === 'DELETE') {
      const opts = (body ?? {}) as { gracePeriodSeconds?: number };
      const grace = opts.gracePeriodSeconds ?? Number(q.get('gracePeriodSeconds') ?? NaN);
      const podGrace = Number.isNaN(grace) ? ((cur as { spec?: { terminationGracePeriodSeconds?: number } }).spec?.terminationGracePeriodSeconds ?? 30) : grace;
      const scheduled = Boolean((cur as { spec?: { nodeName?: string } }).spec?.nodeName);
      if (p.resource === 'pods' && podGrace > 0 && scheduled) {
        if (!cur.metadata.deletionTimestamp) {
          const next = structuredClone(cur);
          next.metadata.deletionTimestamp = new Date().toISOString();
          next.metadata.deletionGracePeriodSeconds = podGrace;
          return send(res, 200, save(p.resource, next, 'MODIFIED'));
        }
        return send(res, 200, cur);
      }
      return send(res, 200, save(p.resource, structuredClone(cur), 'DELETED'));
    }
    return status(res, 405, 'MethodNotAllowed', method);
  }

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    objects,
    compact() {
      expired = true;
      history = [];
    },
    dropWatches() {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    async close() {
      for (const w of watchers) w.res.end();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
