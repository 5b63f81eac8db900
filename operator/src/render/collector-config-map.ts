import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { ApiObject } from 'cdk8s';
import { CONFIG_KEY, ownedMeta, names, type CollectorIdentity } from './labels.js';

export interface CollectorConfigMapProps {
  /** The owning Collector. */
  readonly owner: CollectorIdentity;
  /** Alloy config text, stored under `config.alloy`. */
  readonly config: string;
  /**
   * Hashes a pod still running the previous config may report (`alloy.dev/previous-config-hashes`,
   * comma-separated), so "reloading" survives an operator restart.
   * @default none
   */
  readonly previousConfigHashes?: readonly string[];
}

/** ConfigMap annotation holding the hashes of the config before the last change. */
export const PREVIOUS_CONFIG_HASHES_ANNOTATION = 'alloy.dev/previous-config-hashes';

/**
 * ConfigMap annotation holding the sha256 (hex) of `config.alloy`: the operator's metadata-only
 * cache tells from it whether the config changed without holding the text.
 */
export const CONFIG_HASH_ANNOTATION = 'alloy.dev/config-hash';

/** The ConfigMap the pods mount as a directory at `/etc/alloy`; its name never changes. */
export class CollectorConfigMap extends Construct {
  readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: CollectorConfigMapProps) {
    super(scope, id);
    this.resource = new ApiObject(this, 'resource', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        ...ownedMeta(props.owner, names.configMap(props.owner.name)),
        annotations: {
          [CONFIG_HASH_ANNOTATION]: createHash('sha256').update(props.config).digest('hex'),
          ...(props.previousConfigHashes !== undefined && props.previousConfigHashes.length > 0 ? { [PREVIOUS_CONFIG_HASHES_ANNOTATION]: props.previousConfigHashes.join(',') } : {}),
        },
      },
      data: { [CONFIG_KEY]: props.config },
    });
  }
}
