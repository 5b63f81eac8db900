/**
 * Level-based reconcile of one Collector (`namespace/name`): re-reads the Collector and what it
 * owns, validates the config with the collector's own validator, renders the desired objects
 * (cdk8s), applies only those that differ from the live ones (server-side apply, field manager
 * `alloy-operator`), prunes objects it no longer wants, and writes status only when it changed.
 *
 * Contracts:
 * - An invalid config never reaches the ConfigMap: the last good one stays, pods keep running
 *   it, `ConfigValid=False` carries the diagnostics (line:col) and a Warning Event is recorded.
 * - The StatefulSet's pod template does not depend on the config text (see `render/`).
 * - Throws on API failures so the caller re-queues with backoff; returns normally when the
 *   Collector is gone (NotFound) or its spec is invalid (a terminal error until the spec changes).
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'winston';
import { API_VERSION, KIND, decodeCollector, type Collector, type CollectorStatus } from '../api/v1alpha1/collector-types.js';
import { renderCollector, type CollectorChartProps, type KubeObject as RenderedObject } from '../render/collector-chart.js';
import { CONFIG_HASH_ANNOTATION, PREVIOUS_CONFIG_HASHES_ANNOTATION } from '../render/collector-config-map.js';
import { collectorAccess, describeAccess, type CollectorAccess, type ConfigBlock } from '../rbac/collector-access.js';
import { CONFIG_DIR, CONFIG_KEY, CONFIG_SOURCE_LABEL, FIELD_MANAGER, OWNER_NAMESPACE_LABEL, commonLabels, names, selectorString } from '../render/labels.js';
import { KubeError, describeRef, isNamespaced, refOf, type KubeApi, type KubeObject, type ObjectRef } from '../kube/kube-api.js';
import type { Clock } from '../util/clock.js';
import type { ObjectReader } from '../kube/cache-reader.js';
import type { ClaimVolume } from '../kube/cache-transform.js';
import { mergeConditions, findCondition, type ConditionInput } from './conditions.js';
import { APPLIED_HASH_ANNOTATION, applyReason, appliedRecord, hasFieldSet, stableJson, unchangedSinceApplied, withAppliedHash, type AppliedRecord } from './desired-state.js';
import type { EventRecorder } from './event-recorder.js';
import type { PodConfigProbe } from './pod-config-probe.js';

/** Structural subset of the runtime's `Diagnostic` (collector/src/syntax). */
export interface ConfigDiagnostic {
  readonly severity: string;
  readonly message: string;
  readonly start: { readonly file: string; readonly line: number; readonly column: number };
}

export type ConfigValidator = (
  sources: ReadonlyMap<string, string>,
  opts: { stabilityLevel?: 'experimental' | 'public-preview' | 'generally-available' },
) => readonly ConfigDiagnostic[] | Promise<readonly ConfigDiagnostic[]>;

/** Splits a config into its blocks (the collector's parser, injected like the validator). */
export type ConfigAnalyzer = (file: string, text: string) => { ok: true; blocks: readonly ConfigBlock[] } | { ok: false; message: string };

/** ServiceAccount annotation listing the Kubernetes API access granted from the config. */
export const GRANTED_ACCESS_ANNOTATION = 'alloy.dev/granted-access';

export interface ReconcilerOptions {
  /** Writes (and reads when no `reader` is given). */
  readonly api: KubeApi;
  /**
   * Reads, typically informer caches (`CacheReader`).
   * @default `api`
   */
  readonly reader?: ObjectReader;
  readonly validate: ConfigValidator;
  /** Reads the components of a valid config to derive the collector's RBAC (`rbac/collector-access.ts`). */
  readonly analyze: ConfigAnalyzer;
  /** Image used when a Collector names none. */
  readonly defaultImage: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly events: EventRecorder;
  /**
   * Reads the config hash each pod runs; without it `status.configHash` is the ConfigMap's.
   * @default undefined
   */
  readonly podConfigProbe?: PodConfigProbe;
  /** Poll interval while pods are reloading a new config. @default 2000 */
  readonly reloadPollMs?: number;
  /**
   * After a config change, annotate each collector pod with the config hash
   * (`alloy.dev/config-hash`): the pod update makes the kubelet sync the pod at once, so the new
   * ConfigMap content reaches its volume in seconds instead of the kubelet's periodic sync
   * (60-90 s). @default true
   */
  readonly nudgePods?: boolean;
  /**
   * Renders the desired objects (pure: the same props give the same objects).
   * @default renderCollector
   */
  readonly render?: (props: CollectorChartProps) => readonly RenderedObject[];
}

/** Pod annotation the operator sets to the config hash so the kubelet re-projects the config volume. */
export const POD_CONFIG_HASH_ANNOTATION = 'alloy.dev/config-hash';

export interface ReconcileResult {
  /** Poll again after this delay (used while waiting for something not watched). */
  readonly requeueAfterMs?: number;
}

export const CLUSTER_RBAC_FINALIZER = 'alloy.dev/cluster-rbac';

/** Kinds the reconciler may have created and prunes when no longer desired. */
const PRUNABLE: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'v1', kind: 'Service' },
  { apiVersion: 'v1', kind: 'ServiceAccount' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
  { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
];
/** RBAC kinds the reconciler renders outside the Collector namespace (no owner reference): found by label. */
const UNOWNED_RBAC: ReadonlyArray<{ apiVersion: string; kind: string }> = [
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role' },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding' },
];

interface StatefulSetLike extends KubeObject {
  spec?: { replicas?: number; volumeClaimTemplates?: Array<{ metadata?: { name?: string } }> };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

/** `file`: the name diagnostics use (`config.alloy`, or the user's ConfigMap key); `where`: a prefix naming the ConfigMap. */
type ConfigSource = { ok: true; text: string; file: string; where: string } | { ok: false; reason: string; message: string };

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * `status.configHash`: sha256 of the config text, which is what Grafana Alloy reports as
 * `alloy_config_hash{sha256}` for a single config file (`hashSourceFiles` hashes the contents).
 */
export function configContentHash(text: string): string {
  return sha256(text);
}

/**
 * Hashes a pod running `text` may report: Alloy's content hash, and this repository's runtime
 * formula (sha256 over name, NUL, content, NUL) for the names the file can have in a pod.
 */
export function podHashCandidates(text: string): Set<string> {
  const named = (name: string) => createHash('sha256').update(name).update('\0').update(text).update('\0').digest('hex');
  return new Set([configContentHash(text), named(CONFIG_KEY), named(`${CONFIG_DIR}/${CONFIG_KEY}`)]);
}

interface PodConfigState {
  /** Ready pods that report their config. */
  readonly observed: number;
  /** Of those, pods running the expected config. */
  readonly current: number;
  /** Why the pods could not be observed, when they could not. */
  readonly unobservable?: string;
}

export function formatDiagnostics(diags: readonly ConfigDiagnostic[], limit = 5): string {
  const sorted = [...diags].sort((a, b) => a.start.line - b.start.line || a.start.column - b.start.column);
  const shown = sorted.slice(0, limit).map((d) => `${d.start.file}:${d.start.line}:${d.start.column}: ${d.message}`);
  const more = diags.length > limit ? ` (and ${diags.length - limit} more)` : '';
  return shown.join('; ') + more;
}

export class CollectorReconciler {
  readonly #o: ReconcilerOptions;

  readonly #reader: ObjectReader;
  /** Collector key -> owned object (`kind/namespace/name`) -> what this process last applied to it. */
  readonly #applied = new Map<string, Map<string, AppliedRecord>>();
  /** Collector key -> the objects its last render produced, and from which props. */
  readonly #plans = new Map<string, RenderPlan>();

  constructor(opts: ReconcilerOptions) {
    this.#o = opts;
    this.#reader = opts.reader ?? opts.api;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = splitKey(key);
    const ref: ObjectRef = { apiVersion: API_VERSION, kind: KIND, namespace, name };
    const raw = await this.#reader.get(ref);
    if (raw === undefined) {
      this.#applied.delete(key);
      this.#plans.delete(key);
      this.#o.logger.debug('collector gone; owned objects are garbage-collected', { collector: key });
      return {};
    }
    if (raw.metadata.deletionTimestamp !== undefined) {
      this.#applied.delete(key);
      this.#plans.delete(key);
      return this.#finalize(raw);
    }

    const decoded = decodeCollector(raw);
    if (!decoded.ok) {
      await this.#writeInvalidSpec(raw, decoded.message);
      return {};
    }
    const collector = decoded.collector;
    const source = await this.#readConfig(collector);
    const liveConfigMap = await this.#reader.get<KubeObject & { data?: Record<string, string> }>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      namespace,
      name: names.configMap(name),
    });

    let diagnostics: readonly ConfigDiagnostic[] = [];
    let valid = false;
    if (source.ok) {
      const level = collector.spec.stabilityLevel;
      try {
        diagnostics = (await this.#o.validate(new Map([[source.file, source.text]]), { stabilityLevel: level })).filter((d) => d.severity === 'error');
      } catch (e) {
        // Validation is deterministic: retrying cannot help, so a validator failure rejects the config.
        const message = `the config could not be validated (validator error: ${e instanceof Error ? e.message : String(e)})`;
        diagnostics = [{ severity: 'error', message, start: { file: source.file, line: 1, column: 1 } }];
      }
      valid = diagnostics.length === 0;
    }
    const newConfig = source.ok && valid ? source.text : undefined;
    const lastGood = await this.#lastGoodConfig(liveConfigMap, newConfig);
    const effective = newConfig ?? lastGood;
    const configChanged = newConfig !== undefined && lastGood !== undefined && newConfig !== lastGood;
    // The ConfigMap remembers the hashes of the config before its last change, so pods still on
    // it read as "reloading" after an operator restart too.
    const previousConfigHashes = configChanged
      ? [...podHashCandidates(lastGood)]
      : (liveConfigMap?.metadata.annotations?.[PREVIOUS_CONFIG_HASHES_ANNOTATION] ?? '').split(',').filter((h) => h !== '');

    const access = this.#access(collector, effective, source.ok ? source.file : CONFIG_KEY);
    const accessText = access !== undefined ? [describeAccess(access), ...access.notes].join('; ') : undefined;
    const chartProps: CollectorChartProps = {
      collector,
      defaultImage: this.#o.defaultImage,
      ...(newConfig !== undefined ? { config: newConfig, previousConfigHashes } : {}),
      ...(access !== undefined ? { rbac: access } : {}),
      ...(accessText !== undefined ? { serviceAccountAnnotations: { [GRANTED_ACCESS_ANNOTATION]: accessText } } : {}),
      workload: effective !== undefined,
    };
    // Rendering is a pure function of these props: when they are what the last successful render
    // of this Collector had, its plan (each object's reference and applied hash) says what the
    // objects are, and they are rendered again only if one of them must be applied or compared whole.
    const inputs = renderInputs(chartProps);
    let plan = this.#plans.get(key);
    const render = (): KubeObject[] => (this.#o.render ?? renderCollector)(chartProps).map((o) => withAppliedHash(o as unknown as KubeObject));
    let rendered: KubeObject[] | undefined;
    if (plan?.inputs !== inputs) {
      try {
        rendered = render();
      } catch (e) {
        await this.#writeInvalidSpec(raw, e instanceof Error ? e.message : String(e));
        return {};
      }
      plan = planOf(inputs, rendered);
      this.#plans.set(key, plan);
    }
    const desiredAt = (i: number): KubeObject => (rendered ??= render())[i]!;

    if (plan.items.some((it) => !isNamespaced(it.ref.kind) || it.ref.namespace !== namespace) && !(collector.metadata.finalizers ?? []).includes(CLUSTER_RBAC_FINALIZER)) {
      await this.#o.api.mergePatch(ref, {
        metadata: { finalizers: [...(collector.metadata.finalizers ?? []), CLUSTER_RBAC_FINALIZER], resourceVersion: collector.metadata.resourceVersion },
      });
    }

    if (accessText !== undefined) await this.#recordAccessEvent(collector, accessText);
    const applyErrors: string[] = [];
    let statefulSet: StatefulSetLike | undefined;
    // The desired StatefulSet, once the live one holds it (applied, or unchanged since applied).
    let settledStatefulSet: { name: string; claimTemplates: readonly string[] } | undefined;
    let requeueAfterMs: number | undefined;
    // When this operator last wrote the config: pods created after it mounted that content.
    let configWrittenAt = appliedAt(liveConfigMap, FIELD_MANAGER);
    for (const [i, item] of plan.items.entries()) {
      try {
        const live = await this.#reader.get(item.ref);
        if (live?.metadata.deletionTimestamp !== undefined) {
          // Being replaced (see below): wait until it is gone, then create it.
          requeueAfterMs = 1000;
          continue;
        }
        const reason = await this.#applyReason(key, item, live, () => desiredAt(i));
        // The answer is needed for its metadata (the applied record); an apply does not change a
        // status, so the StatefulSet's is the cached one (a new StatefulSet has none yet).
        const current = reason === undefined ? live! : await this.#o.api.apply(desiredAt(i), undefined, { metadataOnly: true });
        if (reason !== undefined) this.#remember(key, item.key, appliedRecord(current, live?.metadata.resourceVersion));
        if (item.ref.kind === 'StatefulSet') {
          const status = (current as StatefulSetLike).status ?? (live as StatefulSetLike | undefined)?.status;
          statefulSet = { ...(current as StatefulSetLike), ...(status !== undefined ? { status } : {}) };
          settledStatefulSet = { name: item.ref.name, claimTemplates: item.claimTemplates ?? [] };
        }
        if (item.ref.kind === 'ConfigMap' && reason !== undefined) configWrittenAt = this.#o.clock.now();
        if (reason !== undefined) this.#o.logger.info('applied', { collector: key, object: describeRef(item.ref), reason });
      } catch (e) {
        if (item.ref.kind === 'StatefulSet' && isImmutableStatefulSetChange(e)) {
          // Fields such as volumeClaimTemplates cannot change in place: delete the StatefulSet
          // orphaning its pods (they keep running), recreate it, and let it roll them.
          await this.#o.api.delete(item.ref, { propagationPolicy: 'Orphan' });
          await this.#o.events.record(collector.metadata, 'Normal', 'StatefulSetRecreated', `StatefulSet ${item.ref.name} recreated (pods orphaned, then rolled) to change immutable fields`);
          this.#o.logger.info('recreating StatefulSet to change immutable fields', { collector: key });
          requeueAfterMs = 500;
          continue;
        }
        applyErrors.push(`${describeRef(item.ref)}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (statefulSet === undefined && effective === undefined) {
      statefulSet = await this.#reader.get<StatefulSetLike>({ apiVersion: 'apps/v1', kind: 'StatefulSet', namespace, name: names.statefulSet(name) });
    }
    // Objects of this Collector that a render no longer produces exist only after the render
    // changed or from before this process started: pruning once per plan finds them all.
    if (applyErrors.length === 0 && !plan.pruned) {
      await this.#prune(collector, plan.items);
      plan.pruned = true;
    }

    const configValid: ConditionInput = !source.ok
      ? { type: 'ConfigValid', status: 'False', reason: source.reason, message: source.message }
      : valid
        ? { type: 'ConfigValid', status: 'True', reason: 'Valid', message: 'config accepted and applied to the ConfigMap' }
        : {
            type: 'ConfigValid',
            status: 'False',
            reason: 'InvalidConfig',
            message: `${source.where}${formatDiagnostics(diagnostics)}; ${lastGood !== undefined ? `pods keep running the last valid config (sha256 ${configContentHash(lastGood).slice(0, 12)})` : 'no valid config yet, pods are not started'}`,
          };
    await this.#recordConfigEvent(collector, configValid);
    if (settledStatefulSet !== undefined && (await this.#replaceUnclaimedPods(collector, settledStatefulSet))) requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, 1000);
    if (statefulSet !== undefined && effective !== undefined && this.#o.nudgePods !== false) await this.#nudgePods(collector, configContentHash(effective), configWrittenAt);
    const podConfig = statefulSet !== undefined && effective !== undefined ? await this.#observePodConfig(collector, effective, configChanged, previousConfigHashes) : undefined;
    const notReady = statefulSet !== undefined && (statefulSet.status?.readyReplicas ?? 0) < collector.spec.replicas ? await this.#podProblems(collector) : [];
    const claims = statefulSet !== undefined ? await this.#outdatedClaims(collector) : [];
    await this.#writeStatus(collector, configValid, applyErrors, statefulSet, effective, podConfig, notReady, claims);
    if (applyErrors.length > 0) throw new Error(`apply failed: ${applyErrors.join('; ')}`);
    if (podConfig !== undefined && podConfig.unobservable === undefined && podConfig.current < podConfig.observed) {
      requeueAfterMs = Math.min(requeueAfterMs ?? Infinity, this.#o.reloadPollMs ?? 2000);
    }
    return requeueAfterMs !== undefined ? { requeueAfterMs } : {};
  }

  /**
   * Why `desired` must be applied over `live` (whole or metadata only), or `undefined` when it
   * holds what this operator would apply. With a record of this process's own last apply, decided
   * from metadata alone (`unchangedSinceApplied`); without one (the first look since the operator
   * started), from the whole object, read from the API when the cache holds only its metadata.
   */
  async #applyReason(collectorKey: string, item: PlannedObject, live: KubeObject | undefined, desired: () => KubeObject): Promise<string | undefined> {
    if (live === undefined) return 'absent';
    if (live.metadata.annotations?.[APPLIED_HASH_ANNOTATION] !== item.hash) return 'desired object changed';
    const record = this.#applied.get(collectorKey)?.get(item.key);
    if (record !== undefined && record.uid === live.metadata.uid) {
      return unchangedSinceApplied(item.ref.kind, live, record) ? undefined : 'changed by another writer since this operator applied it';
    }
    const whole = hasFieldSet(live, FIELD_MANAGER) ? live : await this.#o.api.get(item.ref);
    const reason = applyReason(desired(), whole, FIELD_MANAGER);
    if (reason === undefined) this.#remember(collectorKey, item.key, appliedRecord(whole!));
    return reason;
  }

  #remember(collectorKey: string, objectKey: string, record: AppliedRecord | undefined): void {
    let records = this.#applied.get(collectorKey);
    if (record === undefined) {
      records?.delete(objectKey);
      return;
    }
    if (records === undefined) this.#applied.set(collectorKey, (records = new Map()));
    records.set(objectKey, record);
  }

  /**
   * The config text the ConfigMap holds, when the reconcile needs it: the new config is invalid or
   * missing (the pods keep the last good one), or differs from the ConfigMap's
   * `alloy.dev/config-hash` (the old text's hashes are kept for the pods still reloading). A
   * metadata-only cached ConfigMap is then read from the API; an unchanged config costs no read.
   */
  async #lastGoodConfig(live: (KubeObject & { data?: Record<string, string> }) | undefined, newConfig: string | undefined): Promise<string | undefined> {
    if (live === undefined) return undefined;
    const hash = live.metadata.annotations?.[CONFIG_HASH_ANNOTATION];
    if (newConfig !== undefined && hash !== undefined && hash === configContentHash(newConfig)) return newConfig;
    if (live.data !== undefined) return live.data[CONFIG_KEY];
    const whole = await this.#o.api.get<KubeObject & { data?: Record<string, string> }>(refOf({ ...live, apiVersion: 'v1', kind: 'ConfigMap' }));
    return whole?.data?.[CONFIG_KEY];
  }

  /**
   * Replaces pods that lack a claim of the desired StatefulSet's `volumeClaimTemplates` (the cache
   * holds no StatefulSet spec): they predate a
   * storage change (the StatefulSet was recreated around them, see `reconcile`). The StatefulSet
   * controller cannot add a volume to a running pod: it tries, the API server forbids the pod
   * update, and it stops at that pod on every sync, so the rollout never proceeds by itself.
   * Lowest ordinal first (the controller stops at the first such pod, so a higher one deleted
   * first would not come back), one at a time, each once every lower ordinal is Ready.
   * @returns whether such pods remain (the caller requeues).
   */
  async #replaceUnclaimedPods(collector: Collector, desired: { readonly name: string; readonly claimTemplates: readonly string[] }): Promise<boolean> {
    const templates = desired.claimTemplates;
    if (templates.length === 0) return false;
    type PodLike = KubeObject & { spec?: { volumes?: readonly ClaimVolume[] }; status?: { conditions?: Array<{ type?: string; status?: string }> } };
    const { namespace } = collector.metadata;
    const stsName = desired.name;
    const { items } = await this.#reader.list<PodLike>('v1', 'Pod', namespace, selectorString(collector.metadata.name));
    const byOrdinal = new Map<number, PodLike>();
    for (const pod of items) {
      const ordinal = /^(\d+)$/.exec((pod.metadata.name ?? '').slice(stsName.length + 1))?.[1];
      if (ordinal !== undefined && pod.metadata.name === `${stsName}-${ordinal}`) byOrdinal.set(Number(ordinal), pod);
    }
    const lacking = (pod: PodLike): string[] => templates.filter((t) => !(pod.spec?.volumes ?? []).some((v) => v.name === t && v.persistentVolumeClaim?.claimName === `${t}-${pod.metadata.name}`));
    const first = [...byOrdinal.keys()].sort((a, b) => a - b).find((o) => lacking(byOrdinal.get(o)!).length > 0);
    if (first === undefined) return false;
    const pod = byOrdinal.get(first)!;
    if (pod.metadata.deletionTimestamp !== undefined) return true;
    for (let o = 0; o < first; o++) {
      const lower = byOrdinal.get(o);
      const ready = lower?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
      if (lower === undefined || lower.metadata.deletionTimestamp !== undefined || !ready) return true;
    }
    const name = pod.metadata.name ?? '';
    try {
      // The cache may still show a pod the StatefulSet has already recreated with its claim.
      await this.#o.api.delete({ apiVersion: 'v1', kind: 'Pod', namespace, name }, { ...(pod.metadata.uid !== undefined ? { uid: pod.metadata.uid } : {}) });
    } catch (e) {
      if (e instanceof KubeError && e.status === 409) return true;
      throw e;
    }
    const claims = lacking(pod).map((t) => `${t}-${name}`).join(', ');
    await this.#o.events.record(collector.metadata, 'Normal', 'PodReplaced', `pod ${name} predates the StatefulSet's volumeClaimTemplates and a StatefulSet cannot add a volume to a running pod: deleted so that it comes back with its claim ${claims}`);
    this.#o.logger.info('replacing a pod without its claim', { collector: `${namespace}/${collector.metadata.name}`, pod: name, claims });
    return true;
  }

  /**
   * Existing claims of the StatefulSet's `data` template that differ from
   * `spec.storage.volumeClaimTemplate` (size, class, access modes). A StatefulSet never changes
   * the claims it already made, so after a template change these pods keep the old volumes.
   */
  async #outdatedClaims(collector: Collector): Promise<string[]> {
    const template = collector.spec.storage?.volumeClaimTemplate as
      | { resources?: { requests?: { storage?: unknown } }; storageClassName?: unknown; accessModes?: unknown }
      | undefined;
    if (template === undefined) return [];
    type Claim = KubeObject & { spec?: { resources?: { requests?: { storage?: unknown } }; storageClassName?: unknown; accessModes?: unknown } };
    const { namespace, name } = collector.metadata;
    const prefix = `data-${names.statefulSet(name)}-`;
    const ofSet = (n: string): boolean => n.startsWith(prefix) && /^\d+$/.test(n.slice(prefix.length));
    const { items } = await this.#reader.list<Claim>('v1', 'PersistentVolumeClaim', namespace);
    const out: string[] = [];
    for (const pvc of items.filter((c) => ofSet(c.metadata.name ?? '')).sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
      const diffs: string[] = [];
      const want = template.resources?.requests?.storage;
      const have = pvc.spec?.resources?.requests?.storage;
      if (want !== undefined && String(want) !== String(have)) diffs.push(`storage ${String(have)} (template ${String(want)})`);
      if (template.storageClassName !== undefined && template.storageClassName !== pvc.spec?.storageClassName) {
        diffs.push(`storageClassName ${String(pvc.spec?.storageClassName)} (template ${String(template.storageClassName)})`);
      }
      if (template.accessModes !== undefined && stableJson(template.accessModes) !== stableJson(pvc.spec?.accessModes)) {
        diffs.push(`accessModes ${stableJson(pvc.spec?.accessModes)} (template ${stableJson(template.accessModes)})`);
      }
      if (diffs.length > 0) out.push(`${pvc.metadata.name}: ${diffs.join(', ')}`);
    }
    return out;
  }

  /** Why pods are not ready (waiting reasons of their containers), at most 3, for the Ready message. */
  async #podProblems(collector: Collector): Promise<string[]> {
    type ContainerStatus = { name: string; ready?: boolean; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } };
    type PodLike = KubeObject & { status?: { phase?: string; containerStatuses?: ContainerStatus[] } };
    const { items } = await this.#reader.list<PodLike>('v1', 'Pod', collector.metadata.namespace, selectorString(collector.metadata.name));
    const problems: string[] = [];
    for (const pod of items.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))) {
      const bad = (pod.status?.containerStatuses ?? []).filter((c) => c.ready !== true);
      const reasons = bad.map((c) => {
        const w = c.state?.waiting;
        const t = c.state?.terminated;
        if (w?.reason !== undefined) return `${c.name} ${w.reason}${w.message !== undefined ? ` (${w.message.slice(0, 120)})` : ''}`;
        if (t !== undefined) return `${c.name} terminated ${t.reason ?? ''} exit ${t.exitCode ?? '?'}`.replace('  ', ' ');
        return `${c.name} not ready`;
      });
      if (reasons.length > 0) problems.push(`${pod.metadata.name}: ${reasons.join(', ')}`);
      else if (pod.status?.phase === 'Pending') problems.push(`${pod.metadata.name}: Pending`);
      if (problems.length === 3) break;
    }
    return problems;
  }

  /**
   * The API access the collector pods get: derived from the components of the config they run
   * (`rbac.discovery: auto`), confined to the Collector namespace (`namespace`) or widened to the
   * cluster (`cluster`); none with `rbac.discovery: none`, without a config, or when the Collector
   * brings its own ServiceAccount (then `undefined`: nothing is rendered or annotated).
   */
  #access(collector: Collector, config: string | undefined, file: string): CollectorAccess | undefined {
    const { spec, metadata } = collector;
    if (spec.serviceAccountName !== undefined) return undefined;
    const mode = spec.rbac?.discovery ?? 'auto';
    const none: CollectorAccess = { cluster: [], namespaces: {}, notes: [] };
    if (mode === 'none' || config === undefined) return none;
    const parsed = this.#o.analyze(file, config);
    if (!parsed.ok) return { ...none, notes: [`config not analyzed (${parsed.message}), no access granted`] };
    return collectorAccess(parsed.blocks, { namespace: metadata.namespace, ...(mode !== 'auto' ? { confine: mode } : {}) });
  }

  /** A Normal Event `RBACUpdated` with the granted rules whenever they differ from the ServiceAccount's record. */
  async #recordAccessEvent(collector: Collector, text: string): Promise<void> {
    const sa = await this.#reader.get({ apiVersion: 'v1', kind: 'ServiceAccount', namespace: collector.metadata.namespace, name: names.serviceAccount(collector.metadata.name) });
    const before = sa?.metadata.annotations?.[GRANTED_ACCESS_ANNOTATION];
    // A new Collector without Kubernetes components: nothing granted, nothing worth an Event.
    if (before === text || (before === undefined && text === describeAccess({ cluster: [], namespaces: {}, notes: [] }))) return;
    await this.#o.events.record(collector.metadata, 'Normal', 'RBACUpdated', `Kubernetes API access of the collector pods: ${text}`);
  }

  /**
   * Annotates every collector pod whose `alloy.dev/config-hash` differs from `hash`. A pod update
   * is what makes a real kubelet sync the pod (and re-project its ConfigMap volume) at once.
   * Best effort: a failure is logged, the kubelet's periodic sync still delivers the config.
   * Pods created after `configWrittenAt` (the config's last write, second resolution) started
   * with that content and are left alone, so new pods cost no patch; when it is unknown, every
   * pod whose annotation differs is nudged.
   */
  async #nudgePods(collector: Collector, hash: string, configWrittenAt: number | undefined): Promise<void> {
    const { namespace, name } = collector.metadata;
    const { items } = await this.#reader.list('v1', 'Pod', namespace, selectorString(name));
    for (const pod of items) {
      if (pod.metadata.deletionTimestamp !== undefined || pod.metadata.annotations?.[POD_CONFIG_HASH_ANNOTATION] === hash) continue;
      const created = Date.parse(pod.metadata.creationTimestamp ?? '');
      // Timestamps have second resolution: a pod created in the same second may predate the write.
      if (configWrittenAt !== undefined && created >= Math.floor(configWrittenAt / 1000) * 1000 + 1000) continue;
      try {
        await this.#o.api.mergePatch({ apiVersion: 'v1', kind: 'Pod', namespace, name: pod.metadata.name ?? '' }, { metadata: { annotations: { [POD_CONFIG_HASH_ANNOTATION]: hash } } });
      } catch (e) {
        if (e instanceof KubeError && e.status === 404) continue;
        this.#o.logger.warn('could not annotate pod with the config hash; the kubelet picks the config up on its next periodic sync', { collector: `${namespace}/${name}`, pod: pod.metadata.name, error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** Which config the ready pods run (only meaningful with the reloader, which applies changes live). */
  async #observePodConfig(collector: Collector, text: string, changedNow: boolean, previousHashes: readonly string[]): Promise<PodConfigState | undefined> {
    const probe = this.#o.podConfigProbe;
    if (probe === undefined || !collector.spec.reloader.enabled) return undefined;
    // Steady state (status already shows this config, no reload pending): skip the pod round trips.
    const reloadingBefore = findCondition(collector.status?.conditions, 'Progressing')?.reason === 'ConfigReloading';
    if (!changedNow && !reloadingBefore && collector.status?.configHash === configContentHash(text)) return { observed: 0, current: 0 };
    const { items } = await this.#reader.list<KubeObject & { status?: { podIP?: string; conditions?: Array<{ type: string; status: string }> } }>(
      'v1',
      'Pod',
      collector.metadata.namespace,
      selectorString(collector.metadata.name),
    );
    const ready = items
      .filter((p) => p.metadata.deletionTimestamp === undefined && p.status?.podIP !== undefined && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'))
      .map((p) => ({ name: p.metadata.name ?? '', ip: p.status!.podIP! }));
    const hashes = await probe.observe(ready);
    const errors = [...hashes.entries()].filter(([, h]) => h instanceof Error).map(([pod, h]) => `${pod}: ${(h as Error).message}`);
    if (errors.length > 0) return { observed: ready.length, current: 0, unobservable: errors.join('; ') };
    const current = podHashCandidates(text);
    const previous = new Set(previousHashes);
    let upToDate = 0;
    const unknown: string[] = [];
    for (const [pod, h] of hashes) {
      if (current.has(h as string)) upToDate++;
      else if (!previous.has(h as string)) unknown.push(pod);
    }
    if (unknown.length > 0) {
      // A hash of neither the new nor the previous config: another formula or a third config.
      return { observed: ready.length, current: upToDate, unobservable: `pods ${unknown.join(', ')} report an unknown alloy_config_hash` };
    }
    return { observed: ready.length, current: upToDate };
  }

  async #readConfig(collector: Collector): Promise<ConfigSource> {
    const { spec, metadata } = collector;
    if (spec.config !== undefined) return { ok: true, text: spec.config, file: CONFIG_KEY, where: '' };
    const ref = spec.configMapRef!;
    const cmRef: ObjectRef = { apiVersion: 'v1', kind: 'ConfigMap', namespace: metadata.namespace, name: ref.name };
    type DataConfigMap = KubeObject & { data?: Record<string, string> };
    // The cache holds only ConfigMaps labelled as config sources; a new reference is read from the
    // API once and labelled, so its later edits arrive as watch events.
    let cm = await this.#reader.get<DataConfigMap>(cmRef);
    if (cm === undefined) {
      cm = await this.#o.api.get<DataConfigMap>(cmRef);
      if (cm !== undefined && cm.metadata.labels?.[CONFIG_SOURCE_LABEL] !== 'true') {
        await this.#o.api.apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ref.name, namespace: metadata.namespace, labels: { [CONFIG_SOURCE_LABEL]: 'true' } } }, undefined, { metadataOnly: true });
      }
    }
    if (cm === undefined) {
      return { ok: false, reason: 'ConfigMapNotFound', message: `ConfigMap ${metadata.namespace}/${ref.name} (spec.configMapRef) not found; create it or fix the name` };
    }
    const text = cm.data?.[ref.key];
    if (text === undefined) {
      const keys = Object.keys(cm.data ?? {}).join(', ') || 'none';
      return { ok: false, reason: 'ConfigKeyNotFound', message: `ConfigMap ${metadata.namespace}/${ref.name} has no key "${ref.key}" (keys: ${keys}); set spec.configMapRef.key` };
    }
    return { ok: true, text, file: ref.key, where: `ConfigMap ${ref.name} ` };
  }

  /** Deletes owned objects of prunable kinds that are no longer desired. */
  async #prune(collector: Collector, desired: readonly PlannedObject[]): Promise<void> {
    const { name, namespace, uid } = collector.metadata;
    const wanted = new Set(desired.map((o) => o.key));
    const selector = selectorString(name) + `,app.kubernetes.io/managed-by=${commonLabels(name)['app.kubernetes.io/managed-by']}`;
    for (const { apiVersion, kind } of PRUNABLE) {
      const { items } = await this.#reader.list(apiVersion, kind, namespace, selector);
      for (const item of items) {
        const owned = (item.metadata.ownerReferences ?? []).some((r) => r.uid === uid);
        if (owned && !wanted.has(`${kind}/${namespace}/${item.metadata.name}`)) {
          await this.#o.api.delete({ apiVersion, kind, namespace, name: item.metadata.name ?? '' });
          this.#o.logger.info('pruned', { collector: `${namespace}/${name}`, object: `${kind} ${namespace}/${item.metadata.name}` });
        }
      }
    }
    if ((collector.metadata.finalizers ?? []).includes(CLUSTER_RBAC_FINALIZER)) {
      for (const { apiVersion, kind } of UNOWNED_RBAC) {
        const { items } = await this.#reader.list(apiVersion, kind, undefined, `${selector},${OWNER_NAMESPACE_LABEL}=${namespace}`);
        for (const item of items) {
          const ns = isNamespaced(kind) ? item.metadata.namespace : undefined;
          if (!wanted.has(`${kind}/${ns ?? ''}/${item.metadata.name}`)) await this.#o.api.delete({ apiVersion, kind, name: item.metadata.name ?? '', ...(ns !== undefined ? { namespace: ns } : {}) });
        }
      }
    }
  }

  /** Deletion with our finalizer: remove the cluster-scoped objects, then the finalizer. */
  async #finalize(raw: KubeObject): Promise<ReconcileResult> {
    const finalizers = raw.metadata.finalizers ?? [];
    if (!finalizers.includes(CLUSTER_RBAC_FINALIZER)) return {};
    const name = raw.metadata.name ?? '';
    const namespace = raw.metadata.namespace ?? '';
    const selector = `${selectorString(name)},${OWNER_NAMESPACE_LABEL}=${namespace}`;
    for (const { apiVersion, kind } of UNOWNED_RBAC) {
      const { items } = await this.#reader.list(apiVersion, kind, undefined, selector);
      for (const item of items) {
        // Objects in the Collector namespace are garbage-collected through their owner reference.
        if (isNamespaced(kind) && item.metadata.namespace === namespace) continue;
        await this.#o.api.delete({ apiVersion, kind, name: item.metadata.name ?? '', ...(isNamespaced(kind) ? { namespace: item.metadata.namespace ?? '' } : {}) });
      }
    }
    await this.#o.api.mergePatch(refOf(raw), {
      metadata: { finalizers: finalizers.filter((f) => f !== CLUSTER_RBAC_FINALIZER), resourceVersion: raw.metadata.resourceVersion },
    });
    this.#o.logger.info('finalized: cluster-scoped RBAC removed', { collector: `${namespace}/${name}` });
    return {};
  }

  async #recordConfigEvent(collector: Collector, next: ConditionInput): Promise<void> {
    const prev = findCondition(collector.status?.conditions, 'ConfigValid');
    if (prev !== undefined && prev.status === next.status && prev.message === next.message) return;
    if (next.status === 'False') await this.#o.events.record(collector.metadata, 'Warning', next.reason, next.message);
    else if (prev !== undefined && prev.status === 'False') await this.#o.events.record(collector.metadata, 'Normal', 'ConfigRecovered', next.message);
  }

  async #writeInvalidSpec(raw: KubeObject, message: string): Promise<void> {
    const generation = raw.metadata.generation ?? 0;
    const previous = (raw['status'] as CollectorStatus | undefined) ?? {};
    const conditions = mergeConditions(
      previous.conditions,
      [
        { type: 'ConfigValid', status: 'False', reason: 'InvalidSpec', message },
        { type: 'Degraded', status: 'True', reason: 'InvalidSpec', message: `spec rejected, objects left unchanged: ${message}` },
        ...(['Ready', 'Progressing'] as const).map((type) => {
          const c = findCondition(previous.conditions, type);
          return { type, status: c?.status ?? ('Unknown' as const), reason: c?.reason ?? 'InvalidSpec', message: c?.message ?? message };
        }),
      ],
      new Date(this.#o.clock.now()).toISOString(),
      generation,
    );
    const status: CollectorStatus = { ...previous, conditions, observedGeneration: generation };
    if (sameStatus(previous, status)) return;
    await this.#o.api.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name: raw.metadata.name, namespace: raw.metadata.namespace }, status }, 'status', { metadataOnly: true });
    if (findCondition(previous.conditions, 'ConfigValid')?.message !== message) {
      await this.#o.events.record({ name: raw.metadata.name ?? '', namespace: raw.metadata.namespace ?? '', uid: raw.metadata.uid ?? '' }, 'Warning', 'InvalidSpec', message);
    }
  }

  async #writeStatus(
    collector: Collector,
    configValid: ConditionInput,
    applyErrors: readonly string[],
    sts: StatefulSetLike | undefined,
    effective: string | undefined,
    podConfig: PodConfigState | undefined,
    podProblems: readonly string[] = [],
    outdatedClaims: readonly string[] = [],
  ): Promise<void> {
    const { metadata, spec } = collector;
    const desired = spec.replicas;
    const st = sts?.status ?? {};
    const ready = st.readyReplicas ?? 0;
    const rolledOut =
      sts !== undefined &&
      (st.observedGeneration === undefined || st.observedGeneration >= (sts.metadata.generation ?? 0)) &&
      (st.updatedReplicas === undefined || desired === 0 || st.updatedReplicas >= desired) &&
      (st.currentRevision === undefined || st.updateRevision === undefined || st.currentRevision === st.updateRevision || desired === 0) &&
      (st.replicas ?? 0) === desired;
    const allReady = rolledOut && ready >= desired;
    const expectedHash = effective !== undefined ? configContentHash(effective) : undefined;
    const reloading = podConfig !== undefined && podConfig.unobservable === undefined && podConfig.current < podConfig.observed;
    // The hash of the config the pods run: the ConfigMap's once every observed pod reports it
    // (or when pods cannot be observed), else the one recorded before.
    const configHash = reloading ? collector.status?.configHash : expectedHash;

    const readyCond: ConditionInput =
      sts === undefined && effective !== undefined
        ? { type: 'Ready', status: 'False', reason: 'StatefulSetPending', message: 'waiting for the StatefulSet to be (re)created' }
        : sts === undefined
        ? { type: 'Ready', status: 'False', reason: 'NoValidConfig', message: 'waiting for a valid config before starting pods' }
        : allReady
          ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `${ready}/${desired} replicas ready` }
          : { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: `${ready}/${desired} replicas ready${podProblems.length > 0 ? `; ${podProblems.join('; ')}` : ''}` };
    const progressing: ConditionInput =
      sts === undefined && effective !== undefined
        ? { type: 'Progressing', status: 'True', reason: 'StatefulSetPending', message: 'the StatefulSet is being (re)created' }
        : sts === undefined
        ? { type: 'Progressing', status: 'False', reason: 'NoValidConfig', message: 'no rollout without a valid config' }
        : allReady && reloading
          ? { type: 'Progressing', status: 'True', reason: 'ConfigReloading', message: `${podConfig!.current}/${podConfig!.observed} pods run config sha256 ${expectedHash!.slice(0, 12)}` }
        : allReady
          ? { type: 'Progressing', status: 'False', reason: 'RolloutComplete', message: 'all replicas updated and ready' }
          : { type: 'Progressing', status: 'True', reason: 'RollingOut', message: `${st.updatedReplicas ?? 0} updated, ${ready} ready of ${desired}` };
    const degraded: ConditionInput =
      applyErrors.length > 0
        ? { type: 'Degraded', status: 'True', reason: 'ApplyFailed', message: applyErrors.join('; ') }
        : configValid.status === 'False'
          ? { type: 'Degraded', status: 'True', reason: 'ConfigRejected', message: configValid.message }
          : outdatedClaims.length > 0
            ? {
                type: 'Degraded',
                status: 'True',
                reason: 'VolumeClaimsOutdated',
                message: `existing PersistentVolumeClaims do not match spec.storage.volumeClaimTemplate and a StatefulSet never changes them: ${outdatedClaims.join('; ')}; expand each claim (kubectl patch pvc, if its StorageClass allows expansion) or delete the claim and its pod to recreate it`,
              }
            : { type: 'Degraded', status: 'False', reason: 'AsExpected', message: 'all objects applied' };

    const previous = collector.status ?? {};
    const next: CollectorStatus = {
      conditions: mergeConditions(previous.conditions, [readyCond, progressing, configValid, degraded], new Date(this.#o.clock.now()).toISOString(), metadata.generation),
      observedGeneration: metadata.generation,
      replicas: st.replicas ?? 0,
      readyReplicas: ready,
      selector: selectorString(metadata.name),
      ...(configHash !== undefined ? { configHash } : {}),
    };
    if (sameStatus(previous, next)) return;
    // The answer is not read (the watch brings the new status to the cache): metadata only.
    await this.#o.api.apply({ apiVersion: API_VERSION, kind: KIND, metadata: { name: metadata.name, namespace: metadata.namespace }, status: next }, 'status', { metadataOnly: true });
  }
}

function objectKey(obj: KubeObject): string {
  return `${obj.kind}/${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`;
}

/** One desired object as the reconciler needs it without the object itself. */
interface PlannedObject {
  readonly ref: ObjectRef;
  /** `kind/namespace/name` (namespace empty for cluster-scoped objects). */
  readonly key: string;
  /** Its `alloy.dev/applied-hash`. */
  readonly hash: string;
  /** StatefulSet: the names of its volumeClaimTemplates. */
  readonly claimTemplates?: readonly string[];
}

/** What one render produced, in render order, and the fingerprint of the props it was given. */
interface RenderPlan {
  readonly inputs: string;
  readonly items: readonly PlannedObject[];
  /** Owned objects outside `items` have been deleted since this plan was made. */
  pruned: boolean;
}

/** Fingerprint of everything `renderCollector` reads (it is pure). */
function renderInputs(props: CollectorChartProps): string {
  const { collector, ...rest } = props;
  const { name, namespace, uid } = collector.metadata;
  return sha256(stableJson({ ...rest, owner: { name, namespace, uid }, spec: collector.spec }));
}

function planOf(inputs: string, rendered: readonly KubeObject[]): RenderPlan {
  return {
    inputs,
    pruned: false,
    items: rendered.map((o) => {
      const templates = o.kind === 'StatefulSet' ? ((o as StatefulSetLike).spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name).filter((n): n is string => n !== undefined && n !== '') : [];
      return { ref: refOf(o), key: objectKey(o), hash: o.metadata.annotations?.[APPLIED_HASH_ANNOTATION] ?? '', ...(templates.length > 0 ? { claimTemplates: templates } : {}) };
    }),
  };
}

/** Time (ms) of `manager`'s last server-side apply to `obj`, from its `managedFields` entry. */
function appliedAt(obj: KubeObject | undefined, manager: string): number | undefined {
  const entry = (obj?.metadata.managedFields as Array<{ manager?: string; operation?: string; subresource?: string; time?: string }> | undefined)?.find(
    (m) => m.manager === manager && m.operation === 'Apply' && (m.subresource ?? '') === '',
  );
  const t = Date.parse(entry?.time ?? '');
  return Number.isNaN(t) ? undefined : t;
}

function sameStatus(a: CollectorStatus, b: CollectorStatus): boolean {
  return stableJson(canonicalStatus(a)) === stableJson(canonicalStatus(b));
}

function canonicalStatus(s: CollectorStatus): unknown {
  return {
    ...s,
    conditions: (s.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, g: c.observedGeneration })),
  };
}

/** The API's rejection of a StatefulSet update touching fields other than the mutable ones. */
export function isImmutableStatefulSetChange(e: unknown): boolean {
  return e instanceof KubeError && e.status === 422 && /updates to statefulset spec for fields other than/.test(e.message);
}

export function splitKey(key: string): [string, string] {
  const i = key.indexOf('/');
  if (i <= 0) throw new Error(`reconcile key must be namespace/name, got ${JSON.stringify(key)}`);
  return [key.slice(0, i), key.slice(i + 1)];
}
