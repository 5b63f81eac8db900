/**
 * In-memory `KubeApi` for unit tests. Models what the reconciler relies on: resourceVersion
 * bumps only on real changes (so a no-op apply is visible as no write), `metadata.generation`
 * bumps on spec changes, the status subresource, compare-and-swap `replace` (409), finalizers
 * with `deletionTimestamp`, owner-reference garbage collection, watches and injected failures.
 * Every mutating call is recorded in `writes`.
 *
 * Server-side apply keeps the applier's field set in `metadata.managedFields` (`Apply` entry,
 * FieldsV1) and removes the fields the applier owned before and no longer applies, as the API
 * server does. Simplifications: every list is atomic (replaced whole, owned as one field), and
 * non-apply writes (`mergePatch`, `replace`) do not take ownership of the fields they change.
 */
import { KubeError, isNamespaced, pathOf, type DeleteOptions, type KubeApi, type KubeObject, type ObjectRef, type ReadOptions } from './kube-api.js';

type Verb = 'apply' | 'mergePatch' | 'create' | 'replace' | 'delete' | 'get' | 'list';

export interface FakeWrite {
  readonly verb: Verb;
  readonly kind: string;
  readonly name: string;
  readonly subresource?: string;
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objects merge key by key, anything else is replaced (an approximation of apply for tests). */
function applyMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(target) || !isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) out[k] = applyMerge(target[k], v);
  return out;
}

const UNOWNED_META = new Set(['name', 'namespace', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'deletionTimestamp']);

/** Owned leaf paths of an applied configuration: maps are walked, lists and scalars are leaves. */
function ownedPaths(obj: KubeObject): string[][] {
  const out: string[][] = [];
  const walk = (v: unknown, path: string[]): void => {
    if (isObject(v) && Object.keys(v).length > 0) {
      for (const [k, x] of Object.entries(v)) if (x !== undefined) walk(x, [...path, k]);
    } else out.push(path);
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || k === 'status' || v === undefined) continue;
    if (k === 'metadata' && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (!UNOWNED_META.has(mk) && mv !== undefined) walk(mv, ['metadata', mk]);
    } else walk(v, [k]);
  }
  return out;
}

function toFieldsV1(paths: readonly string[][]): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let node = root;
    for (const seg of p) node = (node[`f:${seg}`] ??= {}) as Record<string, unknown>;
  }
  return root;
}

function fromFieldsV1(fields: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  const children = isObject(fields) ? Object.keys(fields).filter((k) => k.startsWith('f:')) : [];
  if (children.length === 0) {
    if (prefix.length > 0) out.push(prefix);
    return out;
  }
  for (const c of children) fromFieldsV1((fields as Record<string, unknown>)[c], [...prefix, c.slice(2)], out);
  return out;
}

/** Deletes the field at `path`, then the maps on the way that it left empty. */
function removePath(obj: Record<string, unknown>, path: readonly string[]): void {
  const parents: Array<Record<string, unknown>> = [];
  let node: unknown = obj;
  for (const seg of path.slice(0, -1)) {
    if (!isObject(node)) return;
    parents.push(node);
    node = node[seg];
  }
  if (!isObject(node)) return;
  delete node[path[path.length - 1]!];
  for (let i = parents.length - 1; i >= 0; i--) {
    const child = parents[i]![path[i]!];
    if (isObject(child) && Object.keys(child).length === 0) delete parents[i]![path[i]!];
    else break;
  }
}

const FAKE_MANAGER = 'alloy-operator';

function withManagedFields(obj: KubeObject, paths: readonly string[][]): KubeObject {
  const others = (obj.metadata['managedFields'] as Array<{ manager?: string; operation?: string }> | undefined ?? []).filter((m) => !(m.manager === FAKE_MANAGER && m.operation === 'Apply'));
  obj.metadata['managedFields'] = [...others, { manager: FAKE_MANAGER, operation: 'Apply', apiVersion: obj.apiVersion, time: new Date(0).toISOString(), fieldsType: 'FieldsV1', fieldsV1: toFieldsV1(paths) }];
  return obj;
}

/** RFC 7386 JSON merge patch. */
function mergePatchValue(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatchValue(out[k], v);
  }
  return out;
}

function matchesSelector(labels: Record<string, string> | undefined, selector: string | undefined): boolean {
  if (selector === undefined || selector === '') return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=') as [string, string | undefined];
    return v === undefined ? labels?.[k] !== undefined : labels?.[k] === v;
  });
}

/** What the API server sends a metadata-only reader (`PartialObjectMetadata`): the whole metadata and nothing else. */
function partialMetadata(o: KubeObject): KubeObject {
  return { apiVersion: 'meta.k8s.io/v1', kind: 'PartialObjectMetadata', metadata: clone(o).metadata };
}

export class FakeKubeApi implements KubeApi {
  readonly #objects = new Map<string, KubeObject>();
  readonly #watchers = new Set<{ path: string; labelSelector?: string; metadataOnly: boolean; onEvent: (type: string, obj: KubeObject) => void }>();
  readonly #failures: Array<{ verb: Verb; kind: string; error: Error }> = [];
  #rv = 0;
  #uid = 0;
  readonly writes: FakeWrite[] = [];

  static key(ref: ObjectRef): string {
    return `${ref.apiVersion}|${ref.kind}|${isNamespaced(ref.kind) ? (ref.namespace ?? '') : ''}|${ref.name}`;
  }

  /** Makes the next call of `verb` on `kind` fail with `error`. */
  failNext(verb: Verb, kind: string, error: Error): void {
    this.#failures.push({ verb, kind, error });
  }

  /** Stores an object as-is (test setup); assigns uid/resourceVersion/generation when missing. */
  seed<T extends KubeObject>(obj: T): T {
    const stored = clone(obj);
    stored.metadata.uid ??= `uid-${++this.#uid}`;
    stored.metadata.resourceVersion = String(++this.#rv);
    stored.metadata.generation ??= 1;
    if (!isNamespaced(stored.kind)) delete stored.metadata.namespace;
    this.#objects.set(FakeKubeApi.key(this.#ref(stored)), stored);
    this.#notify('ADDED', stored);
    return clone(stored);
  }

  /** Synchronous read for assertions. */
  peek<T extends KubeObject = KubeObject>(ref: ObjectRef): T | undefined {
    const o = this.#objects.get(FakeKubeApi.key(ref));
    return o === undefined ? undefined : (clone(o) as T);
  }

  all(): KubeObject[] {
    return [...this.#objects.values()].map(clone);
  }

  writesOf(verb?: Verb): FakeWrite[] {
    return this.writes.filter((w) => verb === undefined || w.verb === verb);
  }

  #ref(obj: KubeObject): ObjectRef {
    return { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name ?? '', ...(obj.metadata.namespace !== undefined ? { namespace: obj.metadata.namespace } : {}) };
  }

  #injected(verb: Verb, kind: string): void {
    const i = this.#failures.findIndex((f) => f.verb === verb && f.kind === kind);
    if (i >= 0) {
      const [f] = this.#failures.splice(i, 1);
      throw f!.error;
    }
  }

  #notify(type: string, obj: KubeObject): void {
    const paths = new Set([pathOf(obj.apiVersion, obj.kind), pathOf(obj.apiVersion, obj.kind, obj.metadata.namespace)]);
    for (const w of this.#watchers) if (paths.has(w.path) && matchesSelector(obj.metadata.labels, w.labelSelector)) w.onEvent(type, w.metadataOnly ? partialMetadata(obj) : clone(obj));
  }

  #store(before: KubeObject | undefined, after: KubeObject): KubeObject {
    if (before !== undefined && JSON.stringify(before) === JSON.stringify(after)) return clone(before);
    after.metadata.resourceVersion = String(++this.#rv);
    if (before !== undefined && JSON.stringify(before['spec']) !== JSON.stringify(after['spec'])) {
      after.metadata.generation = (before.metadata.generation ?? 1) + 1;
    }
    this.#objects.set(FakeKubeApi.key(this.#ref(after)), after);
    this.#notify(before === undefined ? 'ADDED' : 'MODIFIED', after);
    if (after.metadata.deletionTimestamp !== undefined && (after.metadata.finalizers ?? []).length === 0) this.#remove(after);
    return clone(after);
  }

  #remove(obj: KubeObject, orphan = false): void {
    this.#objects.delete(FakeKubeApi.key(this.#ref(obj)));
    this.#notify('DELETED', obj);
    // Garbage collection of dependents, or orphaning (owner references dropped).
    for (const dep of [...this.#objects.values()]) {
      const refs = dep.metadata.ownerReferences ?? [];
      if (!refs.some((r) => r.uid === obj.metadata.uid)) continue;
      if (orphan) dep.metadata.ownerReferences = refs.filter((r) => r.uid !== obj.metadata.uid);
      else this.#remove(dep);
    }
  }

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    this.#injected('get', ref.kind);
    return this.peek<T>(ref);
  }

  async list<T extends KubeObject>(apiVersion: string, kind: string, namespace?: string, labelSelector?: string, opts: ReadOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    this.#injected('list', kind);
    const items = [...this.#objects.values()].filter(
      (o) =>
        o.apiVersion === apiVersion &&
        o.kind === kind &&
        (namespace === undefined || o.metadata.namespace === namespace) &&
        matchesSelector(o.metadata.labels, labelSelector),
    );
    return { items: items.map((o) => (opts.metadataOnly === true ? partialMetadata(o) : clone(o)) as T), resourceVersion: String(this.#rv) };
  }

  async apply<T extends KubeObject>(obj: KubeObject, subresource?: 'status', opts: ReadOptions = {}): Promise<T> {
    const answer = await this.#apply(obj, subresource);
    // As the API server does: PartialObjectMetadata, which carries apiVersion meta.k8s.io/v1 and kind PartialObjectMetadata.
    return (opts.metadataOnly === true ? { ...partialMetadata(answer), apiVersion: obj.apiVersion, kind: obj.kind } : answer) as T;
  }

  async #apply(obj: KubeObject, subresource?: 'status'): Promise<KubeObject> {
    this.#injected('apply', obj.kind);
    this.writes.push({ verb: 'apply', kind: obj.kind, name: obj.metadata.name ?? '', ...(subresource !== undefined ? { subresource } : {}) });
    const ref = this.#ref(obj);
    const live = this.#objects.get(FakeKubeApi.key(ref));
    if (subresource === 'status') {
      if (live === undefined) throw new KubeError(404, 'NotFound', `${obj.kind} ${ref.name} not found`);
      return this.#store(live, { ...clone(live), status: applyMerge(live['status'], obj['status']) });
    }
    if (live === undefined) {
      const created = clone(obj);
      delete created['status'];
      created.metadata = { ...created.metadata, uid: `uid-${++this.#uid}`, generation: 1, creationTimestamp: new Date(0).toISOString() };
      if (!isNamespaced(obj.kind)) delete created.metadata.namespace;
      return this.#store(undefined, withManagedFields(created, ownedPaths(obj)));
    }
    const { status: _ignored, ...body } = obj;
    void _ignored;
    const entry = ((live.metadata['managedFields'] as Array<{ manager?: string; operation?: string; fieldsV1?: unknown }> | undefined) ?? []).find((m) => m.manager === FAKE_MANAGER && m.operation === 'Apply');
    const applied = ownedPaths(obj);
    const keep = new Set(applied.map((p) => p.join('\0')));
    const base = clone(live);
    // Fields this manager applied before and applies no more are removed.
    for (const p of fromFieldsV1(entry?.fieldsV1)) if (!keep.has(p.join('\0'))) removePath(base, p);
    const merged = withManagedFields(applyMerge(base, body) as KubeObject, applied);
    return this.#store(live, merged);
  }

  async mergePatch<T extends KubeObject>(ref: ObjectRef, patch: unknown, subresource?: 'status'): Promise<T> {
    this.#injected('mergePatch', ref.kind);
    this.writes.push({ verb: 'mergePatch', kind: ref.kind, name: ref.name, ...(subresource !== undefined ? { subresource } : {}) });
    const live = this.#objects.get(FakeKubeApi.key(ref));
    if (live === undefined) throw new KubeError(404, 'NotFound', `${ref.kind} ${ref.name} not found`);
    const wantedRv = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (wantedRv !== undefined && wantedRv !== live.metadata.resourceVersion) {
      throw new KubeError(409, 'Conflict', `${ref.kind} ${ref.name}: the object has been modified`);
    }
    return this.#store(live, mergePatchValue(clone(live), patch) as KubeObject) as T;
  }

  async create<T extends KubeObject>(obj: KubeObject): Promise<T> {
    this.#injected('create', obj.kind);
    const created = clone(obj);
    if (created.metadata.name === undefined && created.metadata.generateName !== undefined) {
      created.metadata.name = `${created.metadata.generateName}${(++this.#uid).toString(36)}`;
    }
    this.writes.push({ verb: 'create', kind: obj.kind, name: created.metadata.name ?? '' });
    if (this.#objects.has(FakeKubeApi.key(this.#ref(created)))) {
      throw new KubeError(409, 'AlreadyExists', `${obj.kind} ${created.metadata.name} already exists`);
    }
    created.metadata.uid = `uid-${++this.#uid}`;
    created.metadata.generation = 1;
    return this.#store(undefined, created) as T;
  }

  async replace<T extends KubeObject>(obj: KubeObject): Promise<T> {
    this.#injected('replace', obj.kind);
    this.writes.push({ verb: 'replace', kind: obj.kind, name: obj.metadata.name ?? '' });
    const live = this.#objects.get(FakeKubeApi.key(this.#ref(obj)));
    if (live === undefined) throw new KubeError(404, 'NotFound', `${obj.kind} ${obj.metadata.name} not found`);
    if (obj.metadata.resourceVersion !== live.metadata.resourceVersion) {
      throw new KubeError(409, 'Conflict', `${obj.kind} ${obj.metadata.name}: the object has been modified; please apply your changes to the latest version`);
    }
    return this.#store(live, { ...clone(obj), metadata: { ...clone(obj.metadata), uid: live.metadata.uid } }) as T;
  }

  async delete(ref: ObjectRef, opts: DeleteOptions = {}): Promise<void> {
    this.#injected('delete', ref.kind);
    this.writes.push({ verb: 'delete', kind: ref.kind, name: ref.name });
    const live = this.#objects.get(FakeKubeApi.key(ref));
    if (live === undefined) return;
    if (opts.uid !== undefined && live.metadata.uid !== opts.uid) {
      throw new KubeError(409, 'Conflict', `Operation cannot be fulfilled on ${ref.kind} "${ref.name}": Precondition failed: UID in precondition: ${opts.uid}, UID in object meta: ${live.metadata.uid ?? ''}`);
    }
    if ((live.metadata.finalizers ?? []).length > 0) {
      if (live.metadata.deletionTimestamp === undefined) {
        this.#store(live, { ...clone(live), metadata: { ...clone(live.metadata), deletionTimestamp: new Date(0).toISOString() } });
      }
      return;
    }
    this.#remove(live, opts.propagationPolicy === 'Orphan');
  }

  /** Events of objects under `path` matching `query.labelSelector` (equality terms), as the API server filters them. */
  async watch(path: string, query: Record<string, string | number | boolean | undefined>, onEvent: (type: string, obj: KubeObject) => void, done: (err: unknown) => void, opts: ReadOptions = {}): Promise<AbortController> {
    const controller = new AbortController();
    const selector = query['labelSelector'];
    const w = { path, onEvent, metadataOnly: opts.metadataOnly === true, ...(typeof selector === 'string' ? { labelSelector: selector } : {}) };
    this.#watchers.add(w);
    controller.signal.addEventListener('abort', () => this.#watchers.delete(w), { once: true });
    this.#closeWatches.push(() => {
      this.#watchers.delete(w);
      done(null);
    });
    return controller;
  }

  readonly #closeWatches: Array<() => void> = [];

  /** Ends every open watch from the server side (`done(null)`), as a server timeout does. */
  closeWatches(): void {
    for (const close of this.#closeWatches.splice(0)) close();
  }
}
