import type { V1Container, V1StatefulSetSpec, V1Volume } from '@kubernetes/client-node';
import { Construct } from 'constructs';
import { ApiObject, JsonPatch } from 'cdk8s';
import type { CollectorSpec } from '../api/v1alpha1/collector-types.js';
import { CONFIG_DIR, CONFIG_KEY, DATA_DIR, HTTP_PORT, commonLabels, names, ownedMeta, selectorLabels, type CollectorIdentity } from './labels.js';
import { extraPorts } from './receiver-service.js';
import { DEFAULT_CONTAINER_SECURITY_CONTEXT, DEFAULT_POD_SECURITY_CONTEXT, mergeSecurityContext } from './security-defaults.js';

export interface CollectorStatefulSetProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
  /** The Collector spec, defaults applied. */
  readonly spec: CollectorSpec;
  /** Image of both containers (`/bin/alloy` entrypoint). */
  readonly image: string;
  /** ServiceAccount the pods run as. */
  readonly serviceAccountName: string;
}

/** Longest Collector name whose StatefulSet pods get valid labels. */
export const MAX_NAME_LENGTH = 52;

/**
 * The `config-reloader` sidecar's resources, from measurement (`bench/config-reloader-rss.ts`:
 * 47 MiB RSS steady and peak after reloads on Node.js 20, where an idle bare node process is
 * 39.5 MiB): request the steady figure plus ~15 %, limit at twice it for GC headroom and large
 * configs (the reloader holds the config bytes twice while comparing).
 */
export const DEFAULT_RELOADER_RESOURCES = { requests: { cpu: '10m', memory: '56Mi' }, limits: { memory: '96Mi' } };

/** Arguments of `alloy run` for a Collector. */
export function alloyRunArgs(owner: CollectorIdentity, spec: CollectorSpec): string[] {
  const args = [
    'run',
    `${CONFIG_DIR}/${CONFIG_KEY}`,
    `--server.http.listen-addr=0.0.0.0:${HTTP_PORT}`,
    `--storage.path=${DATA_DIR}`,
    `--stability.level=${spec.stabilityLevel}`,
  ];
  if (spec.clustering.enabled) {
    args.push(
      '--cluster.enabled=true',
      `--cluster.join-addresses=${names.peerService(owner.name)}.${owner.namespace}.svc.cluster.local:${HTTP_PORT}`,
      `--cluster.advertise-address=$(POD_IP):${HTTP_PORT}`,
    );
  }
  return [...args, ...(spec.extraArgs ?? [])];
}

/**
 * The collector StatefulSet: container `alloy` plus the `config-reloader` sidecar. The pod
 * template depends on the spec only, never on the config text, so config changes reach running
 * pods through the mounted ConfigMap and `/-/reload` instead of a rollout.
 */
export class CollectorStatefulSet extends Construct {
  readonly resource: ApiObject;

  /**
   * @throws when the Collector name is longer than 52 characters: the StatefulSet controller adds
   * an 11-character `controller-revision-hash` suffix to a 63-character label value.
   */
  constructor(scope: Construct, id: string, props: CollectorStatefulSetProps) {
    super(scope, id);
    const { owner, spec } = props;
    if (owner.name.length > MAX_NAME_LENGTH) {
      throw new Error(`metadata.name: "${owner.name}" has ${owner.name.length} characters; a Collector name may have at most ${MAX_NAME_LENGTH} so its pods' controller-revision-hash label fits in 63`);
    }
    const reloader = spec.reloader.enabled;
    const claim = spec.storage?.volumeClaimTemplate;

    const volumes: V1Volume[] = [
      { name: 'config', configMap: { name: names.configMap(owner.name) } },
      { name: 'tmp', emptyDir: {} },
    ];
    if (claim === undefined) volumes.push({ name: 'data', emptyDir: {} });

    const alloy: V1Container = {
      name: 'alloy',
      image: props.image,
      command: ['/bin/alloy'],
      args: alloyRunArgs(owner, spec),
      ports: [
        { name: 'http-metrics', containerPort: HTTP_PORT, protocol: 'TCP' },
        ...extraPorts(spec.ports).map((p) => ({ name: p.name, containerPort: p.targetPort ?? p.port, protocol: p.protocol })),
      ],
      readinessProbe: {
        httpGet: { path: '/-/ready', port: HTTP_PORT, scheme: 'HTTP' },
        initialDelaySeconds: 1,
        periodSeconds: 5,
        // Stated, not left to API-server defaulting, so `kubectl describe` shows the real values
        // on every API server (timeout=1s #success=1).
        timeoutSeconds: 1,
        successThreshold: 1,
        failureThreshold: 3,
      },
      volumeMounts: [
        { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
        { name: 'data', mountPath: DATA_DIR },
        { name: 'tmp', mountPath: '/tmp' },
      ],
    };
    const sidecar: V1Container = {
      name: 'config-reloader',
      image: props.image,
      command: ['/bin/alloy'],
      args: ['config-reloader', `--volume-dir=${CONFIG_DIR}`, `--webhook-url=http://localhost:${HTTP_PORT}/-/reload`],
      volumeMounts: [{ name: 'config', mountPath: CONFIG_DIR, readOnly: true }],
    };

    const podLabels = { ...(spec.podLabels ?? {}), ...commonLabels(owner.name) };
    const statefulSetSpec: V1StatefulSetSpec = {
      replicas: spec.replicas,
      serviceName: names.peerService(owner.name),
      podManagementPolicy: 'Parallel',
      updateStrategy: { type: 'RollingUpdate' },
      selector: { matchLabels: selectorLabels(owner.name) },
      template: {
        metadata: {
          labels: podLabels,
          annotations: { ...(spec.podAnnotations ?? {}), 'kubectl.kubernetes.io/default-container': 'alloy' },
        },
        spec: {
          serviceAccountName: props.serviceAccountName,
          containers: reloader ? [alloy, sidecar] : [alloy],
          volumes,
          ...(spec.nodeSelector !== undefined ? { nodeSelector: spec.nodeSelector } : {}),
        },
      },
    };
    this.resource = new ApiObject(this, 'resource', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: ownedMeta(owner, names.statefulSet(owner.name)), spec: statefulSetSpec });

    // User-supplied Kubernetes objects go out verbatim (see README).
    const pod = '/spec/template/spec';
    const patches: JsonPatch[] = [
      JsonPatch.add(`${pod}/securityContext`, mergeSecurityContext(DEFAULT_POD_SECURITY_CONTEXT, spec.podSecurityContext)),
      JsonPatch.add(`${pod}/containers/0/securityContext`, mergeSecurityContext(DEFAULT_CONTAINER_SECURITY_CONTEXT, spec.securityContext)),
      JsonPatch.add(`${pod}/containers/0/env`, [
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        ...(spec.env ?? []),
      ]),
    ];
    if (spec.envFrom !== undefined) patches.push(JsonPatch.add(`${pod}/containers/0/envFrom`, spec.envFrom));
    if (spec.resources !== undefined) patches.push(JsonPatch.add(`${pod}/containers/0/resources`, spec.resources));
    if (reloader) {
      patches.push(
        JsonPatch.add(`${pod}/containers/1/securityContext`, mergeSecurityContext(DEFAULT_CONTAINER_SECURITY_CONTEXT, spec.securityContext)),
        JsonPatch.add(`${pod}/containers/1/resources`, spec.reloader.resources ?? DEFAULT_RELOADER_RESOURCES),
      );
    }
    if (spec.tolerations !== undefined) patches.push(JsonPatch.add(`${pod}/tolerations`, spec.tolerations));
    if (spec.affinity !== undefined) patches.push(JsonPatch.add(`${pod}/affinity`, spec.affinity));
    if (spec.topologySpreadConstraints !== undefined) {
      patches.push(JsonPatch.add(`${pod}/topologySpreadConstraints`, spec.topologySpreadConstraints));
    }
    if (claim !== undefined) {
      patches.push(JsonPatch.add('/spec/volumeClaimTemplates', [{ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' }, spec: claim }]));
    }
    this.resource.addJsonPatch(...patches);
  }
}
