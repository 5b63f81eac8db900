/**
 * Validates rendered objects against the Kubernetes OpenAPI schemas compiled by the
 * `kubernetes-models` package (the same schemas the dev cluster's API server uses). Kinds without
 * a built-in schema (CRDs such as ServiceMonitor, Collector) are reported as unchecked.
 */
type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params?: unknown }[] | null };

const GROUP_PREFIX: Readonly<Record<string, string>> = {
  '': 'IoK8sApiCore',
  apps: 'IoK8sApiApps',
  'rbac.authorization.k8s.io': 'IoK8sApiRbac',
  policy: 'IoK8sApiPolicy',
  autoscaling: 'IoK8sApiAutoscaling',
  'networking.k8s.io': 'IoK8sApiNetworking',
  batch: 'IoK8sApiBatch',
  'apiextensions.k8s.io': 'IoK8sApiextensionsApiserverPkgApisApiextensions',
  'coordination.k8s.io': 'IoK8sApiCoordination',
  'discovery.k8s.io': 'IoK8sApiDiscovery',
};

export type OpenApiResult = { readonly checked: true; readonly errors: string[] } | { readonly checked: false; readonly reason: string };

export async function validateObject(object: Record<string, unknown>): Promise<OpenApiResult> {
  const apiVersion = String(object['apiVersion'] ?? '');
  const kind = String(object['kind'] ?? '');
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') as [string, string] : ['', apiVersion];
  const prefix = GROUP_PREFIX[group];
  if (prefix === undefined || version === '') return { checked: false, reason: `no built-in schema for ${apiVersion} ${kind}` };
  const name = `${prefix}${version[0]!.toUpperCase()}${version.slice(1)}${kind}`;
  let validate: Validator | undefined;
  try {
    validate = ((await import(`kubernetes-models/_schemas/${name}`)) as { validate?: Validator }).validate;
  } catch {
    return { checked: false, reason: `no schema ${name} in kubernetes-models` };
  }
  if (validate === undefined) return { checked: false, reason: `schema ${name} has no validator` };
  if (validate(object)) return { checked: true, errors: [] };
  return { checked: true, errors: (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params ?? {})}`) };
}
