/**
 * Reads of the API server: GET of one object, LIST with selectors and paging, and WATCH streams
 * with bookmarks, in the JSON, Table (`kubectl get`) and PartialObjectMetadata forms clients ask
 * for in `Accept`.
 *
 * Contracts: a watch registers its end in `ctx.closers` and removes it when the stream ends;
 * errors found before a watch stream starts are sent as one ERROR event with the Status.
 */
import type http from 'node:http';
import { crdVersion, mustGet, present, type ServerContext, type Target } from './context.js';
import { eventFieldToCore } from './conversion.js';
import type { CrdVersion } from './crd.js';
import { ApiError, badRequest } from './errors.js';
import { send } from './http-io.js';
import { eventLine, nameOf, nsOf, partialMetadata } from './objects.js';
import { scaleOf } from './scale.js';
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, type FieldRequirement, type LabelSelector } from './selectors.js';
import type { StoreEvent } from './store.js';
import { toTable } from './table.js';
import { apiVersionOf, type JsonObject, type KubeObject, type ResourceType } from './types.js';

/** `kubectl get` asks for Table output (`as=Table`). */
function acceptsTable(req: http.IncomingMessage): boolean {
  return /as=Table/.test(String(req.headers['accept'] ?? ''));
}

/** Metadata-only clients (`as=PartialObjectMetadata[List]`), such as metadata informers. */
function acceptsPartial(req: http.IncomingMessage): boolean {
  return /as=PartialObjectMetadata/.test(String(req.headers['accept'] ?? ''));
}

/** The printer columns of a custom resource type (none: the default columns); undefined for built-in types. */
function printerColumns(ctx: Pick<ServerContext, 'store'>, t: ResourceType): CrdVersion['printerColumns'] | undefined {
  if (!t.crdName) return undefined;
  return crdVersion(ctx, t)?.printerColumns ?? [];
}

/** GET of one object, or of its scale subresource; Table and PartialObjectMetadata answers on request. */
export function getObject(ctx: Pick<ServerContext, 'store'>, req: http.IncomingMessage, res: http.ServerResponse, target: Target): void {
  const { t } = target;
  const o = mustGet(ctx, target);
  if (target.sub === 'scale') return send(res, 200, scaleOf(t, o));
  if (acceptsTable(req) && target.sub === undefined) {
    return send(res, 200, toTable(t.kind, [o], { resourceVersion: String(o.metadata['resourceVersion']) }, printerColumns(ctx, t)));
  }
  if (acceptsPartial(req) && target.sub === undefined) return send(res, 200, partialMetadata(o));
  send(res, 200, present(t, o));
}

/** The label and field selectors of a list, watch or collection delete (events.k8s.io field names mapped to core Event ones). */
export function requestSelectors(t: ResourceType, q: URLSearchParams): { labels: LabelSelector; fields: FieldRequirement[] } {
  const fields = parseFieldSelector(q.get('fieldSelector') ?? '', t.fieldLabels);
  return {
    labels: parseLabelSelector(q.get('labelSelector') ?? ''),
    fields: t.group === 'events.k8s.io' ? fields.map((r) => ({ ...r, field: eventFieldToCore(r.field) })) : fields,
  };
}

/** Whether an object passes the selectors of `requestSelectors`. */
export function matchesSelectors(o: KubeObject, sel: { labels: LabelSelector; fields: FieldRequirement[] }): boolean {
  return matchLabels(sel.labels, o.metadata['labels']) && matchFields(sel.fields, o);
}

/** LIST with selectors, paging (`limit`/`continue`, consistent at the first page's resourceVersion) and `resourceVersion`/`resourceVersionMatch` semantics. */
export function listObjects(ctx: Pick<ServerContext, 'store'>, req: http.IncomingMessage, res: http.ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams): void {
  const sel = requestSelectors(t, q);
  const limit = Number(q.get('limit') ?? 0);
  const cont = q.get('continue');
  const rvParam = q.get('resourceVersion');
  const rvMatch = q.get('resourceVersionMatch');
  let atRv = ctx.store.resourceVersion;
  let startAfter: string | undefined;
  if (cont) {
    let token: { rv: number; start: string };
    try {
      token = JSON.parse(Buffer.from(cont, 'base64url').toString('utf8')) as { rv: number; start: string };
    } catch {
      throw badRequest(`continue key is not valid: ${cont}`);
    }
    atRv = token.rv;
    startAfter = token.start;
    if (atRv < ctx.store.oldestResourceVersion) {
      throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
    }
  } else if (rvParam && rvParam !== '0') {
    const rv = Number(rvParam);
    if (!Number.isInteger(rv)) throw badRequest(`Invalid value: "${rvParam}": resourceVersion must be an integer`);
    if (rvMatch === 'Exact') atRv = rv;
    else if (rv > ctx.store.resourceVersion) {
      throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${ctx.store.resourceVersion}`, { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 });
    }
  } else if (rvMatch && rvMatch !== 'NotOlderThan') {
    throw badRequest(`resourceVersionMatch "${rvMatch}" requires a resourceVersion`);
  }
  const all = atRv === ctx.store.resourceVersion ? ctx.store.list(t.storageKey, ns) : ctx.store.listAt(t.storageKey, ns, atRv);
  let items = all.filter((o) => matchesSelectors(o, sel));
  if (startAfter !== undefined) items = items.filter((o) => `${nsOf(o) ?? ''}/${nameOf(o)}` > startAfter!);
  const listMeta: JsonObject = { resourceVersion: String(atRv) };
  if (limit > 0 && items.length > limit) {
    const last = items[limit - 1]!;
    listMeta['continue'] = Buffer.from(JSON.stringify({ rv: atRv, start: `${nsOf(last) ?? ''}/${nameOf(last)}` })).toString('base64url');
    listMeta['remainingItemCount'] = items.length - limit;
    items = items.slice(0, limit);
  }
  if (acceptsTable(req)) return send(res, 200, toTable(t.kind, items, listMeta, printerColumns(ctx, t), q.get('includeObject') ?? 'Metadata'));
  if (acceptsPartial(req)) return send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: items.map(partialMetadata) });
  send(res, 200, { kind: t.listKind, apiVersion: apiVersionOf(t), metadata: listMeta, items: items.map((o) => present(t, o)) });
}

/**
 * WATCH: initial ADDED events (or the events since `resourceVersion`, 410 when that left the history),
 * then live events filtered by selectors (objects moving in or out of the selection are ADDED/DELETED),
 * bookmarks when allowed, and an end after `timeoutSeconds` or the server's minimum request timeout.
 */
export function watchObjects(ctx: Pick<ServerContext, 'store' | 'closers' | 'bookmarkMs' | 'minRequestTimeoutSeconds'>, req: http.IncomingMessage, res: http.ServerResponse, t: ResourceType, ns: string | undefined, q: URLSearchParams): void {
  const sel = requestSelectors(t, q);
  const rvParam = q.get('resourceVersion') ?? '';
  const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';
  const sendInitial = q.get('sendInitialEvents') === 'true';
  const requested = Number(q.get('timeoutSeconds') ?? 0);
  const timeout = requested > 0 ? requested : ctx.minRequestTimeoutSeconds * (1 + Math.random());
  const table = acceptsTable(req);
  const partial = !table && acceptsPartial(req);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
  res.flushHeaders();
  const write = (type: string, object: JsonObject): void => {
    if (res.writableEnded) return;
    if (table && type !== 'BOOKMARK' && type !== 'ERROR') {
      const tbl = toTable(t.kind, [object as KubeObject], { resourceVersion: String((object as KubeObject).metadata['resourceVersion']) }, printerColumns(ctx, t));
      res.write(`${JSON.stringify({ type, object: tbl })}\n`);
      return;
    }
    // Bookmarks are transformed too (kind PartialObjectMetadata); an ERROR's Status is not.
    if (partial && type !== 'ERROR') {
      res.write(`${JSON.stringify({ type, object: partialMetadata(object as KubeObject) })}\n`);
      return;
    }
    res.write(eventLine(type, object));
  };
  const inScope = (o: KubeObject): boolean => ns === undefined || nsOf(o) === ns;
  const deliver = (e: StoreEvent): void => {
    if (e.storageKey !== t.storageKey || !inScope(e.obj)) return;
    const nowMatch = matchesSelectors(e.obj, sel);
    const prevMatch = e.prev ? matchesSelectors(e.prev, sel) : false;
    if (e.type === 'ADDED') {
      if (nowMatch) write('ADDED', present(t, e.obj));
    } else if (e.type === 'MODIFIED') {
      if (nowMatch && prevMatch) write('MODIFIED', present(t, e.obj));
      else if (nowMatch) write('ADDED', present(t, e.obj));
      else if (prevMatch) write('DELETED', present(t, e.obj));
    } else if (nowMatch || prevMatch) {
      write('DELETED', present(t, e.obj));
    }
  };
  const bookmark = (extra: JsonObject = {}): void => {
    write('BOOKMARK', { kind: t.kind, apiVersion: apiVersionOf(t), metadata: { resourceVersion: String(ctx.store.resourceVersion), ...extra } });
  };
  let unsubscribe: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const finish = (): void => {
    unsubscribe?.();
    if (timer) clearTimeout(timer);
    if (ticker) clearInterval(ticker);
    ctx.closers.delete(finish);
    if (!res.writableEnded) res.end();
  };
  ctx.closers.add(finish);
  req.on('close', finish);
  res.on('close', finish);
  try {
    if (rvParam === '' || rvParam === '0' || sendInitial) {
      for (const o of ctx.store.list(t.storageKey, ns)) if (matchesSelectors(o, sel)) write('ADDED', present(t, o));
      if (sendInitial && bookmarks) bookmark({ annotations: { 'k8s.io/initial-events-end': 'true' } });
    } else {
      const rv = Number(rvParam);
      if (!Number.isInteger(rv)) throw badRequest(`Invalid value: "${rvParam}": resourceVersion must be an integer`);
      for (const e of ctx.store.eventsSince(t.storageKey, rv)) deliver(e);
    }
  } catch (e: unknown) {
    const err = e instanceof ApiError ? e : new ApiError(500, 'InternalError', String(e));
    write('ERROR', err.toStatus());
    finish();
    return;
  }
  unsubscribe = ctx.store.subscribe(deliver);
  timer = setTimeout(finish, timeout * 1000);
  if (bookmarks) {
    ticker = setInterval(() => bookmark(), ctx.bookmarkMs);
    // As the real watch cache: a bookmark 2 s before the watch's deadline, when that comes first.
    if (timeout * 1000 - 2000 < ctx.bookmarkMs) {
      const early = setTimeout(() => bookmark(), Math.max(0, timeout * 1000 - 2000));
      res.on('close', () => clearTimeout(early));
    }
  }
}
