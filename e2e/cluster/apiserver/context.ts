/**
 * The state the request handlers of the API server share, and the lookups every handler needs.
 * `server.ts` builds one `ServerContext` per server and passes it to the handler modules
 * (`router.ts`, `reads.ts`, `writes.ts`, ...); each handler takes it as its first argument and
 * reads or writes only what the interface names, so nothing reaches into the server object.
 */
import type { Logger } from 'winston';
import { notFound } from './errors.js';
import { crdVersions, type CrdVersion } from './crd.js';
import { eventFromCore } from './conversion.js';
import type { PodExecProvider, PodLogProvider } from './options.js';
import type { ResourceRegistry } from './resources.js';
import type { ServiceAddressAllocator } from './services.js';
import type { ObjectStore } from './store.js';
import { apiVersionOf, type JsonObject, type KubeObject, type ResourceType } from './types.js';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

/** How one write is done: who writes, whether it is stored, and the warnings it answers with. */
export interface WriteOptions {
  readonly manager: string;
  readonly dryRun: boolean;
  readonly fieldValidation: FieldValidation;
  readonly sub?: string;
  /** Set by server-side apply: ownership already computed. */
  readonly managedFields?: JsonObject[];
  readonly warnings: string[];
}

/** What a resource URL names: the type, and the namespace, name and subresource when present. */
export interface Target {
  readonly t: ResourceType;
  readonly ns: string | undefined;
  readonly name: string | undefined;
  readonly sub: string | undefined;
}

/** OpenAPI v3 documents and their hashes by `group/version`; writes clear both when a CRD changes. */
export interface OpenApiCache {
  readonly docs: Map<string, JsonObject | undefined>;
  readonly hashes: Map<string, string>;
}

export interface ServerContext {
  readonly store: ObjectStore;
  /** Served types: built-in ones plus those of established CRDs (writes keep it in step with CRDs). */
  readonly registry: ResourceRegistry;
  readonly logger: Logger | undefined;
  /** Cluster IPs and node ports of Services. */
  readonly addresses: ServiceAddressAllocator;
  readonly openapi: OpenApiCache;
  /** Ends of the open streams (watches, logs); each removes itself when its stream ends, `close()` calls the rest. */
  readonly closers: Set<() => void>;
  /** Interval of watch bookmarks. */
  readonly bookmarkMs: number;
  /** Watches without `timeoutSeconds` end after this many seconds times a random factor in [1, 2). */
  readonly minRequestTimeoutSeconds: number;
  /** Runs garbage collection and namespace termination soon (after the current write). */
  scheduleGc(): void;
  /** Serves `pods/<name>/log`; set by `setPodLogProvider`. */
  logProvider: PodLogProvider | undefined;
  /** Serves `pods/<name>/exec`; set by `setPodExecProvider`. */
  execProvider: PodExecProvider | undefined;
}

/** The stored object a target names; 404 when it does not exist. */
export function mustGet(ctx: Pick<ServerContext, 'store'>, target: Target): KubeObject {
  const { t, ns, name } = target;
  if (t.scope === 'Namespaced' && ns === undefined) throw notFound(t.resource, t.group, String(name));
  const o = ctx.store.get(t.storageKey, ns, String(name));
  if (!o) throw notFound(t.resource, t.group, String(name));
  return o;
}

/** The type objects are stored and validated as (events.k8s.io Events are stored as core Events). */
export function storageType(ctx: Pick<ServerContext, 'registry'>, t: ResourceType): ResourceType {
  return t.group === 'events.k8s.io' ? ctx.registry.get('', 'v1', 'events')! : t;
}

/** A stored object as the requested type serves it (its apiVersion, events.k8s.io shape). */
export function present(t: ResourceType, o: KubeObject): KubeObject {
  if (t.group === 'events.k8s.io') return eventFromCore(o);
  const av = apiVersionOf(t);
  return o.apiVersion === av ? o : { ...o, apiVersion: av };
}

/** The CRD version a custom resource type is served from; undefined for built-in types. */
export function crdVersion(ctx: Pick<ServerContext, 'store'>, t: ResourceType): CrdVersion | undefined {
  if (!t.crdName) return undefined;
  const crd = ctx.store.get('apiextensions.k8s.io/customresourcedefinitions', undefined, t.crdName);
  return crd ? crdVersions(crd).find((v) => v.name === t.version) : undefined;
}

/** The OpenAPI schema of a custom resource type's served version; undefined for built-in types. */
export function crdSchema(ctx: Pick<ServerContext, 'store'>, t: ResourceType): JsonObject | undefined {
  if (!t.crdName) return undefined;
  const v = crdVersion(ctx, t);
  return v?.schema;
}
