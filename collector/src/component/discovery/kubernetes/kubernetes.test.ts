import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { validateConfig } from '../../../runtime/validate.js';
import { defaultRegistry } from '../../registry.js';
import { formatPosition } from '../../../syntax/diag/diag.js';

async function diagnostics(src: string): Promise<string[]> {
  return (await validateConfig(new Map([['main.alloy', src]]), { registry: defaultRegistry() })).map((d) => `${formatPosition(d.start)}: ${d.message}`);
}

describe('discovery.kubernetes arguments', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8sdisc-args-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accepts every documented argument and block', async () => {
    const kc = path.join(dir, 'kubeconfig');
    fs.writeFileSync(kc, 'current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\nclusters: [{name: k, cluster: {server: "https://127.0.0.1:6443"}}]\nusers: [{name: u, user: {token: t}}]\n');
    expect(
      (await diagnostics(`discovery.kubernetes "pods" {
  role            = "pod"
  kubeconfig_file = ${JSON.stringify(kc)}
  namespaces {
    own_namespace = false
    names         = ["default", "monitoring"]
  }
  selectors {
    role  = "pod"
    label = "app.kubernetes.io/name in (web, api),!canary"
    field = "spec.nodeName=node-1"
  }
  selectors {
    role  = "node"
    label = "topology.kubernetes.io/zone=a"
  }
  attach_metadata {
    node      = true
    namespace = true
  }
}
discovery.kubernetes "api" {
  role              = "endpointslice"
  api_server        = "https://10.0.0.1:6443"
  bearer_token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token"
  tls_config {
    ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
  }
  proxy_url = "http://proxy:3128"
  no_proxy  = "10.0.0.0/8"
}
`)),
    ).toEqual([]);
  });

  it('names the argument and its line for bad input', async () => {
    const out = (await diagnostics(`discovery.kubernetes "a" {
  role = "pods"
}
discovery.kubernetes "b" {
  role = "service"
  selectors {
    role  = "service"
    label = "app in (x"
  }
  selectors {
    role  = "pod"
    field = "spec.nodeName"
  }
}
discovery.kubernetes "c" {
  role            = "node"
  kubeconfig_file = "${dir}/missing"
}
discovery.kubernetes "d" {
  role            = "node"
  kubeconfig_file = "${dir}/missing"
  api_server      = "https://x"
}
`));
    expect(out).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^main.alloy:2:\d+: .*unknown Kubernetes SD role "pods"; use one of node, pod, service, endpoints, endpointslice, ingress/),
        expect.stringMatching(/^main.alloy:8:\d+: .*unable to parse requirement: found 'app in \(x' in label selector/),
        expect.stringMatching(/^main.alloy:11:\d+: .*service role supports only service selectors/),
        expect.stringMatching(/^main.alloy:12:\d+: .*can't understand 'spec.nodeName'/),
        expect.stringMatching(/^main.alloy:17:\d+: .*kubeconfig_file .*missing: cannot read/),
        expect.stringMatching(/cannot use 'kubeconfig_file' and 'api_server' simultaneously/),
      ]),
    );
  });
});
