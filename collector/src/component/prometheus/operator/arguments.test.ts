import { validateConfig } from '../../../runtime/validate.js';
import { defaultRegistry } from '../../registry.js';
import { formatPosition } from '../../../syntax/diag/diag.js';
import { argumentsSchema, labelSelectorString } from './arguments.js';

async function diagnostics(src: string, stabilityLevel?: 'experimental'): Promise<string[]> {
  return (await validateConfig(new Map([['main.alloy', src]]), { registry: defaultRegistry(), ...(stabilityLevel ? { stabilityLevel } : {}) })).map((d) => `${formatPosition(d.start)}: ${d.message}`);
}

const receiver = 'prometheus.remote_write "rw" {\n  endpoint {\n    url = "http://127.0.0.1:9/api/v1/write"\n  }\n}\n';

describe('prometheus.operator.* arguments', () => {
  it.each(['servicemonitors', 'podmonitors', 'probes', 'scrapeconfigs'])('prometheus.operator.%s accepts every documented argument and block', async (name) => {
    expect(
      (await diagnostics(`${receiver}
prometheus.operator.${name} "m" {
  forward_to            = [prometheus.remote_write.rw.receiver]
  namespaces            = ["default", "monitoring"]
  kubernetes_role       = "endpointslice"
  informer_sync_timeout = "30s"
  client {
    api_server   = "https://127.0.0.1:6443"
    bearer_token = "t"
    tls_config {
      insecure_skip_verify = true
    }
  }
  selector {
    match_labels = { release = "prod" }
    match_expression {
      key      = "team"
      operator = "In"
      values   = ["a", "b"]
    }
  }
  clustering {
    enabled = true
  }
  rule {
    target_label = "cluster"
    replacement  = "eu-1"
  }
  scrape {
    default_scrape_interval  = "30s"
    default_scrape_timeout   = "5s"
    default_sample_limit     = 1000
    scrape_native_histograms = false
    honor_metadata           = false
  }
  scrape_class {
    name    = "std"
    default = true
    relabel_rule {
      target_label = "class"
      replacement  = "std"
    }
    metric_relabel_rule {
      source_labels = ["__name__"]
      regex         = "go_.*"
      action        = "drop"
    }
    attach_metadata {
      node = true
    }
  }
}
`, name === 'scrapeconfigs' ? 'experimental' : undefined)),
    ).toEqual([]);
  });

  it('prometheus.operator.scrapeconfigs is experimental, as upstream: refused below --stability.level=experimental', async () => {
    const d = await diagnostics(`prometheus.operator.scrapeconfigs "sc" {\n  forward_to = []\n}\n`);
    expect(d).toHaveLength(1);
    expect(d[0]).toMatch(/^main\.alloy:1:1: .*prometheus\.operator\.scrapeconfigs.*experimental/);
    expect(await diagnostics(`prometheus.operator.scrapeconfigs "sc" {\n  forward_to = []\n  scrape {\n    default_scrape_interval = "0s"\n  }\n}\n`, 'experimental')).toEqual([expect.stringMatching(/^main\.alloy:\d+:\d+: .*default_scrape_interval must be greater than 0/)]);
  });

  it('reports bad input with the argument and its position', async () => {
    const d = (await diagnostics(`${receiver}
prometheus.operator.servicemonitors "m" {
  forward_to      = [prometheus.remote_write.rw.receiver]
  selector {
    match_expression {
      key      = "team"
      operator = "Like"
    }
  }
  rule {
    action = "explode"
  }
}
`)).concat(
      (await diagnostics(`${receiver}
prometheus.operator.podmonitors "p" {
  forward_to      = []
  kubernetes_role = "pod"
  scrape_class {
    name = "a"
    default = true
  }
  scrape_class {
    name = "a"
    default = true
  }
}
`)),
    );
    const all = d.join('\n');
    expect(all).toMatch(/main\.alloy:\d+:\d+: .*only endpoints and endpointslice are supported as kubernetes_role, got "pod"/);
    expect(all).toContain('"Like" is not a valid label selector operator');
    expect(all).toContain('unrecognized action type "explode"');
    expect(all).toContain('found multiple scrape_class blocks with name "a"');
    expect(all).toContain('only one scrape_class may be marked as default');
  });

  it('turns selector into a Kubernetes label selector', () => {
    const a = argumentsSchema.parse({ forward_to: [], selector: { match_labels: { b: '2', a: '1' }, match_expression: [{ key: 'x', operator: 'NotIn', values: ['q', 'p'] }, { key: 'y', operator: 'Exists' }, { key: 'z', operator: 'DoesNotExist' }] } });
    expect(labelSelectorString(a.selector!)).toBe('a=1,b=2,x notin (p,q),y,!z');
    expect(a).toMatchObject({ namespaces: [], kubernetes_role: 'endpoints', informer_sync_timeout: 60_000, clustering: { enabled: false }, scrape: { default_scrape_interval: 60_000, default_scrape_timeout: 10_000 } });
  });
});
