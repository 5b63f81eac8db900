/**
 * `alloy.dev/v1alpha1` `Collector`: the zod schemas are the single source of truth for the CRD
 * (`crds/collectors.alloy.dev.yaml` is generated from them by `operator/src/crd/`) and for the
 * operator's decoding of live objects.
 *
 * Kubernetes core types nested in the spec (resources, env, affinity, tolerations, security
 * contexts, volume claim specs) are `x-kubernetes-preserve-unknown-fields` objects: the API server
 * validates them with their real schemas when the operator applies the StatefulSet, a rejected
 * apply surfaces as `Degraded=True` with the server's message, and the CRD does not pin a copy
 * of the core schemas of one Kubernetes version.
 */
import { z } from 'zod';

export const GROUP = 'alloy.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}` as const;
export const KIND = 'Collector';
export const PLURAL = 'collectors';
export const SINGULAR = 'collector';
export const SHORT_NAMES: readonly string[] = ['alloy'];

/** A Kubernetes object passed through verbatim; validated by the API server on apply. */
const kubeObject = (description: string) =>
  z.record(z.string(), z.unknown()).meta({ description, 'x-kubernetes-preserve-unknown-fields': true });

const kubeObjectList = (description: string) =>
  z.array(z.record(z.string(), z.unknown()).meta({ 'x-kubernetes-preserve-unknown-fields': true })).meta({ description });

const stringMap = (description: string) => z.record(z.string(), z.string()).meta({ description });

const intOrString = (description: string) =>
  z.union([z.int().min(0), z.string().regex(/^\d+%$/)]).meta({ description });

export const StabilityLevelSchema = z
  .enum(['experimental', 'public-preview', 'generally-available'])
  .meta({ description: 'Minimum stability of the components the config may use (`--stability.level`).' });

export const ConfigMapRefSchema = z
  .object({
    name: z.string().min(1).meta({ description: 'Name of a ConfigMap in the Collector namespace.' }),
    key: z.string().min(1).default('config.alloy').meta({ description: 'Key holding the Alloy config.' }),
  })
  .meta({ description: 'Alloy config read from an existing ConfigMap; changes to it are picked up.' });

export const ServicePortSchema = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
    .max(15)
    .meta({ description: 'IANA service name of the port, e.g. `loki-api`.' }),
  port: z.int().min(1).max(65535).meta({ description: 'Port the receiver listens on in the container and the Service exposes.' }),
  targetPort: z.int().min(1).max(65535).optional().meta({ description: 'Container port when different from `port`.' }),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
});

export const ClusteringSchema = z
  .object({
    enabled: z.boolean().default(true).meta({ description: 'Run the replicas as one Alloy cluster (`--cluster.enabled`).' }),
  })
  .meta({ description: 'Alloy clustering; peers find each other through a headless Service.' });

export const StorageSchema = z
  .object({
    volumeClaimTemplate: kubeObject(
      'PersistentVolumeClaim spec for the WAL/data directory (`/var/lib/alloy/data`); an emptyDir is used when absent.',
    ).optional(),
  })
  .meta({ description: 'Storage of `--storage.path`.' });

export const RbacSchema = z
  .object({
    discovery: z
      .enum(['auto', 'none', 'namespace', 'cluster'])
      .default('auto')
      .meta({
        description:
          'Kubernetes API access granted to the generated ServiceAccount: `auto` derives least-privilege read rules from the components the config uses (none when it uses none), `namespace` confines those rules to the Collector namespace, `cluster` widens them to the whole cluster, `none` grants nothing.',
      }),
  })
  .meta({ description: 'Generated RBAC (recorded in the ServiceAccount annotation `alloy.dev/granted-access` and an `RBACUpdated` Event); ignored when `serviceAccountName` is set.' });

export const PodDisruptionBudgetSchema = z
  .object({
    minAvailable: intOrString('Minimum available pods (count or percentage).').optional(),
    maxUnavailable: intOrString('Maximum unavailable pods (count or percentage); defaults to 1 when neither is set.').optional(),
  })
  .meta({ description: 'Creates a PodDisruptionBudget for the collector pods when present.' });

export const ReloaderSchema = z
  .object({
    enabled: z.boolean().default(true).meta({ description: 'Run the `config-reloader` sidecar that calls `/-/reload` when the config volume changes.' }),
    resources: kubeObject('ResourceRequirements of the sidecar.').optional(),
  })
  .meta({ description: 'Config reloader sidecar.' });

export const CollectorSpecSchema = z
  .object({
    config: z.string().optional().meta({ description: 'Inline Alloy configuration (exclusive with `configMapRef`).' }),
    configMapRef: ConfigMapRefSchema.optional(),
    replicas: z.int().min(0).default(1).meta({ description: 'Number of collector pods.' }),
    image: z.string().min(1).optional().meta({ description: 'Collector image; defaults to the operator release image.' }),
    clustering: ClusteringSchema.default({ enabled: true }),
    stabilityLevel: StabilityLevelSchema.default('generally-available'),
    extraArgs: z.array(z.string()).optional().meta({ description: 'Extra arguments appended to `alloy run`.' }),
    env: kubeObjectList('EnvVar list of the `alloy` container.').optional(),
    envFrom: kubeObjectList('EnvFromSource list of the `alloy` container.').optional(),
    resources: kubeObject('ResourceRequirements of the `alloy` container.').optional(),
    storage: StorageSchema.optional(),
    ports: z.array(ServicePortSchema).optional().meta({ description: 'Extra container and Service ports, e.g. for `loki.source.api` (3100).' }),
    serviceAccountName: z.string().min(1).optional().meta({ description: 'Use an existing ServiceAccount instead of generating one.' }),
    rbac: RbacSchema.optional(),
    podSecurityContext: kubeObject('Overrides merged over the restricted defaults (runAsNonRoot, UID/GID/fsGroup 473, seccomp RuntimeDefault).').optional(),
    securityContext: kubeObject('Overrides merged over the restricted container defaults (no privilege escalation, drop ALL, read-only root filesystem).').optional(),
    nodeSelector: stringMap('Node selector of the pods.').optional(),
    tolerations: kubeObjectList('Tolerations of the pods.').optional(),
    affinity: kubeObject('Affinity of the pods.').optional(),
    topologySpreadConstraints: kubeObjectList('Topology spread constraints of the pods.').optional(),
    podAnnotations: stringMap('Extra pod annotations.').optional(),
    podLabels: stringMap('Extra pod labels.').optional(),
    podDisruptionBudget: PodDisruptionBudgetSchema.optional(),
    reloader: ReloaderSchema.default({ enabled: true }),
  })
  .meta({
    description: 'Desired state of an Alloy collector.',
    'x-kubernetes-validations': [
      { rule: 'has(self.config) != has(self.configMapRef)', message: 'set exactly one of spec.config or spec.configMapRef' },
    ],
  });

export const ConditionTypeSchema = z.enum(['Ready', 'Progressing', 'ConfigValid', 'Degraded']);
export type ConditionType = z.infer<typeof ConditionTypeSchema>;

export const ConditionSchema = z.object({
  type: ConditionTypeSchema,
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().meta({ description: 'CamelCase reason.' }),
  message: z.string(),
  lastTransitionTime: z.string().meta({ description: 'RFC 3339 time the status last changed.' }),
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.infer<typeof ConditionSchema>;

export const CollectorStatusSchema = z
  .object({
    conditions: z.array(ConditionSchema).optional(),
    observedGeneration: z.int().min(0).optional(),
    replicas: z.int().min(0).optional().meta({ description: 'Pods created by the StatefulSet.' }),
    readyReplicas: z.int().min(0).optional(),
    configHash: z.string().optional().meta({ description: 'sha256 of the config in the ConfigMap the pods mount.' }),
    selector: z.string().optional().meta({ description: 'Label selector of the pods (scale subresource).' }),
  })
  .meta({ description: 'Observed state, written by the operator.' });

export type CollectorSpec = z.output<typeof CollectorSpecSchema>;
export type CollectorSpecInput = z.input<typeof CollectorSpecSchema>;
export type CollectorStatus = z.infer<typeof CollectorStatusSchema>;

/** The subset of ObjectMeta the operator reads. */
export interface CollectorMeta {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly generation: number;
  readonly resourceVersion?: string;
  readonly deletionTimestamp?: string;
  readonly finalizers?: readonly string[];
}

export interface Collector {
  readonly apiVersion: typeof API_VERSION;
  readonly kind: typeof KIND;
  readonly metadata: CollectorMeta;
  readonly spec: CollectorSpec;
  readonly status?: CollectorStatus;
}

export type DecodeResult = { readonly ok: true; readonly collector: Collector } | { readonly ok: false; readonly message: string };

/**
 * Decodes a live object into a `Collector` with defaults applied. Never throws: a spec the schema
 * rejects (possible when the API server does not enforce the CRD's CEL rules) becomes a message
 * naming each bad field.
 */
export function decodeCollector(raw: unknown): DecodeResult {
  const obj = (raw ?? {}) as { metadata?: Record<string, unknown>; spec?: unknown; status?: unknown };
  const meta = obj.metadata ?? {};
  const spec = CollectorSpecSchema.safeParse(obj.spec ?? {});
  const collectorMeta: CollectorMeta = {
    name: String(meta['name'] ?? ''),
    namespace: String(meta['namespace'] ?? 'default'),
    uid: String(meta['uid'] ?? ''),
    generation: typeof meta['generation'] === 'number' ? meta['generation'] : 0,
    ...(typeof meta['resourceVersion'] === 'string' ? { resourceVersion: meta['resourceVersion'] } : {}),
    ...(typeof meta['deletionTimestamp'] === 'string' ? { deletionTimestamp: meta['deletionTimestamp'] } : {}),
    ...(Array.isArray(meta['finalizers']) ? { finalizers: meta['finalizers'].map(String) } : {}),
  };
  if (!spec.success) {
    const problems = spec.error.issues.map((i) => `spec.${i.path.join('.')}: ${i.message}`);
    return { ok: false, message: `invalid Collector spec: ${problems.join('; ')}` };
  }
  if ((spec.data.config === undefined) === (spec.data.configMapRef === undefined)) {
    return { ok: false, message: 'invalid Collector spec: set exactly one of spec.config or spec.configMapRef' };
  }
  const status = CollectorStatusSchema.safeParse(obj.status ?? {});
  return {
    ok: true,
    collector: {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: collectorMeta,
      spec: spec.data,
      ...(status.success ? { status: status.data } : {}),
    },
  };
}
