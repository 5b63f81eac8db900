// Upstream arguments and blocks the collector does not support yet: `alloy validate` (the real
// component registry) gives each one clear "not supported yet" diagnostic at its name, however it
// is written, and upstream blocks it accepts (grpc, the loki.write wal) validate with
// upstream's names instead of crashing the decoder.
import { formatDiagnostics } from '../syntax/index.js';
import { defaultRegistry } from '../component/registry.js';
import { validateConfig } from './validate.js';

async function validate(text: string): Promise<string[]> {
  const sources = new Map([['main.alloy', text]]);
  const diags = (await validateConfig(sources, { registry: defaultRegistry() }));
  return formatDiagnostics(diags, sources)
    .split('\n')
    .filter((l) => /^main\.alloy:\d+:\d+: /.test(l) || /^Error: main\.alloy/.test(l) || /error/.test(l));
}

async function errors(text: string): Promise<string[]> {
  const sources = new Map([['main.alloy', text]]);
  return (await validateConfig(sources, { registry: defaultRegistry() }))
    .filter((d) => d.severity === 'error')
    .map((d) => `${d.start.line}:${d.start.column}: ${d.message}`);
}

const RW = (inner: string): string => `prometheus.remote_write "rw" {
  endpoint {
    url = "http://127.0.0.1:9009/api/v1/push"
${inner}
  }
}
`;

describe('upstream names not supported yet', () => {
  it.each(['oauth2', 'sigv4', 'azuread'])('%s as a block in prometheus.remote_write gets one "not supported yet" error', async (name) => {
    const errs = (await errors(RW(`    ${name} {\n      client_id = "x"\n      region = "eu-west-1"\n    }`)));
    expect(errs).toEqual([`4:5: "${name}" is not supported by this collector yet; use basic_auth, bearer_token, bearer_token_file or authorization`]);
  });

  it('oauth2 written as an attribute gets the same message', async () => {
    expect((await errors(RW('    oauth2 = {}')))).toEqual(['4:5: "oauth2" is not supported by this collector yet; use basic_auth, bearer_token, bearer_token_file or authorization']);
  });

  it('oauth2 and http_headers in loki.write say so once each', async () => {
    const errs = (await errors(`loki.write "lw" {
  endpoint {
    url = "http://127.0.0.1:3100/loki/api/v1/push"
    oauth2 { client_id = "a" }
    http_headers = { "X-A" = ["b"] }
  }
}
`));
    expect(errs).toEqual([
      '4:5: "oauth2" is not supported by this collector yet; use basic_auth, bearer_token, bearer_token_file or authorization',
      '5:5: "http_headers" is not supported by this collector yet; use the endpoint\'s headers attribute',
    ]);
  });

  it('the loki.write wal block validates with upstream names, enabled or not', async () => {
    const base = (wal: string): string => `loki.write "lw" {
  endpoint { url = "http://127.0.0.1:3100/loki/api/v1/push" }
  wal {
${wal}
  }
}
`;
    expect((await errors(base('    enabled = false\n    max_segment_age = "30m"\n    drain_timeout = "5s"')))).toEqual([]);
    expect((await errors(base('    enabled = true')))).toEqual([]);
    expect((await errors(base('    max_segment_age = 5')))).toEqual([expect.stringMatching(/^4:23: wal\.max_segment_age: invalid duration "5"/)]);
  });

  it.each([
    ['loki.source.api', 'forward_to = []'],
    ['prometheus.receive_http', 'forward_to = []'],
  ])('a non-empty grpc block in %s validates with upstream names and types', async (name, extra) => {
    const cfg = (grpc: string): string => `${name} "r" {
  http { listen_port = 0 }
  grpc {
${grpc}
  }
  ${extra}
}
`;
    expect(
      (await errors(
        cfg(
          '    listen_address = "127.0.0.1"\n    listen_port = 9095\n    conn_limit = 10\n    max_connection_age = "5m"\n    max_connection_age_grace = "1m"\n    max_connection_idle = "2m"\n    server_max_recv_msg_size = 4194304\n    server_max_send_msg_size = 4194304\n    server_max_concurrent_streams = 10',
        ),
      )),
    ).toEqual([]);
    expect((await errors(cfg('    listen_port = "x"')))).toEqual([expect.stringMatching(/^4:19: "listen_port" should be number, got string/)]);
    expect((await errors(cfg('    bogus = 1')))).toEqual(['4:5: unrecognized attribute name "bogus"']);
    expect((await errors(cfg('    tls_config {\n      cert_file = "a"\n    }')))).toEqual([
      '4:5: "tls_config" is not supported by this collector yet; terminate TLS at a load balancer or proxy in front of the collector',
    ]);
  });

  it('keeps the formatted output one line per problem', async () => {
    expect((await validate(RW('    sigv4 { region = "x" }'))).filter((l) => /not supported/.test(l))).toHaveLength(1);
  });
});
