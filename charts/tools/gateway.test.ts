/**
 * The chart's `gateway` (an NGINX Deployment in front of Alloy): the objects upstream's templates
 * render, the restricted Pod Security defaults, selectors that keep nginx and Alloy pods apart,
 * the Ingress switch, the validations, and the rendered nginx.conf checked by Debian's nginx
 * (`nginx -t`) and served by it against a stand-in for Alloy.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { findObject, helmTemplate, helmTemplateOk, parseManifests, REPO_ROOT, type RenderedManifest, rendererAvailable } from '../../tools/helm-template/helm-template.js';
import { checkRestricted } from '../../operator/src/pod-security/restricted.js';
import { validateObject } from './openapi.js';
import { localConf, nginxConf, prepareDir } from './gateway-local.js';

type Json = Record<string, unknown>;

const UPSTREAM = path.join(REPO_ROOT, 'charts/tools/testdata/upstream');

const run = rendererAvailable('gateway tests') ? describe : describe.skip;

function nginxVersion(): [number, number, number] | undefined {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (r.error) {
    if (process.env['CI'] === 'true') throw new Error('nginx is not on PATH: CI checks the gateway config with it');
    return undefined;
  }
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(r.stderr + r.stdout);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}
const NGINX = nginxVersion();
const withNginx = NGINX ? test : test.skip;
/** `http2 on` needs nginx >= 1.25.1; older local nginx checks the config without it. */
const HTTP2_ARGS = NGINX && (NGINX[0] > 1 || NGINX[1] > 25 || (NGINX[1] === 25 && NGINX[2] >= 1)) ? [] : ['--set', 'gateway.nginxConfig.http2=false'];

function render(args: readonly string[]): RenderedManifest[] {
  return parseManifests(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', ...args]));
}

function gatewayObjects(m: readonly RenderedManifest[]): string[] {
  return gateway(m).map((x) => `${String(x.object['kind'])}/${String((x.object['metadata'] as Json)['name'])}`).sort();
}

/** The gateway's objects (all named `<fullname>-gateway`). */
function gateway(m: readonly RenderedManifest[]): RenderedManifest[] {
  return m.filter((x) => (x.object['metadata'] as Json | undefined)?.['name'] === 'alloy-gateway');
}

function podTemplate(deployment: Json): { metadata: Json; spec: Json } {
  return (deployment['spec'] as Json)['template'] as { metadata: Json; spec: Json };
}

function matches(selector: Json, labels: Json): boolean {
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

function nginxTest(conf: string): { status: number | null; output: string } {
  const dir = prepareDir();
  const file = path.join(dir, 'nginx.conf');
  fs.writeFileSync(file, localConf(conf, dir));
  const r = spawnSync('nginx', ['-t', '-c', file, '-p', dir, '-e', path.join(dir, 'error.log')], { encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

run('chart gateway', () => {
  test('disabled by default: nothing of the gateway is rendered and the Ingress routes to Alloy', () => {
    const m = render(['--set', 'ingress.enabled=true']);
    expect(gatewayObjects(m)).toStrictEqual([]);
    const backend = (((findObject(m, 'Ingress', 'alloy')['spec'] as Json)['rules'] as Json[])[0]!['http'] as { paths: Json[] }).paths[0]!['backend'];
    expect(backend).toStrictEqual({ service: { name: 'alloy', port: { number: 12347 } } });
  });

  test('enabled with defaults: ConfigMap, Deployment and Service, restricted, schema-valid, selecting only nginx pods', async () => {
    const m = render(['--set', 'gateway.enabled=true']);
    expect(gatewayObjects(m)).toStrictEqual(['ConfigMap/alloy-gateway', 'Deployment/alloy-gateway', 'Service/alloy-gateway']);
    const deployment = findObject(m, 'Deployment', 'alloy-gateway');
    expect(checkRestricted([deployment])).toStrictEqual([]);
    const tpl = podTemplate(deployment);
    const nginx = (tpl.spec['containers'] as Json[])[0]!;
    expect(nginx).toMatchObject({
      name: 'nginx',
      image: 'docker.io/nginxinc/nginx-unprivileged:1.29-alpine',
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      livenessProbe: { httpGet: { path: '/health', port: 'http' } },
      readinessProbe: { httpGet: { path: '/health', port: 'http' } },
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    });
    expect(tpl.spec['securityContext']).toStrictEqual({ runAsNonRoot: true, runAsUser: 101, runAsGroup: 101, fsGroup: 101, seccompProfile: { type: 'RuntimeDefault' } });
    expect((deployment['spec'] as Json)['replicas']).toBe(2);
    expect((tpl.metadata['annotations'] as Json)['checksum/config']).toMatch(/^[0-9a-f]{64}$/);

    const gatewayPodLabels = tpl.metadata['labels'] as Json;
    const alloyPodLabels = podTemplate(findObject(m, 'DaemonSet', 'alloy')).metadata['labels'] as Json;
    const gatewaySelector = (findObject(m, 'Service', 'alloy-gateway')['spec'] as Json)['selector'] as Json;
    const alloySelector = (findObject(m, 'Service', 'alloy')['spec'] as Json)['selector'] as Json;
    expect(matches(gatewaySelector, gatewayPodLabels)).toBe(true);
    expect(matches(gatewaySelector, alloyPodLabels)).toBe(false);
    expect(matches(alloySelector, gatewayPodLabels)).toBe(false);
    expect(matches((deployment['spec'] as { selector: { matchLabels: Json } }).selector.matchLabels, gatewayPodLabels)).toBe(true);

    for (const x of gateway(m)) {
      const result = await validateObject(x.object);
      if (result.checked) expect({ source: x.source, errors: result.errors }).toStrictEqual({ source: x.source, errors: [] });
    }
    const conf = nginxConf(m);
    for (const line of ['listen 8080;', 'http2 on;', 'upstream alloy-otlpGrpc {', 'server alloy.monitoring.svc:4317;', 'location /opentelemetry {', 'grpc_pass grpc://alloy-otlpGrpc;', 'location /loki/api/v1/push {', 'proxy_pass http://alloy-loki;', 'pid /tmp/nginx.pid;']) {
      expect(conf).toContain(line);
    }
    expect(conf).not.toContain('alloy-pyroscope');
    expect(conf).not.toContain('auth_basic_user_file');
  });

  test("upstream's gateway case: TLS, auth, HPA, PDB, ServiceMonitor with its exporter sidecar, and the Ingress to the gateway", async () => {
    const m = render(['-f', path.join(UPSTREAM, 'gateway/values.yaml')]);
    expect(gatewayObjects(m)).toStrictEqual([
      'ConfigMap/alloy-gateway',
      'Deployment/alloy-gateway',
      'HorizontalPodAutoscaler/alloy-gateway',
      'PodDisruptionBudget/alloy-gateway',
      'Service/alloy-gateway',
      'ServiceMonitor/alloy-gateway',
    ]);
    const deployment = findObject(m, 'Deployment', 'alloy-gateway');
    expect((deployment['spec'] as Json)['replicas']).toBeUndefined();
    const spec = podTemplate(deployment).spec;
    const [nginx, exporter] = spec['containers'] as Json[];
    expect(nginx!['ports']).toStrictEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'https', containerPort: 8443, protocol: 'TCP' }]);
    expect(nginx!['resources']).toStrictEqual({ requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } });
    expect((nginx!['volumeMounts'] as Json[]).map((v) => [v['name'], v['mountPath']])).toStrictEqual([['config', '/etc/nginx/nginx.conf'], ['tmp', '/tmp'], ['auth', '/etc/nginx/auth'], ['tls', '/etc/nginx/tls']]);
    expect(exporter).toMatchObject({ name: 'nginx-exporter', args: ['-nginx.scrape-uri=http://localhost:8080/stub_status'], ports: [{ name: 'metrics', containerPort: 9113 }] });
    expect(spec['volumes']).toStrictEqual([
      { name: 'config', configMap: { name: 'alloy-gateway' } },
      { name: 'tmp', emptyDir: {} },
      { name: 'auth', secret: { secretName: 'alloy-gateway-auth' } },
      { name: 'tls', secret: { secretName: 'alloy-gateway-tls' } },
    ]);
    expect(findObject(m, 'HorizontalPodAutoscaler', 'alloy-gateway')['spec']).toStrictEqual({
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'alloy-gateway' },
      minReplicas: 1,
      maxReplicas: 3,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 70 } } },
      ],
    });
    expect((findObject(m, 'PodDisruptionBudget', 'alloy-gateway')['spec'] as Json)['minAvailable']).toBe(1);
    const service = findObject(m, 'Service', 'alloy-gateway');
    expect(((service['spec'] as Json)['ports'] as Json[]).map((p) => [p['name'], p['port'], p['targetPort']])).toStrictEqual([['http', 8080, 'http'], ['https', 8443, 'https'], ['metrics', 9113, 'metrics']]);
    const monitor = findObject(m, 'ServiceMonitor', 'alloy-gateway');
    expect((monitor['metadata'] as { labels: Json }).labels['prometheus']).toBe('kube-prometheus');
    expect(monitor['spec']).toMatchObject({ endpoints: [{ port: 'metrics', path: '/metrics' }] });
    expect(matches((monitor['spec'] as { selector: { matchLabels: Json } }).selector.matchLabels, (service['metadata'] as { labels: Json }).labels)).toBe(true);
    expect(matches((monitor['spec'] as { selector: { matchLabels: Json } }).selector.matchLabels, (findObject(m, 'Service', 'alloy')['metadata'] as { labels: Json }).labels)).toBe(false);
    const backend = (((findObject(m, 'Ingress', 'alloy')['spec'] as Json)['rules'] as Json[])[0]!['http'] as { paths: Json[] }).paths[0]!['backend'];
    expect(backend).toStrictEqual({ service: { name: 'alloy-gateway', port: { number: 8080 } } });
    const conf = nginxConf(m);
    for (const line of ['listen 8443 ssl;', 'ssl_certificate /etc/nginx/tls/tls.crt;', 'auth_basic "Alloy Gateway";', 'auth_basic_user_file /etc/nginx/auth/auth;', 'client_max_body_size 50m;', 'proxy_read_timeout 120s;', 'access_log off;', 'worker_connections 2048;']) {
      expect(conf).toContain(line);
    }
    for (const x of gateway(m)) {
      const result = await validateObject(x.object);
      if (result.checked) expect({ source: x.source, errors: result.errors }).toStrictEqual({ source: x.source, errors: [] });
    }
  });

  test("upstream's gateway-ingress case: two replicas, ClusterIP, the Ingress with TLS and annotations to the gateway", () => {
    const m = render(['-f', path.join(UPSTREAM, 'gateway-ingress/values.yaml')]);
    expect(gatewayObjects(m)).toStrictEqual(['ConfigMap/alloy-gateway', 'Deployment/alloy-gateway', 'Service/alloy-gateway']);
    expect((findObject(m, 'Deployment', 'alloy-gateway')['spec'] as Json)['replicas']).toBe(2);
    expect((findObject(m, 'Service', 'alloy-gateway')['spec'] as Json)['type']).toBe('ClusterIP');
    const ingress = findObject(m, 'Ingress', 'alloy');
    expect((ingress['metadata'] as { annotations: Json }).annotations).toStrictEqual({ 'cert-manager.io/cluster-issuer': 'letsencrypt-prod' });
    expect(ingress['spec']).toStrictEqual({
      ingressClassName: 'nginx',
      tls: [{ secretName: 'alloy-tls', hosts: ['alloy.example.com'] }],
      rules: [{ host: 'alloy.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'alloy-gateway', port: { number: 8080 } } } }] } }],
    });
  });

  test('values override the defaults key by key; extraConfig replaces a route; the checksum follows the config', () => {
    const m = render(['--set', 'gateway.enabled=true,gateway.podSecurityContext.runAsUser=2000,gateway.containerSecurityContext.readOnlyRootFilesystem=false,gateway.upstreams.loki.extraConfig=return 204;,gateway.nginxConfig.extraServerConfig=location /x { return 200; }']);
    const spec = podTemplate(findObject(m, 'Deployment', 'alloy-gateway')).spec;
    expect(spec['securityContext']).toMatchObject({ runAsUser: 2000, runAsGroup: 101, runAsNonRoot: true });
    expect(((spec['containers'] as Json[])[0]!['securityContext'] as Json)['readOnlyRootFilesystem']).toBe(false);
    const conf = nginxConf(m);
    expect(conf).toMatch(/location \/loki\/api\/v1\/push \{\n\s+return 204;\n\s+\}/);
    expect(conf).not.toContain('proxy_pass http://alloy-loki;');
    expect(conf).toContain('location /x { return 200; }');
    const checksum = (rendered: readonly RenderedManifest[]): unknown => (podTemplate(findObject(rendered, 'Deployment', 'alloy-gateway')).metadata['annotations'] as Json)['checksum/config'];
    expect(checksum(m)).not.toBe(checksum(render(['--set', 'gateway.enabled=true'])));
    const custom = render(['--set', 'gateway.enabled=true,gateway.nginxConfig.file=events {} # {{ .Release.Namespace }}']);
    expect(nginxConf(custom)).toBe('events {} # monitoring');
  });

  test('NOTES.txt lists the gateway routes and how to check it', () => {
    const dumped = JSON.parse(helmTemplateOk(['alloy', 'charts/alloy', '--namespace', 'monitoring', '--dump-rendered', '-f', path.join(UPSTREAM, 'gateway/values.yaml')], { standIn: true })) as Record<string, string>;
    const notes = dumped['alloy/templates/NOTES.txt']!;
    expect(notes).toContain('The NGINX gateway alloy-gateway listens on port 8080 (HTTPS on 8443); the Ingress routes to it. Routes:');
    expect(notes).toContain('  /opentelemetry -> Alloy port 4317 (grpc)');
    expect(notes).toContain('  /loki/api/v1/push -> Alloy port 3100 (http)');
    expect(notes).not.toContain('/push.v1.PusherService/Push');
    expect(notes).toContain('curl http://alloy-gateway.monitoring.svc:8080/health');
  });

  test.each([
    [['gateway.tls.enabled=true'], 'gateway.tls.enabled is true but gateway.tls.secretName is empty'],
    [['gateway.auth.enabled=true'], 'gateway.auth.enabled is true but gateway.auth.existingSecret is empty'],
    [['gateway.tls.enabled=true', 'gateway.tls.secretName=s', 'gateway.tls.port=8080'], 'gateway.tls.port and gateway.port are both 8080'],
    [['gateway.upstreams.bad-name.enabled=true', 'gateway.upstreams.bad-name.path=/x', 'gateway.upstreams.bad-name.targetPort=1'], 'gateway.upstreams.bad-name: the key names an nginx upstream'],
    [['gateway.upstreams.loki.path=loki'], 'gateway.upstreams.loki.path must be a path starting with /'],
    [['gateway.upstreams.custom.enabled=true', 'gateway.upstreams.custom.path=/c'], 'gateway.upstreams.custom.targetPort is empty'],
    [['gateway.upstreams.loki.protocol=tcp'], 'protocol'],
    [['gateway.unknown=1'], 'Additional property unknown is not allowed'],
  ])('%j fails naming the problem', (sets, message) => {
    const r = helmTemplate(['alloy', 'charts/alloy', '--set', ['gateway.enabled=true', ...sets].join(',')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  withNginx.each(['default', 'gateway', 'gateway-ingress'])("Debian's nginx accepts the rendered nginx.conf of the %s values (nginx -t, paths under a temp dir)", (name) => {
    const values = name === 'default' ? ['--set', 'gateway.enabled=true,gateway.nginxConfig.extraHttpConfig=gzip on;'] : ['-f', path.join(UPSTREAM, `${name}/values.yaml`)];
    const r = nginxTest(nginxConf(render([...values, ...HTTP2_ARGS])));
    expect(r.output).toContain('test is successful');
    expect(r.status).toBe(0);
  });

  withNginx('nginx serving the rendered config routes each path to its Alloy port, answers /health, and enforces basic auth', async () => {
    const hits: { port: number; method: string; url: string; body: string; auth: string | undefined }[] = [];
    const standIns = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<http.Server>((resolve) => {
            const s = http.createServer((req, res) => {
              let body = '';
              req.on('data', (c: Buffer) => (body += c.toString()));
              req.on('end', () => {
                hits.push({ port: (s.address() as AddressInfo).port, method: req.method ?? '', url: req.url ?? '', body, auth: req.headers['authorization'] });
                res.writeHead(204).end();
              });
            });
            s.listen(0, '127.0.0.1', () => resolve(s));
          }),
      ),
    );
    const [lokiPort, promPort] = standIns.map((s) => (s.address() as AddressInfo).port) as [number, number];
    const gatewayPort = await new Promise<number>((resolve) => {
      const s = http.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const sets = [
      'gateway.enabled=true',
      `gateway.port=${gatewayPort}`,
      'gateway.auth.enabled=true',
      'gateway.auth.existingSecret=auth',
      'gateway.upstreams.otlpGrpc.enabled=false',
      'gateway.upstreams.otlpHttp.enabled=false',
      `gateway.upstreams.loki.targetPort=${lokiPort}`,
      `gateway.upstreams.prometheus.targetPort=${promPort}`,
    ];
    const dir = prepareDir();
    const file = path.join(dir, 'nginx.conf');
    fs.writeFileSync(file, localConf(nginxConf(render(['--set', sets.join(','), ...HTTP2_ARGS])), dir));
    let nginx: ChildProcess | undefined;
    let stderr = '';
    try {
      nginx = spawn('nginx', ['-c', file, '-p', dir, '-e', path.join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
      nginx.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      const base = `http://127.0.0.1:${gatewayPort}`;
      const deadline = Date.now() + 10_000;
      let health: Response | undefined;
      while (Date.now() < deadline) {
        health = await fetch(`${base}/health`).catch(() => undefined);
        if (health) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const errorLog = fs.existsSync(path.join(dir, 'error.log')) ? fs.readFileSync(path.join(dir, 'error.log'), 'utf8') : '';
      expect({ status: health?.status, stderr, errorLog }).toMatchObject({ status: 200 });
      expect(await health!.text()).toBe('ok\n');

      expect((await fetch(`${base}/loki/api/v1/push`, { method: 'POST', body: 'x' })).status).toBe(401);
      const auth = `Basic ${Buffer.from('user:secret').toString('base64')}`;
      const pushed = await fetch(`${base}/loki/api/v1/push`, { method: 'POST', body: '{"streams":[]}', headers: { authorization: auth } });
      if (pushed.status !== 204) throw new Error(`push answered ${pushed.status}; nginx error log:\n${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      expect((await fetch(`${base}/api/v1/metrics/write?x=1`, { method: 'POST', body: 'samples', headers: { authorization: auth } })).status).toBe(204);
      expect((await fetch(`${base}/elsewhere`, { headers: { authorization: auth } })).status).toBe(404);
      expect(hits).toStrictEqual([
        { port: lokiPort, method: 'POST', url: '/loki/api/v1/push', body: '{"streams":[]}', auth },
        { port: promPort, method: 'POST', url: '/api/v1/metrics/write?x=1', body: 'samples', auth },
      ]);
    } finally {
      nginx?.kill('SIGTERM');
      if (nginx && nginx.exitCode === null) await new Promise((r) => nginx!.once('exit', r));
      await Promise.all(standIns.map((s) => new Promise((r) => s.close(r))));
    }
  }, 30_000);
});
