/**
 * Records core/v1 Events the way kubelets and controllers do, so `kubectl describe` shows them.
 * Repeats of the same (object, fieldPath, reason, message) bump `count`/`lastTimestamp` on the
 * existing Event instead of creating a new one. Never throws: failures go to `onError`.
 */
import { randomBytes } from 'node:crypto';
import { KubeClient, RESOURCES } from './kube-client.js';
import type { KubeObject } from './k8s-types.js';

export interface EventSource {
  readonly component: string;
  readonly host?: string;
}

export class EventRecorder {
  #client: KubeClient;
  #source: EventSource;
  #onError: (e: unknown) => void;
  #seen = new Map<string, { name: string; namespace: string; count: number; pending: Promise<void> }>();

  constructor(client: KubeClient, source: EventSource, onError: (e: unknown) => void = () => undefined) {
    this.#client = client;
    this.#source = source;
    this.#onError = onError;
  }

  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, fieldPath?: string): void {
    const ns = obj.metadata.namespace ?? 'default';
    const key = `${obj.metadata.uid}|${fieldPath ?? ''}|${reason}|${message}`;
    const ts = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const prev = this.#seen.get(key);
    if (prev) {
      prev.count++;
      const count = prev.count;
      prev.pending = prev.pending.then(() =>
        this.#client.mergePatch(RESOURCES.events, prev.namespace, prev.name, { count, lastTimestamp: ts }).then(() => undefined, this.#onError),
      );
      return;
    }
    if (this.#seen.size > 5000) this.#seen.clear();
    const name = `${obj.metadata.name}.${randomBytes(8).toString('hex')}`;
    const entry = { name, namespace: ns, count: 1, pending: Promise.resolve() };
    this.#seen.set(key, entry);
    const ev = {
      metadata: { name, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: ns,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      type,
      source: { component: this.#source.component, ...(this.#source.host ? { host: this.#source.host } : {}) },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      reportingComponent: this.#source.component,
      reportingInstance: this.#source.host ?? '',
    };
    entry.pending = this.#client.create(RESOURCES.events, ns, ev as KubeObject).then(() => undefined, this.#onError);
  }
}
