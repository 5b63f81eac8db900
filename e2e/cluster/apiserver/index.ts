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
import { ApiServer } from './server.js';
import type { PodExecProvider, PodLogProvider, StartApiServerOptions } from './options.js';
import type { ObjectStore } from './store.js';

export type { PodExecIO, PodExecProvider, PodLogOptions, PodLogProvider, StartApiServerOptions } from './options.js';

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
