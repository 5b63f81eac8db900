/**
 * Target groups per role. The `prometheus:` cases port the expectations of Prometheus's own
 * discovery tests (discovery/kubernetes/*_test.go, v3 line: endpoints_test.go with sidecar and
 * namespace-metadata cases, pod_test.go, service_test.go, endpointslice_test.go, ingress_test.go,
 * node_test.go): same fixtures, same expected label sets. The `own:` cases cover what those tests
 * do not (init containers in the pod role, not-ready pods, several node address types, IPv6,
 * attach_metadata on pods and slices, dual-stack slices).
 */
import {
  buildEndpointSlice,
  buildEndpoints,
  buildIngress,
  buildNode,
  buildPod,
  buildService,
  exportTargets,
  flatten,
  matchesHostnamePattern,
  pruneForDiscovery,
  type EndpointSlice,
  type Endpoints,
  type Ingress,
  type Lookups,
  type Node,
  type Pod,
  type Service,
  type TargetGroup,
  type TargetRole,
} from './targets.js';
import type { KubeObject } from '../../common/kube/client.js';

const K = '__meta_kubernetes_';

function makeEndpoints(namespace = 'default'): Endpoints {
  return {
    metadata: { name: 'testendpoints', namespace, annotations: { 'test.annotation': 'test' } },
    subsets: [
      { addresses: [{ ip: '1.2.3.4', hostname: 'testendpoint1', nodeName: 'foobar' }], ports: [{ name: 'testport', port: 9000, protocol: 'TCP' }] },
      { addresses: [{ ip: '2.3.4.5' }], notReadyAddresses: [{ ip: '2.3.4.5' }], ports: [{ name: 'testport', port: 9001, protocol: 'TCP' }] },
      { addresses: [{ ip: '6.7.8.9', targetRef: { kind: 'Node', name: 'barbaz' } }], ports: [{ name: 'testport', port: 9002, protocol: 'TCP' }] },
    ],
  };
}

const endpointsTargets = [
  { __address__: '1.2.3.4:9000', [`${K}endpoint_hostname`]: 'testendpoint1', [`${K}endpoint_node_name`]: 'foobar', [`${K}endpoint_port_name`]: 'testport', [`${K}endpoint_port_protocol`]: 'TCP', [`${K}endpoint_ready`]: 'true' },
  { __address__: '2.3.4.5:9001', [`${K}endpoint_port_name`]: 'testport', [`${K}endpoint_port_protocol`]: 'TCP', [`${K}endpoint_ready`]: 'true' },
  { __address__: '2.3.4.5:9001', [`${K}endpoint_port_name`]: 'testport', [`${K}endpoint_port_protocol`]: 'TCP', [`${K}endpoint_ready`]: 'false' },
  { __address__: '6.7.8.9:9002', [`${K}endpoint_address_target_kind`]: 'Node', [`${K}endpoint_address_target_name`]: 'barbaz', [`${K}endpoint_port_name`]: 'testport', [`${K}endpoint_port_protocol`]: 'TCP', [`${K}endpoint_ready`]: 'true' },
];

const endpointsLabels = {
  [`${K}namespace`]: 'default',
  [`${K}endpoints_name`]: 'testendpoints',
  [`${K}endpoints_annotation_test_annotation`]: 'test',
  [`${K}endpoints_annotationpresent_test_annotation`]: 'true',
};

function lookups(objs: { services?: Service[]; pods?: Pod[]; nodes?: Node[]; namespaces?: Array<{ metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } }> }, attach: { node?: boolean; namespace?: boolean } = {}): Lookups {
  return {
    service: (ns, name) => objs.services?.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    pod: (ns, name) => objs.pods?.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
    ...(attach.node ? { node: (name: string) => objs.nodes?.find((n) => n.metadata.name === name) } : {}),
    ...(attach.namespace ? { namespace: (name: string) => objs.namespaces?.find((n) => n.metadata.name === name) } : {}),
  };
}

const makeNode = (name: string, address: string, providerID: string, labels?: Record<string, string>, annotations?: Record<string, string>): Node => ({
  metadata: { name, ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) },
  spec: { providerID },
  status: { addresses: [{ type: 'InternalIP', address }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } },
});

describe('endpoints role (prometheus: endpoints_test.go)', () => {
  it('TestEndpointsDiscoveryBeforeRun: ready/not-ready addresses, hostname, node name, node target refs', () => {
    expect(buildEndpoints(makeEndpoints())).toStrictEqual({ source: 'endpoints/default/testendpoints', labels: endpointsLabels, targets: endpointsTargets });
  });

  it('TestEndpointsDiscoveryAdd: pod-backed address gets pod labels; uncovered container ports become extra targets', () => {
    const pod: Pod = {
      metadata: { name: 'testpod', namespace: 'default', uid: 'deadbeef' },
      spec: {
        nodeName: 'testnode',
        containers: [
          { name: 'c1', image: 'c1:latest', ports: [{ name: 'mainport', containerPort: 9000, protocol: 'TCP' }] },
          { name: 'c2', image: 'c2:latest', ports: [{ name: 'sideport', containerPort: 9001, protocol: 'TCP' }] },
        ],
      },
      status: { hostIP: '2.3.4.5', podIP: '1.2.3.4' },
    };
    const eps: Endpoints = {
      metadata: { name: 'testendpoints', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '4.3.2.1', targetRef: { kind: 'Pod', name: 'testpod', namespace: 'default' } }], ports: [{ name: 'testport', port: 9000, protocol: 'TCP' }] }],
    };
    const podCommon = { [`${K}pod_name`]: 'testpod', [`${K}pod_ip`]: '1.2.3.4', [`${K}pod_ready`]: 'unknown', [`${K}pod_phase`]: '', [`${K}pod_node_name`]: 'testnode', [`${K}pod_host_ip`]: '2.3.4.5', [`${K}pod_uid`]: 'deadbeef' };
    expect(buildEndpoints(eps, lookups({ pods: [pod] }))).toStrictEqual({
      source: 'endpoints/default/testendpoints',
      labels: { [`${K}endpoints_name`]: 'testendpoints', [`${K}namespace`]: 'default' },
      targets: [
        {
          __address__: '4.3.2.1:9000',
          [`${K}endpoint_port_name`]: 'testport',
          [`${K}endpoint_port_protocol`]: 'TCP',
          [`${K}endpoint_ready`]: 'true',
          [`${K}endpoint_address_target_kind`]: 'Pod',
          [`${K}endpoint_address_target_name`]: 'testpod',
          ...podCommon,
          [`${K}pod_container_name`]: 'c1',
          [`${K}pod_container_image`]: 'c1:latest',
          [`${K}pod_container_port_name`]: 'mainport',
          [`${K}pod_container_port_number`]: '9000',
          [`${K}pod_container_port_protocol`]: 'TCP',
          [`${K}pod_container_init`]: 'false',
        },
        {
          __address__: '1.2.3.4:9001',
          ...podCommon,
          [`${K}pod_container_name`]: 'c2',
          [`${K}pod_container_image`]: 'c2:latest',
          [`${K}pod_container_port_name`]: 'sideport',
          [`${K}pod_container_port_number`]: '9001',
          [`${K}pod_container_port_protocol`]: 'TCP',
          [`${K}pod_container_init`]: 'false',
        },
      ],
    });
  });

  it('TestEndpointsDiscoveryEmptySubsets: a group with labels and no targets', () => {
    expect(buildEndpoints({ metadata: { name: 'testendpoints', namespace: 'default' }, subsets: [] })).toStrictEqual({
      source: 'endpoints/default/testendpoints',
      labels: { [`${K}namespace`]: 'default', [`${K}endpoints_name`]: 'testendpoints' },
      targets: [],
    });
  });

  it('TestEndpointsDiscoveryWithService: service labels join the group labels', () => {
    const svc: Service = { metadata: { name: 'testendpoints', namespace: 'default', labels: { 'app/name': 'test' } } };
    expect(buildEndpoints(makeEndpoints(), lookups({ services: [svc] }))).toStrictEqual({
      source: 'endpoints/default/testendpoints',
      labels: { ...endpointsLabels, [`${K}service_label_app_name`]: 'test', [`${K}service_labelpresent_app_name`]: 'true', [`${K}service_name`]: 'testendpoints' },
      targets: endpointsTargets,
    });
  });

  it('TestEndpointsDiscoveryWithNodeMetadata: node name and labels per target (nodeName, else a Node target ref)', () => {
    const svc: Service = { metadata: { name: 'testendpoints', namespace: 'default', labels: { 'app/name': 'test' } } };
    const nodes = [makeNode('foobar', '', '', { az: 'us-east1' }), makeNode('barbaz', '', '', { az: 'us-west2' })];
    const g = buildEndpoints(makeEndpoints(), lookups({ services: [svc], nodes }, { node: true }));
    expect(g.targets).toStrictEqual([
      { ...endpointsTargets[0], [`${K}node_label_az`]: 'us-east1', [`${K}node_labelpresent_az`]: 'true', [`${K}node_name`]: 'foobar' },
      endpointsTargets[1],
      endpointsTargets[2],
      { ...endpointsTargets[3], [`${K}node_label_az`]: 'us-west2', [`${K}node_labelpresent_az`]: 'true', [`${K}node_name`]: 'barbaz' },
    ]);
  });

  it('TestEndpointsDiscoverySidecarContainer: init (sidecar) container ports match endpoint ports and are marked init', () => {
    const pod: Pod = {
      metadata: { name: 'testpod', namespace: 'default', uid: 'deadbeef' },
      spec: {
        nodeName: 'testnode',
        initContainers: [
          { name: 'ic1', image: 'ic1:latest', ports: [{ name: 'initport', containerPort: 1111, protocol: 'TCP' }] },
          { name: 'ic2', image: 'ic2:latest', ports: [{ name: 'initport', containerPort: 9111, protocol: 'TCP' }] },
        ],
        containers: [{ name: 'c1', image: 'c1:latest', ports: [{ name: 'mainport', containerPort: 9000, protocol: 'TCP' }] }],
      },
      status: { hostIP: '2.3.4.5', podIP: '4.3.2.1' },
    };
    const eps: Endpoints = {
      metadata: { name: 'testsidecar', namespace: 'default' },
      subsets: [
        {
          addresses: [{ ip: '4.3.2.1', targetRef: { kind: 'Pod', name: 'testpod', namespace: 'default' } }],
          ports: [
            { name: 'testport', port: 9000, protocol: 'TCP' },
            { name: 'initport', port: 9111, protocol: 'TCP' },
          ],
        },
      ],
    };
    const podCommon = { [`${K}pod_host_ip`]: '2.3.4.5', [`${K}pod_ip`]: '4.3.2.1', [`${K}pod_name`]: 'testpod', [`${K}pod_node_name`]: 'testnode', [`${K}pod_phase`]: '', [`${K}pod_ready`]: 'unknown', [`${K}pod_uid`]: 'deadbeef' };
    const ref = { [`${K}endpoint_address_target_kind`]: 'Pod', [`${K}endpoint_address_target_name`]: 'testpod', [`${K}endpoint_port_protocol`]: 'TCP', [`${K}endpoint_ready`]: 'true' };
    expect(buildEndpoints(eps, lookups({ pods: [pod] })).targets).toStrictEqual([
      { __address__: '4.3.2.1:9000', ...ref, [`${K}endpoint_port_name`]: 'testport', [`${K}pod_container_image`]: 'c1:latest', [`${K}pod_container_name`]: 'c1', [`${K}pod_container_port_name`]: 'mainport', [`${K}pod_container_port_number`]: '9000', [`${K}pod_container_port_protocol`]: 'TCP', ...podCommon, [`${K}pod_container_init`]: 'false' },
      { __address__: '4.3.2.1:9111', ...ref, [`${K}endpoint_port_name`]: 'initport', [`${K}pod_container_image`]: 'ic2:latest', [`${K}pod_container_name`]: 'ic2', [`${K}pod_container_port_name`]: 'initport', [`${K}pod_container_port_number`]: '9111', [`${K}pod_container_port_protocol`]: 'TCP', ...podCommon, [`${K}pod_container_init`]: 'true' },
      { __address__: '4.3.2.1:1111', [`${K}pod_container_image`]: 'ic1:latest', [`${K}pod_container_name`]: 'ic1', [`${K}pod_container_port_name`]: 'initport', [`${K}pod_container_port_number`]: '1111', [`${K}pod_container_port_protocol`]: 'TCP', ...podCommon, [`${K}pod_container_init`]: 'true' },
    ]);
  });

  it('TestEndpointsDiscoveryWithNamespaceMetadata: namespace labels and annotations join the group labels', () => {
    const ns = { metadata: { name: 'test-ns', labels: { environment: 'production', team: 'backend' }, annotations: { owner: 'platform', version: 'v1.2.3' } } };
    const g = buildEndpoints(makeEndpoints('test-ns'), lookups({ namespaces: [ns] }, { namespace: true }));
    expect(g.labels).toStrictEqual({
      ...endpointsLabels,
      [`${K}namespace`]: 'test-ns',
      [`${K}namespace_annotation_owner`]: 'platform',
      [`${K}namespace_annotationpresent_owner`]: 'true',
      [`${K}namespace_annotation_version`]: 'v1.2.3',
      [`${K}namespace_annotationpresent_version`]: 'true',
      [`${K}namespace_label_environment`]: 'production',
      [`${K}namespace_labelpresent_environment`]: 'true',
      [`${K}namespace_label_team`]: 'backend',
      [`${K}namespace_labelpresent_team`]: 'true',
    });
    expect(g.targets).toStrictEqual(endpointsTargets);
  });
});

function makeMultiPortPod(): Pod {
  return {
    metadata: {
      name: 'testpod',
      namespace: 'default',
      labels: { 'test/label': 'testvalue' },
      annotations: { 'test/annotation': 'testannotationvalue' },
      uid: 'abc123',
      ownerReferences: [{ kind: 'testcontrollerkind', name: 'testcontrollername', controller: true }],
    },
    spec: {
      nodeName: 'testnode',
      containers: [
        {
          name: 'testcontainer0',
          image: 'testcontainer0:latest',
          ports: [
            { name: 'testport0', protocol: 'TCP', containerPort: 9000 },
            { name: 'testport1', protocol: 'UDP', containerPort: 9001 },
          ],
        },
        { name: 'testcontainer1', image: 'testcontainer1:latest' },
      ],
    },
    status: {
      podIP: '1.2.3.4',
      hostIP: '2.3.4.5',
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        { name: 'testcontainer0', containerID: 'docker://a1b2c3d4e5f6' },
        { name: 'testcontainer1', containerID: 'containerd://6a5b4c3d2e1f' },
      ],
    },
  };
}

describe('pod role (prometheus: pod_test.go)', () => {
  it('TestPodDiscoveryBeforeRun: one target per container port, a port-free target for a container without ports', () => {
    expect(buildPod(makeMultiPortPod())).toStrictEqual({
      source: 'pod/default/testpod',
      targets: [
        { __address__: '1.2.3.4:9000', [`${K}pod_container_name`]: 'testcontainer0', [`${K}pod_container_id`]: 'docker://a1b2c3d4e5f6', [`${K}pod_container_image`]: 'testcontainer0:latest', [`${K}pod_container_init`]: 'false', [`${K}pod_container_port_number`]: '9000', [`${K}pod_container_port_name`]: 'testport0', [`${K}pod_container_port_protocol`]: 'TCP' },
        { __address__: '1.2.3.4:9001', [`${K}pod_container_name`]: 'testcontainer0', [`${K}pod_container_id`]: 'docker://a1b2c3d4e5f6', [`${K}pod_container_image`]: 'testcontainer0:latest', [`${K}pod_container_init`]: 'false', [`${K}pod_container_port_number`]: '9001', [`${K}pod_container_port_name`]: 'testport1', [`${K}pod_container_port_protocol`]: 'UDP' },
        { __address__: '1.2.3.4', [`${K}pod_container_name`]: 'testcontainer1', [`${K}pod_container_id`]: 'containerd://6a5b4c3d2e1f', [`${K}pod_container_image`]: 'testcontainer1:latest', [`${K}pod_container_init`]: 'false' },
      ],
      labels: {
        [`${K}pod_name`]: 'testpod',
        [`${K}namespace`]: 'default',
        [`${K}pod_label_test_label`]: 'testvalue',
        [`${K}pod_labelpresent_test_label`]: 'true',
        [`${K}pod_annotation_test_annotation`]: 'testannotationvalue',
        [`${K}pod_annotationpresent_test_annotation`]: 'true',
        [`${K}pod_node_name`]: 'testnode',
        [`${K}pod_ip`]: '1.2.3.4',
        [`${K}pod_host_ip`]: '2.3.4.5',
        [`${K}pod_ready`]: 'true',
        [`${K}pod_phase`]: 'Running',
        [`${K}pod_uid`]: 'abc123',
        [`${K}pod_controller_kind`]: 'testcontrollerkind',
        [`${K}pod_controller_name`]: 'testcontrollername',
      },
    });
  });

  it('TestPodDiscoveryInitContainer: a pending pod with an init container (marked init, its own container id)', () => {
    const pod: Pod = {
      metadata: { name: 'testpod', namespace: 'default', uid: 'abc123' },
      spec: {
        nodeName: 'testnode',
        containers: [{ name: 'testcontainer', image: 'testcontainer:latest', ports: [{ name: 'testport', protocol: 'TCP', containerPort: 9000 }] }],
        initContainers: [{ name: 'initcontainer', image: 'initcontainer:latest' }],
      },
      status: {
        podIP: '1.2.3.4',
        hostIP: '2.3.4.5',
        phase: 'Pending',
        conditions: [{ type: 'Ready', status: 'False' }],
        containerStatuses: [{ name: 'testcontainer', containerID: 'docker://a1b2c3d4e5f6' }],
        initContainerStatuses: [{ name: 'initcontainer', containerID: 'containerd://6a5b4c3d2e1f' }],
      },
    };
    const g = buildPod(pod);
    expect(g.labels[`${K}pod_ready`]).toBe('false');
    expect(g.labels[`${K}pod_phase`]).toBe('Pending');
    expect(g.targets).toStrictEqual([
      { __address__: '1.2.3.4:9000', [`${K}pod_container_name`]: 'testcontainer', [`${K}pod_container_id`]: 'docker://a1b2c3d4e5f6', [`${K}pod_container_image`]: 'testcontainer:latest', [`${K}pod_container_init`]: 'false', [`${K}pod_container_port_number`]: '9000', [`${K}pod_container_port_name`]: 'testport', [`${K}pod_container_port_protocol`]: 'TCP' },
      { __address__: '1.2.3.4', [`${K}pod_container_name`]: 'initcontainer', [`${K}pod_container_id`]: 'containerd://6a5b4c3d2e1f', [`${K}pod_container_image`]: 'initcontainer:latest', [`${K}pod_container_init`]: 'true' },
    ]);
  });

  it('TestPodDiscoveryUpdateEmptyPodIP: a pod without IP has an empty group', () => {
    const pod = makeMultiPortPod();
    expect(buildPod({ ...pod, status: { ...pod.status, podIP: '' } })).toStrictEqual({ source: 'pod/default/testpod', labels: {}, targets: [] });
  });

  it('TestPodDiscoveryWithNodeMetadata: node name, labels and annotations join the group labels', () => {
    const node = makeNode('testnode', '', '', { 'l1': 'v1' }, { 'a.1': 'x' });
    const g = buildPod(makeMultiPortPod(), lookups({ nodes: [node] }, { node: true }));
    expect(g.labels).toMatchObject({ [`${K}node_name`]: 'testnode', [`${K}node_label_l1`]: 'v1', [`${K}node_labelpresent_l1`]: 'true', [`${K}node_annotation_a_1`]: 'x', [`${K}node_annotationpresent_a_1`]: 'true' });
    expect(g.labels[`${K}node_provider_id`]).toBeUndefined();
  });

  it('own: unknown node (attach_metadata.node) adds nothing; not-ready running pod; IPv6 pod IP is bracketed', () => {
    const pod = makeMultiPortPod();
    const v6: Pod = { ...pod, status: { ...pod.status, podIP: 'fd00::5', conditions: [{ type: 'Ready', status: 'False' }] } };
    const g = buildPod(v6, lookups({ nodes: [] }, { node: true }));
    expect(Object.keys(g.labels).some((k) => k.startsWith(`${K}node_`))).toBe(false);
    expect(g.labels[`${K}pod_ready`]).toBe('false');
    expect(g.targets.map((t) => t['__address__'])).toEqual(['[fd00::5]:9000', '[fd00::5]:9001', 'fd00::5']);
  });
});

describe('service role (prometheus: service_test.go)', () => {
  const multiPort: Service = {
    metadata: { name: 'testservice', namespace: 'default', labels: { 'test-label': 'testvalue' }, annotations: { 'test-annotation': 'testannotationvalue' } },
    spec: { ports: [{ name: 'testport0', protocol: 'TCP', port: 30900 }, { name: 'testport1', protocol: 'UDP', port: 30901 }], type: 'ClusterIP', clusterIP: '10.0.0.1' },
  };
  const svcLabels = {
    [`${K}service_name`]: 'testservice',
    [`${K}namespace`]: 'default',
    [`${K}service_label_test_label`]: 'testvalue',
    [`${K}service_labelpresent_test_label`]: 'true',
    [`${K}service_annotation_test_annotation`]: 'testannotationvalue',
    [`${K}service_annotationpresent_test_annotation`]: 'true',
  };

  it('TestServiceDiscoveryAdd (multi-port ClusterIP): one target per port at the service DNS name', () => {
    expect(buildService(multiPort)).toStrictEqual({
      source: 'svc/default/testservice',
      labels: svcLabels,
      targets: [
        { __address__: 'testservice.default.svc:30900', [`${K}service_port_name`]: 'testport0', [`${K}service_port_number`]: '30900', [`${K}service_port_protocol`]: 'TCP', [`${K}service_type`]: 'ClusterIP', [`${K}service_cluster_ip`]: '10.0.0.1' },
        { __address__: 'testservice.default.svc:30901', [`${K}service_port_name`]: 'testport1', [`${K}service_port_number`]: '30901', [`${K}service_port_protocol`]: 'UDP', [`${K}service_type`]: 'ClusterIP', [`${K}service_cluster_ip`]: '10.0.0.1' },
      ],
    });
  });

  it('ExternalName and LoadBalancer services', () => {
    const ext: Service = { metadata: { name: 'testservice-external', namespace: 'default' }, spec: { ports: [{ name: 'testport', protocol: 'TCP', port: 31900 }], type: 'ExternalName', externalName: 'FooExternalName' } };
    expect(buildService(ext).targets).toStrictEqual([
      { __address__: 'testservice-external.default.svc:31900', [`${K}service_port_name`]: 'testport', [`${K}service_port_number`]: '31900', [`${K}service_port_protocol`]: 'TCP', [`${K}service_type`]: 'ExternalName', [`${K}service_external_name`]: 'FooExternalName' },
    ]);
    const lb: Service = { metadata: { name: 'testservice-loadbalancer', namespace: 'default' }, spec: { ports: [{ name: 'testport', protocol: 'TCP', port: 31900 }], type: 'LoadBalancer', loadBalancerIP: '127.0.0.1', clusterIP: '10.0.0.1' } };
    expect(buildService(lb).targets).toStrictEqual([
      { __address__: 'testservice-loadbalancer.default.svc:31900', [`${K}service_port_name`]: 'testport', [`${K}service_port_number`]: '31900', [`${K}service_port_protocol`]: 'TCP', [`${K}service_type`]: 'LoadBalancer', [`${K}service_cluster_ip`]: '10.0.0.1', [`${K}service_loadbalancer_ip`]: '127.0.0.1' },
    ]);
  });
});

function makeEndpointSlice(): EndpointSlice {
  return {
    metadata: { name: 'testendpoints', namespace: 'default', labels: { 'kubernetes.io/service-name': 'testendpoints' }, annotations: { 'test.annotation': 'test' } },
    addressType: 'IPv4',
    ports: [{ name: 'testport', port: 9000, protocol: 'TCP', appProtocol: 'http' }],
    endpoints: [
      { addresses: ['1.2.3.4'], conditions: { ready: true, serving: true, terminating: false }, hostname: 'testendpoint1', targetRef: {}, nodeName: 'foobar', deprecatedTopology: { topology: 'value' }, zone: 'us-east-1a' },
      { addresses: ['2.3.4.5'], conditions: { ready: true, serving: true, terminating: false }, zone: 'us-east-1b' },
      { addresses: ['3.4.5.6'], conditions: { ready: false, serving: true, terminating: true }, zone: 'us-east-1c' },
      { addresses: ['4.5.6.7'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Node', name: 'barbaz' }, zone: 'us-east-1a' },
    ],
  };
}

const portLabels = { [`${K}endpointslice_port`]: '9000', [`${K}endpointslice_port_app_protocol`]: 'http', [`${K}endpointslice_port_name`]: 'testport', [`${K}endpointslice_port_protocol`]: 'TCP' };
const cond = (ready: boolean, serving: boolean, terminating: boolean) => ({
  [`${K}endpointslice_endpoint_conditions_ready`]: String(ready),
  [`${K}endpointslice_endpoint_conditions_serving`]: String(serving),
  [`${K}endpointslice_endpoint_conditions_terminating`]: String(terminating),
});
const sliceTargets = [
  {
    __address__: '1.2.3.4:9000',
    [`${K}endpointslice_address_target_kind`]: '',
    [`${K}endpointslice_address_target_name`]: '',
    ...cond(true, true, false),
    [`${K}endpointslice_endpoint_hostname`]: 'testendpoint1',
    [`${K}endpointslice_endpoint_node_name`]: 'foobar',
    [`${K}endpointslice_endpoint_topology_present_topology`]: 'true',
    [`${K}endpointslice_endpoint_topology_topology`]: 'value',
    [`${K}endpointslice_endpoint_zone`]: 'us-east-1a',
    ...portLabels,
  },
  { __address__: '2.3.4.5:9000', ...cond(true, true, false), [`${K}endpointslice_endpoint_zone`]: 'us-east-1b', ...portLabels },
  { __address__: '3.4.5.6:9000', ...cond(false, true, true), [`${K}endpointslice_endpoint_zone`]: 'us-east-1c', ...portLabels },
  { __address__: '4.5.6.7:9000', [`${K}endpointslice_address_target_kind`]: 'Node', [`${K}endpointslice_address_target_name`]: 'barbaz', ...cond(true, true, false), [`${K}endpointslice_endpoint_zone`]: 'us-east-1a', ...portLabels },
];
const sliceLabels = {
  [`${K}endpointslice_address_type`]: 'IPv4',
  [`${K}namespace`]: 'default',
  [`${K}endpointslice_name`]: 'testendpoints',
  [`${K}endpointslice_label_kubernetes_io_service_name`]: 'testendpoints',
  [`${K}endpointslice_labelpresent_kubernetes_io_service_name`]: 'true',
  [`${K}endpointslice_annotation_test_annotation`]: 'test',
  [`${K}endpointslice_annotationpresent_test_annotation`]: 'true',
};

describe('endpointslice role (prometheus: endpointslice_test.go)', () => {
  it('TestEndpointSliceDiscoveryBeforeRun: conditions, zone, hostname, topology, app protocol', () => {
    expect(buildEndpointSlice(makeEndpointSlice())).toStrictEqual({ source: 'endpointslice/default/testendpoints', labels: sliceLabels, targets: sliceTargets });
  });

  it('TestEndpointSliceDiscoveryWithService: the service named by kubernetes.io/service-name adds its labels', () => {
    const svc: Service = { metadata: { name: 'testendpoints', namespace: 'default', labels: { 'app/name': 'test' } } };
    expect(buildEndpointSlice(makeEndpointSlice(), lookups({ services: [svc] })).labels).toStrictEqual({
      ...sliceLabels,
      [`${K}service_label_app_name`]: 'test',
      [`${K}service_labelpresent_app_name`]: 'true',
      [`${K}service_name`]: 'testendpoints',
    });
  });

  it('TestEndpointSliceDiscoveryWithNodeMetadata: node of nodeName, else of a Node target ref', () => {
    const nodes = [makeNode('foobar', '', '', { az: 'us-east1' }), makeNode('barbaz', '', '', { az: 'us-west2' })];
    const g = buildEndpointSlice(makeEndpointSlice(), lookups({ nodes }, { node: true }));
    expect(g.targets[0]).toStrictEqual({ ...sliceTargets[0], [`${K}node_label_az`]: 'us-east1', [`${K}node_labelpresent_az`]: 'true', [`${K}node_name`]: 'foobar' });
    expect(g.targets[3]).toStrictEqual({ ...sliceTargets[3], [`${K}node_label_az`]: 'us-west2', [`${K}node_labelpresent_az`]: 'true', [`${K}node_name`]: 'barbaz' });
    expect(g.targets[1]).toStrictEqual(sliceTargets[1]);
  });

  it('own: pod-backed endpoints with an init container port, uncovered ports, and a dual-stack pair without duplicates', () => {
    const pod: Pod = {
      metadata: { name: 'p', namespace: 'default', uid: 'u1' },
      spec: {
        nodeName: 'n1',
        containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'admin', containerPort: 9090, protocol: 'TCP' }] }],
        initContainers: [{ name: 'proxy', image: 'envoy:1', ports: [{ name: 'proxy', containerPort: 15000, protocol: 'TCP' }] }],
      },
      status: { podIP: '10.0.0.7', hostIP: '192.168.0.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
    };
    const slice = (name: string, addressType: string, addr: string): EndpointSlice => ({
      metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'proxy', port: 15000, protocol: 'TCP' }],
      endpoints: [{ addresses: [addr], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'p', namespace: 'default' } }],
    });
    const v4 = buildEndpointSlice(slice('web-v4', 'IPv4', '10.0.0.7'), lookups({ pods: [pod] }));
    const v6 = buildEndpointSlice(slice('web-v6', 'IPv6', 'fd00::7'), lookups({ pods: [pod] }));
    expect(v4.targets.map((t) => [t['__address__'], t[`${K}pod_container_name`], t[`${K}pod_container_init`]])).toEqual([
      ['10.0.0.7:8080', 'app', 'false'],
      ['10.0.0.7:15000', 'proxy', 'true'],
      ['10.0.0.7:9090', 'app', 'false'],
    ]);
    // The IPv6 slice covers the same pod: its endpoint ports are targets, the uncovered 9090 is not repeated.
    expect(v6.targets.map((t) => t['__address__'])).toEqual(['[fd00::7]:8080', '[fd00::7]:15000']);
    expect(flatten([v4, v6]).filter((t) => t['__address__']!.endsWith(':9090'))).toHaveLength(1);
  });
});

describe('ingress role (prometheus: ingress_test.go)', () => {
  type Tls = 'no' | 'yes' | 'mixed' | 'wildcard';
  const makeIngress = (tls: Tls): Ingress => ({
    metadata: { name: 'testingress', namespace: 'default', labels: { 'test/label': 'testvalue' }, annotations: { 'test/annotation': 'testannotationvalue' } },
    spec: {
      ingressClassName: 'testclass',
      ...(tls === 'yes' ? { tls: [{ hosts: ['example.com', 'test.example.com'] }] } : tls === 'mixed' ? { tls: [{ hosts: ['example.com'] }] } : tls === 'wildcard' ? { tls: [{ hosts: ['*.example.com'] }] } : {}),
      rules: [
        { host: 'example.com', http: { paths: [{ path: '/' }, { path: '/foo' }] } },
        { host: 'test.example.com', http: { paths: [{}] } },
        { host: 'nohttp.example.com' },
      ],
    },
  });
  const t = (scheme: string, host: string, path: string) => ({ __address__: host, [`${K}ingress_scheme`]: scheme, [`${K}ingress_host`]: host, [`${K}ingress_path`]: path });
  it.each([
    ['no', 'http', 'http', 'http'],
    ['yes', 'https', 'https', 'http'],
    ['mixed', 'https', 'http', 'http'],
    ['wildcard', 'http', 'https', 'https'],
  ] as const)('TLS %s: scheme per rule host, "/" for empty or missing paths', (tls, s1, s2, s3) => {
    expect(buildIngress(makeIngress(tls))).toStrictEqual({
      source: 'ingress/default/testingress',
      labels: {
        [`${K}ingress_name`]: 'testingress',
        [`${K}namespace`]: 'default',
        [`${K}ingress_label_test_label`]: 'testvalue',
        [`${K}ingress_labelpresent_test_label`]: 'true',
        [`${K}ingress_annotation_test_annotation`]: 'testannotationvalue',
        [`${K}ingress_annotationpresent_test_annotation`]: 'true',
        [`${K}ingress_class_name`]: 'testclass',
      },
      targets: [t(s1, 'example.com', '/'), t(s1, 'example.com', '/foo'), t(s2, 'test.example.com', '/'), t(s3, 'nohttp.example.com', '/')],
    });
  });
  it('matches wildcard TLS hosts one label deep only', () => {
    expect(matchesHostnamePattern('*.example.com', 'a.example.com')).toBe(true);
    expect(matchesHostnamePattern('*.example.com', 'a.b.example.com')).toBe(false);
    expect(matchesHostnamePattern('*.example.com', 'example.com')).toBe(false);
  });
});

describe('node role (prometheus: node_test.go)', () => {
  it('TestNodeDiscoveryBeforeStart: kubelet port on the InternalIP, instance = node name', () => {
    expect(buildNode(makeNode('test', '1.2.3.4', 'aws:///nodeprovider', { 'test-label': 'testvalue' }, { 'test-annotation': 'testannotationvalue' }))).toStrictEqual({
      source: 'node/test',
      targets: [{ __address__: '1.2.3.4:10250', instance: 'test', [`${K}node_address_InternalIP`]: '1.2.3.4' }],
      labels: {
        [`${K}node_name`]: 'test',
        [`${K}node_provider_id`]: 'aws:///nodeprovider',
        [`${K}node_label_test_label`]: 'testvalue',
        [`${K}node_labelpresent_test_label`]: 'true',
        [`${K}node_annotation_test_annotation`]: 'testannotationvalue',
        [`${K}node_annotationpresent_test_annotation`]: 'true',
      },
    });
  });

  it('own: several address types — address priority, first address of each type, no address → no group', () => {
    const node: Node = {
      metadata: { name: 'n1' },
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1.local' },
          { type: 'ExternalIP', address: '203.0.113.5' },
          { type: 'InternalDNS', address: 'n1.internal' },
          { type: 'ExternalIP', address: '203.0.113.6' },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      },
    };
    expect(buildNode(node)!.targets).toStrictEqual([
      { __address__: 'n1.internal:10250', instance: 'n1', [`${K}node_address_Hostname`]: 'n1.local', [`${K}node_address_ExternalIP`]: '203.0.113.5', [`${K}node_address_InternalDNS`]: 'n1.internal' },
    ]);
    expect(buildNode({ metadata: { name: 'n2' }, status: { addresses: [{ type: 'InternalIP', address: 'fd00::2' }], daemonEndpoints: { kubeletEndpoint: { Port: 10250 } } } })!.targets[0]!['__address__']).toBe('[fd00::2]:10250');
    expect(buildNode({ metadata: { name: 'n3' }, status: {} })).toBeUndefined();
  });
});

describe('export form (exportTargets, what the component publishes)', () => {
  const groupOf = (role: TargetRole, obj: KubeObject, lk: Lookups): TargetGroup | undefined => {
    switch (role) {
      case 'pod':
        return buildPod(obj as Pod, lk);
      case 'service':
        return buildService(obj as Service, lk);
      case 'endpoints':
        return buildEndpoints(obj as Endpoints, lk);
      case 'endpointslice':
        return buildEndpointSlice(obj as EndpointSlice, lk);
      case 'ingress':
        return buildIngress(obj as Ingress, lk);
      case 'node':
        return buildNode(obj as Node);
    }
  };
  const svc: Service = { metadata: { name: 'testendpoints', namespace: 'default', labels: { 'app/name': 'test' } } };
  const nodes = [makeNode('foobar', '', '', { az: 'us-east1' }), makeNode('barbaz', '', '', { az: 'us-west2' }), makeNode('testnode', '', '', { l: 'v' }, { 'a.1': 'x' })];
  const namespaces = [{ metadata: { name: 'default', labels: { env: 'prod' }, annotations: { owner: 'team' } } }];
  const backing: Pod = {
    metadata: { name: 'p', namespace: 'default', uid: 'u1', labels: { app: 'web' } },
    spec: {
      nodeName: 'foobar',
      containers: [{ name: 'app', image: 'app:1', ports: [{ name: 'http', containerPort: 9000, protocol: 'TCP' }, { name: 'admin', containerPort: 9090, protocol: 'UDP' }] }],
      initContainers: [{ name: 'proxy', image: 'envoy:1', ports: [{ name: 'proxy', containerPort: 15000, protocol: 'TCP' }] }],
    },
    status: { podIP: '1.2.3.4', hostIP: '192.168.0.1', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
  const podRef = { kind: 'Pod', name: 'p', namespace: 'default' };
  const all = lookups({ services: [svc], pods: [backing], nodes, namespaces }, { node: true, namespace: true });
  const cases: Array<[string, TargetRole, KubeObject, Lookups]> = [
    ['pod', 'pod', makeMultiPortPod(), {}],
    ['pod with node and namespace metadata', 'pod', makeMultiPortPod(), all],
    ['endpoints', 'endpoints', makeEndpoints(), {}],
    ['endpoints with service, nodes, namespace', 'endpoints', makeEndpoints(), all],
    ['pod-backed endpoints', 'endpoints', { metadata: { name: 'testendpoints', namespace: 'default' }, subsets: [{ addresses: [{ ip: '1.2.3.4', targetRef: podRef }], notReadyAddresses: [{ ip: '1.2.3.4', targetRef: podRef }], ports: [{ name: 'web', port: 9000, protocol: 'UDP' }, { port: 15000 }] }] } as Endpoints, all],
    ['endpointslice', 'endpointslice', makeEndpointSlice(), {}],
    ['endpointslice with service, nodes, namespace', 'endpointslice', makeEndpointSlice(), all],
    ['pod-backed endpointslice', 'endpointslice', { ...makeEndpointSlice(), endpoints: [{ addresses: ['1.2.3.4'], conditions: { ready: true }, targetRef: podRef }, { addresses: ['1.2.3.4'], targetRef: podRef, nodeName: 'barbaz' }], ports: [{ name: 'http', port: 9000, protocol: 'TCP' }, {}] } as EndpointSlice, all],
    ['service', 'service', { metadata: { name: 's', namespace: 'default', labels: { a: 'b' } }, spec: { type: 'LoadBalancer', clusterIP: '10.0.0.1', loadBalancerIP: '5.6.7.8', ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }] } } as Service, all],
    ['ingress', 'ingress', { metadata: { name: 'i', namespace: 'default' }, spec: { ingressClassName: 'c', tls: [{ hosts: ['*.example.com'] }], rules: [{ host: 'a.example.com', http: { paths: [{ path: '/x' }, {}] } }, { host: 'b.other' }] } } as Ingress, all],
    ['node', 'node', makeNode('test', '1.2.3.4', 'aws:///x', { 'test-label': 'v' }, { 'a.b': 'c' }), {}],
  ];

  it.each(cases)('%s: the group form merged with { ...labels, ...target }, key order included', (_name, role, obj, lk) => {
    const g = groupOf(role, obj, lk)!;
    expect(g.targets.length).toBeGreaterThan(0);
    const want = g.targets.map((t) => Object.entries({ ...g.labels, ...t }));
    expect(exportTargets(role, obj, lk)!.map((t) => Object.entries(t))).toStrictEqual(want);
    // A second object of the same shape reuses the cached template and still gets its own values.
    expect(exportTargets(role, obj, lk)!.map((t) => Object.entries(t))).toStrictEqual(want);
  });

  it('pod-backed endpoint targets carry the pod labels and the matching container port (init included); uncovered ports follow', () => {
    const out = exportTargets('endpointslice', cases[7]![2], all)!;
    expect(out.map((t) => [t['__address__'], t[`${K}pod_container_name`], t[`${K}pod_container_port_protocol`], t[`${K}pod_label_app`], t[`${K}node_name`]])).toStrictEqual([
      ['1.2.3.4:9000', 'app', 'TCP', 'web', undefined],
      ['1.2.3.4', undefined, undefined, 'web', undefined],
      ['1.2.3.4:9000', 'app', 'TCP', 'web', 'barbaz'],
      ['1.2.3.4', undefined, undefined, 'web', 'barbaz'],
      ['1.2.3.4:9090', 'app', 'UDP', 'web', undefined],
      ['1.2.3.4:15000', 'proxy', 'TCP', 'web', undefined],
    ]);
    // The endpoints role takes the endpoint port's protocol for the matched container port.
    const eps = exportTargets('endpoints', cases[4]![2], all)!;
    expect(eps.map((t) => [t['__address__'], t[`${K}endpoint_ready`], t[`${K}pod_container_name`], t[`${K}pod_container_init`], t[`${K}pod_container_port_protocol`]])).toStrictEqual([
      ['1.2.3.4:9000', 'true', 'app', 'false', 'UDP'],
      ['1.2.3.4:9000', 'false', 'app', 'false', 'UDP'],
      ['1.2.3.4:15000', 'true', 'proxy', 'true', ''],
      ['1.2.3.4:15000', 'false', 'proxy', 'true', ''],
      ['1.2.3.4:9090', undefined, 'app', 'false', 'UDP'],
    ]);
  });

  it('a node without a known address type has no group', () => {
    expect(exportTargets('node', { metadata: { name: 'n3' }, status: { addresses: [{ type: 'Weird', address: 'x' }] } } as Node)).toBeUndefined();
  });

  it('reads related objects per object: a replaced pod or node object gives its new labels', () => {
    const slice = cases[7]![2];
    const before = exportTargets('endpointslice', slice, all)!;
    const pod2: Pod = { ...backing, metadata: { ...backing.metadata, labels: { app: 'api' } } };
    const node2 = makeNode('barbaz', '', '', { az: 'eu-1' });
    const after = exportTargets('endpointslice', slice, lookups({ services: [svc], pods: [pod2], nodes: [nodes[0]!, node2] }, { node: true }))!;
    expect(before[2]![`${K}pod_label_app`]).toBe('web');
    expect(after[2]![`${K}pod_label_app`]).toBe('api');
    expect(before[2]![`${K}node_label_az`]).toBe('us-west2');
    expect(after[2]![`${K}node_label_az`]).toBe('eu-1');
  });

  it('label keys that sanitize to one name: the first position, the last value (as a keyed store does)', () => {
    const pod: Pod = { ...makeMultiPortPod(), metadata: { ...makeMultiPortPod().metadata, labels: { 'a.b': '1', z: 'z', a_b: '2' } } };
    const g = buildPod(pod);
    const keys = Object.keys(g.labels).filter((k) => k.startsWith(`${K}pod_label`));
    expect(keys).toStrictEqual([`${K}pod_label_a_b`, `${K}pod_labelpresent_a_b`, `${K}pod_label_z`, `${K}pod_labelpresent_z`]);
    expect(g.labels[`${K}pod_label_a_b`]).toBe('2');
    expect(exportTargets('pod', pod)!.map((t) => Object.entries(t))).toStrictEqual(g.targets.map((t) => Object.entries({ ...g.labels, ...t })));
  });
});

describe('flatten', () => {
  it('merges group labels under target labels', () => {
    expect(flatten([{ source: 's', labels: { a: '1', b: '1' }, targets: [{ b: '2' }] }])).toEqual([{ a: '1', b: '2' }]);
  });

  it('orders keys as { ...labels, ...target } does, for every target shape, and gives independent objects', () => {
    const groups: TargetGroup[] = [
      { source: 'g1', labels: { z: 'g', b: 'g', a: 'g' }, targets: [{ a: 't1', c: 't1' }, { c: 't2', d: 't2' }, { a: 't3', c: 't3' }] },
      { source: 'g2', labels: { b: 'h', z: 'h' }, targets: [{ a: 'u1', c: 'u1' }] },
      { source: 'g3', labels: {}, targets: [] },
      { source: 'g4', labels: { x: '1' }, targets: [{}] },
    ];
    const want = groups.flatMap((g) => g.targets.map((t) => ({ ...g.labels, ...t })));
    const got = flatten(groups);
    expect(got.map((t) => Object.entries(t))).toStrictEqual(want.map((t) => Object.entries(t)));
    // A second pass reuses the cached shapes and gives the same result.
    expect(flatten(groups).map((t) => Object.entries(t))).toStrictEqual(want.map((t) => Object.entries(t)));
    got[0]!['a'] = 'changed';
    expect(got[2]!['a']).toBe('t3');
    expect(flatten(groups)[0]!['a']).toBe('t1');
  });

  it('stays correct when the shape cache is cleared (more than 20,000 cached names)', () => {
    const wide = Object.fromEntries(Array.from({ length: 20_001 }, (_, i) => [`k${i}`, String(i)]));
    const [w] = flatten([{ source: 'w', labels: wide, targets: [{ a: '1' }] }]);
    expect(Object.keys(w!)).toHaveLength(20_002);
    const g: TargetGroup = { source: 's', labels: { b: 'g', a: 'g' }, targets: [{ a: 't', c: 't' }] };
    expect(Object.entries(flatten([g])[0]!)).toStrictEqual([['b', 'g'], ['a', 't'], ['c', 't']]);
    expect(Object.entries(flatten([g])[0]!)).toStrictEqual([['b', 'g'], ['a', 't'], ['c', 't']]);
  });

  it('keeps a __proto__ label as data', () => {
    const labels = JSON.parse('{"__proto__": "p", "a": "1"}') as Record<string, string>;
    const [t] = flatten([{ source: 's', labels, targets: [{ b: '2' }] }]);
    expect(Object.keys(t!)).toStrictEqual(['__proto__', 'a', 'b']);
    expect(Object.getPrototypeOf(t)).toBe(Object.prototype);
  });
});

describe('pruneForDiscovery', () => {
  it('keeps every field the builders read (same groups), drops the rest', () => {
    const pod = { ...makeMultiPortPod(), metadata: { ...makeMultiPortPod().metadata, managedFields: [{ manager: 'kubelet' }] }, spec: { ...makeMultiPortPod().spec, volumes: [{ name: 'v' }] } } as unknown as Pod;
    const node = { ...makeNode('test', '1.2.3.4', 'p', { a: 'b' }), status: { ...makeNode('test', '1.2.3.4', 'p').status, images: [{ names: ['x'] }] } } as unknown as Node;
    const ns = { metadata: { name: 'default', labels: { t: 'x' } } };
    const lk = lookups({ pods: [pruneForDiscovery('pod', pod)], nodes: [pruneForDiscovery('node', makeNode('testnode', '', '', { l: 'v' }))], namespaces: [pruneForDiscovery('namespace', ns)] }, { node: true, namespace: true });
    const lkFull = lookups({ pods: [pod], nodes: [makeNode('testnode', '', '', { l: 'v' })], namespaces: [ns] }, { node: true, namespace: true });
    expect(buildPod(pruneForDiscovery('pod', pod), lk)).toStrictEqual(buildPod(pod, lkFull));
    expect(JSON.stringify(pruneForDiscovery('pod', pod))).not.toMatch(/managedFields|volumes/);
    expect(buildNode(pruneForDiscovery('node', node))).toStrictEqual(buildNode(node));
    expect(JSON.stringify(pruneForDiscovery('node', node))).not.toMatch(/images/);
    expect(buildEndpointSlice(pruneForDiscovery('endpointslice', makeEndpointSlice()), lk)).toStrictEqual(buildEndpointSlice(makeEndpointSlice(), lkFull));
    expect(buildEndpoints(pruneForDiscovery('endpoints', makeEndpoints()), lk)).toStrictEqual(buildEndpoints(makeEndpoints(), lkFull));
    const svc: Service = { metadata: { name: 's', namespace: 'default' }, spec: { type: 'LoadBalancer', clusterIP: '1.1.1.1', loadBalancerIP: '2.2.2.2', ports: [{ port: 80 }] } };
    expect(buildService(pruneForDiscovery('service', svc))).toStrictEqual(buildService(svc));
    const ing: Ingress = { metadata: { name: 'i', namespace: 'default' }, spec: { ingressClassName: 'c', tls: [{ hosts: ['a'] }], rules: [{ host: 'a', http: { paths: [{ path: '/x' }] } }] } };
    expect(buildIngress(pruneForDiscovery('ingress', ing))).toStrictEqual(buildIngress(ing));
  });
});
