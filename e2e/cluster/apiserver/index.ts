/**
 * Public entry of the in-process Kubernetes API server used by tests and the dev cluster.
 * Everything outside this folder imports from here only.
 *
 * Contracts:
 * - `startApiServer` resolves once the server listens (plain HTTP on loopback); `url` has no
 *   trailing slash. `close()` ends open watches and log streams, stops background loops and
 *   flushes `dataDir` state.
 * - The server behaves like kube-apiserver for the resources in `resources.ts` plus any CRD:
 *   clients (kubectl, @kubernetes/client-node, the kubelet and controllers) talk to it over HTTP.
 * - Pods bound to a node (`spec.nodeName` set) are deleted gracefully like the real server: a
 *   delete sets `deletionTimestamp`/`deletionGracePeriodSeconds`, and the kubelet finishes it
 *   with a delete using `gracePeriodSeconds=0`. Unbound pods are removed at once.
 * - `setPodLogProvider` serves `GET .../pods/<name>/log`; returning `undefined` answers 400
 *   like a container that has not started. `setPodExecProvider` serves `kubectl exec` the same way.
 */
import type { Logger } from 'winston';
import { ApiServer } from './server.js';
import type { ObjectStore } from './store.js';

export interface PodLogOptions {
  readonly follow: boolean;
  readonly tailLines?: number;
  readonly previous: boolean;
  readonly timestamps: boolean;
  readonly sinceSeconds?: number;
  /** RFC3339 time; entries stamped before it are skipped (second precision, as a kubelet). */
  readonly sinceTime?: string;
  readonly limitBytes?: number;
}

export type PodLogProvider = (
  namespace: string,
  pod: string,
  container: string,
  opts: PodLogOptions,
) => NodeJS.ReadableStream | undefined;

export interface PodExecIO {
  /** Present when the client attached stdin (`kubectl exec -i`); ends when the client closes it. */
  readonly stdin?: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly tty: boolean;
}

/**
 * Runs `command` in a container and resolves with its exit code; `undefined` when the container
 * is not running (answered 400 like the real server).
 */
export type PodExecProvider = (namespace: string, pod: string, container: string, command: readonly string[], io: PodExecIO) => Promise<number> | undefined;

export interface StartApiServerOptions {
  /** Listen address; loopback only. @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** Persist state as JSON here so a restart keeps objects. @default in memory only */
  readonly dataDir?: string;
  readonly logger?: Logger;
  /** Interval of watch BOOKMARK events when a client allows them. @default 10000 */
  readonly bookmarkIntervalMs?: number;
  /** Watch history kept for resume; older resourceVersions get 410 Gone. @default 10000 */
  readonly historySize?: number;
  /**
   * Watches without `timeoutSeconds` end after a random time between this and twice this, like
   * kube-apiserver's `--min-request-timeout`, so clients exercise their re-watch path. @default 1800
   */
  readonly minRequestTimeoutSeconds?: number;
  /** Service cluster IP range (IPv4 CIDR between /8 and /24). @default '10.96.0.0/16' */
  readonly serviceCidr?: string;
}

export interface RunningApiServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Writes a kubeconfig for this server (context `local`, namespace `default`) and returns its path. */
  kubeconfig(path: string): string;
  close(): Promise<void>;
  setPodLogProvider(fn: PodLogProvider | undefined): void;
  /** Serves `kubectl exec` (WebSocket channel protocol v4/v5); without one, exec answers 404 saying why. */
  setPodExecProvider(fn: PodExecProvider | undefined): void;
  /** Direct access to stored objects for in-process inspection (read-only by contract). */
  readonly store: ObjectStore;
  /** Watch streams open right now; tests poll it to know a client is watching before they change state. */
  openWatches(): Promise<number>;
}

export async function startApiServer(opts: StartApiServerOptions = {}): Promise<RunningApiServer> {
  const server = new ApiServer(opts);
  await server.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
  return {
    url: server.url,
    kubeconfig: (p: string) => server.writeKubeconfig(p),
    close: () => server.close(),
    setPodLogProvider: (fn) => server.setPodLogProvider(fn),
    setPodExecProvider: (fn) => server.setPodExecProvider(fn),
    store: server.store,
    openWatches: () => server.openWatches(),
  };
}

export type { KubeObject, Json, JsonObject } from './types.js';
export type { ObjectStore, StoreEvent } from './store.js';
