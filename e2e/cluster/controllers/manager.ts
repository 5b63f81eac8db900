/**
 * The dev cluster's controller manager: shared informers, one work queue per controller, and the
 * event wiring (a pod change wakes its controlling StatefulSet/ReplicaSet/DaemonSet; a ReplicaSet
 * change wakes its Deployment). `start()` resolves once caches have synced; `stop()` ends every
 * watch and queue. Reconcile failures are logged and retried with capped backoff; never thrown.
 */
import winston, { type Logger } from 'winston';
import type { ControllerRevision, DaemonSet, Deployment, KubeObject, Pod, ReplicaSet, Service, StatefulSet } from '../harness/k8s-types.js';
import { KubeClient, RESOURCES, isNamespaceTerminating, isNotFound, keyOf } from '../harness/kube-client.js';
import { Informer } from '../harness/informer.js';
import { EventRecorder } from '../harness/events.js';
import { Expectations, WorkQueue, controllerOf } from './common.js';
import type { ControllerContext } from './context.js';
import { StatefulSetController } from './statefulset.js';
import { ReplicaSetController } from './replicaset.js';
import { DeploymentController } from './deployment.js';
import { DaemonSetController } from './daemonset.js';
import { EndpointsController, type EndpointsObject, type SliceObject } from './endpoints.js';
import { DisruptionController, type PodDisruptionBudget } from './disruption.js';

interface Syncable {
  run(signal: AbortSignal): Promise<void>;
  waitSynced(): Promise<void>;
}

export interface ControllerManagerOptions {
  readonly server: string;
  readonly token?: string;
  /** Nodes DaemonSets schedule onto. @default ['dev-node'] */
  readonly nodeNames?: readonly string[];
  readonly logger?: Logger;
}

export class ControllerManager {
  readonly client: KubeClient;
  #ac = new AbortController();
  #logger: Logger;
  #informers: Syncable[] = [];
  #queues: WorkQueue[] = [];
  #runs: Promise<void>[] = [];
  #start: () => Promise<void>;

  constructor(opts: ControllerManagerOptions) {
    this.#logger = opts.logger ?? winston.createLogger({ level: process.env.DEV_CLUSTER_LOG_LEVEL ?? 'warn', transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })] });
    this.client = new KubeClient({ server: opts.server, token: opts.token, userAgent: 'kube-controller-manager/dev-cluster' });
    const warn = (what: string) => (e: unknown): void => {
      if (!this.#ac.signal.aborted && !isNamespaceTerminating(e)) this.#logger.warn(`controller-manager ${what}: ${String(e)}`);
    };
    const inf = <T extends KubeObject>(t: (typeof RESOURCES)[keyof typeof RESOURCES]): Informer<T> => {
      const i = new Informer<T>(this.client, t, { onError: warn(`${t.resource} watch`) });
      this.#informers.push(i);
      return i;
    };
    const pods = inf<Pod>(RESOURCES.pods);
    const revisions = inf<ControllerRevision>(RESOURCES.controllerrevisions);
    const statefulSets = inf<StatefulSet>(RESOURCES.statefulsets);
    const deployments = inf<Deployment>(RESOURCES.deployments);
    const replicaSets = inf<ReplicaSet>(RESOURCES.replicasets);
    const daemonSets = inf<DaemonSet>(RESOURCES.daemonsets);
    const services = inf<Service>(RESOURCES.services);
    const endpoints = inf<EndpointsObject>(RESOURCES.endpoints);
    const slices = inf<SliceObject>(RESOURCES.endpointslices);
    const budgets = inf<PodDisruptionBudget>(RESOURCES.poddisruptionbudgets);
    const nodeNames = [...(opts.nodeNames ?? ['dev-node'])];
    const ctx: ControllerContext = {
      client: this.client,
      pods,
      revisions,
      events: new EventRecorder(this.client, { component: 'controller-manager' }, warn('event')),
      logger: this.#logger,
      expectations: new Expectations(),
      nodeNames: () => nodeNames,
    };
    const queue = (name: string, fn: (key: string) => Promise<void | { requeueAfterMs: number }>): WorkQueue => {
      const q = new WorkQueue(fn, (key, e) => {
        if (this.#ac.signal.aborted) return;
        // The object went away mid-reconcile, or its namespace is draining: expected, not a warning.
        this.#logger.log(isNamespaceTerminating(e) || isNotFound(e) ? 'debug' : 'warn', `${name} ${key}: ${e instanceof Error ? e.message : String(e)}`);
      });
      this.#queues.push(q);
      return q;
    };
    const sts = new StatefulSetController(ctx, statefulSets);
    const rs = new ReplicaSetController(ctx, replicaSets);
    const deploy = new DeploymentController(ctx, deployments, replicaSets);
    const ds = new DaemonSetController(ctx, daemonSets);
    const stsQ = queue('statefulset', (k) => sts.reconcile(k));
    const rsQ = queue('replicaset', (k) => rs.reconcile(k));
    const deployQ = queue('deployment', (k) => deploy.reconcile(k));
    const dsQ = queue('daemonset', (k) => ds.reconcile(k));
    const ep = new EndpointsController(ctx, services, endpoints, slices);
    const epQ = queue('endpoints', (k) => ep.reconcile(k));
    services.on((_e, o) => epQ.add(keyOf(o)));
    const scaleOf = (kind: string, ns: string, name: string): number | undefined => {
      if (kind === 'StatefulSet') return statefulSets.get(`${ns}/${name}`)?.spec.replicas ?? 1;
      if (kind === 'ReplicaSet') return replicaSets.get(`${ns}/${name}`)?.spec.replicas ?? 1;
      return undefined;
    };
    const pdb = new DisruptionController(ctx, budgets, scaleOf);
    const pdbQ = queue('disruption', (k) => pdb.reconcile(k));
    budgets.on((_e, o) => pdbQ.add(keyOf(o)));
    endpoints.on((ev, o) => {
      if (ev === 'delete') epQ.add(keyOf(o));
    });

    statefulSets.on((_e, o) => stsQ.add(keyOf(o)));
    deployments.on((_e, o) => deployQ.add(keyOf(o)));
    daemonSets.on((_e, o) => dsQ.add(keyOf(o)));
    replicaSets.on((_e, o) => {
      rsQ.add(keyOf(o));
      const owner = controllerOf(o);
      if (owner?.kind === 'Deployment') deployQ.add(`${o.metadata.namespace}/${owner.name}`);
    });
    pods.on((_e, p, old) => {
      for (const k of ep.servicesFor(p)) epQ.add(k);
      for (const k of pdb.budgetsFor(p)) pdbQ.add(k);
      if (old && old.metadata.labels !== p.metadata.labels) for (const k of ep.servicesFor(old)) epQ.add(k);
      const owner = controllerOf(p);
      if (!owner) return;
      const key = `${p.metadata.namespace}/${owner.name}`;
      if (owner.kind === 'StatefulSet') stsQ.add(key);
      else if (owner.kind === 'DaemonSet') dsQ.add(key);
      else if (owner.kind === 'ReplicaSet') {
        rsQ.add(key);
        const rsObj = replicaSets.get(key);
        const d = rsObj && controllerOf(rsObj);
        if (d?.kind === 'Deployment') deployQ.add(`${p.metadata.namespace}/${d.name}`);
      }
    });
    revisions.on((_e, r) => {
      const owner = controllerOf(r);
      if (owner?.kind === 'StatefulSet') stsQ.add(`${r.metadata.namespace}/${owner.name}`);
    });

    this.#start = async () => {
      // Dependent caches first, so the first reconcile of a workload sees its pods and revisions.
      const deps: Syncable[] = [pods, revisions, replicaSets];
      for (const i of deps) this.#runs.push(i.run(this.#ac.signal));
      await Promise.all(deps.map((i) => i.waitSynced()));
      for (const i of [statefulSets, deployments, daemonSets, services, endpoints, slices, budgets] as Syncable[]) this.#runs.push(i.run(this.#ac.signal));
      await Promise.all(this.#informers.map((i) => i.waitSynced()));
    };
  }

  start(): Promise<void> {
    return this.#start();
  }

  async stop(): Promise<void> {
    this.#ac.abort();
    for (const q of this.#queues) q.stop();
    await Promise.allSettled(this.#runs);
  }
}
