/**
 * Records core/v1 Events about a Collector (`kubectl describe collector` shows them). Failures
 * to record are logged, never thrown: an Event is diagnostics, not state.
 */
import type { Logger } from 'winston';
import { API_VERSION, KIND } from '../api/v1alpha1/collector-types.js';
import type { KubeApi } from '../kube/kube-api.js';
import type { Clock } from '../util/clock.js';

export interface InvolvedCollector {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(involved: InvolvedCollector, type: EventType, reason: string, message: string): Promise<void>;
}

export class KubeEventRecorder implements EventRecorder {
  readonly #api: KubeApi;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #instance: string;

  constructor(api: KubeApi, clock: Clock, logger: Logger, instance: string) {
    this.#api = api;
    this.#clock = clock;
    this.#logger = logger;
    this.#instance = instance;
  }

  async record(involved: InvolvedCollector, type: EventType, reason: string, message: string): Promise<void> {
    const now = new Date(this.#clock.now()).toISOString();
    try {
      await this.#api.create({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${involved.name}.`, namespace: involved.namespace },
        involvedObject: { apiVersion: API_VERSION, kind: KIND, name: involved.name, namespace: involved.namespace, uid: involved.uid },
        type,
        reason,
        message: message.slice(0, 1024),
        source: { component: 'alloy-operator' },
        reportingComponent: 'alloy-operator',
        reportingInstance: this.#instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      });
    } catch (e) {
      this.#logger.warn('could not record event', { reason, error: e instanceof Error ? e.message : String(e) });
    }
  }
}
