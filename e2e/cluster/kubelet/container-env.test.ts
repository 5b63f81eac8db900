import { containerEnv, expand, mapPaths, EnvError } from './container-env.js';
import { repositoryOf, resolveImage, defaultImageRules, reloaderImageRules } from './image-map.js';
import type { Container, Pod, Secret } from '../harness/k8s-types.js';

describe('$(VAR) expansion', () => {
  const vars: Record<string, string> = { A: 'x', B: 'y' };
  it.each([
    ['$(A)', 'x'],
    ['pre-$(A)-$(B)', 'pre-x-y'],
    ['$$(A)', '$(A)'],
    ['$(UNKNOWN)', '$(UNKNOWN)'],
    ['$(A', '$(A'],
    ['$A', '$A'],
    ['cost $5', 'cost $5'],
    ['$', '$'],
  ])('%s → %s', (input, want) => expect(expand(input, (n) => vars[n])).toBe(want));
});

describe('containerEnv', () => {
  const pod: Pod = { metadata: { name: 'alloy-0', namespace: 'mon', uid: 'u1', labels: { app: 'alloy' } }, spec: { nodeName: 'dev-node', containers: [] } };
  const secret: Secret = { metadata: { name: 's' }, data: { token: Buffer.from('t0k').toString('base64') } };
  const sources = { configMap: (_ns: string, n: string) => (n === 'cm' ? { metadata: { name: 'cm' }, data: { LEVEL: 'info', X: '1' } } : undefined), secret: (_ns: string, n: string) => (n === 's' ? secret : undefined) };
  const ctx = { pod, podIP: '127.0.1.7', hostIP: '127.0.0.1', sources, base: { KUBERNETES_SERVICE_HOST: '127.0.0.1' } };

  it('orders envFrom, env, downward API and key refs; later values see earlier ones', () => {
    const c: Container = {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CM_' }],
      env: [
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'ADDR', value: '$(POD_IP):12345' },
        { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'token' } } },
        { name: 'LVL', valueFrom: { configMapKeyRef: { name: 'cm', key: 'LEVEL' } } },
        { name: 'LATER', value: '$(NOT_YET)' },
        { name: 'NOT_YET', value: 'v' },
      ],
    };
    expect(containerEnv(c, ctx)).toEqual({
      KUBERNETES_SERVICE_HOST: '127.0.0.1', CM_LEVEL: 'info', CM_X: '1', POD_IP: '127.0.1.7', ADDR: '127.0.1.7:12345', NS: 'mon', APP: 'alloy', TOKEN: 't0k', LVL: 'info', LATER: '$(NOT_YET)', NOT_YET: 'v',
    });
  });

  it('fails with CreateContainerConfigError for a missing non-optional source, skips optional ones', () => {
    expect(() => containerEnv({ name: 'c', envFrom: [{ configMapRef: { name: 'nope' } }] }, ctx)).toThrow(EnvError);
    expect(() => containerEnv({ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 's', key: 'missing' } } }] }, ctx)).toThrow(/couldn't find key missing in Secret mon\/s/);
    expect(containerEnv({ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k', optional: true } } }] }, ctx)).not.toHaveProperty('X');
  });
});

describe('path mapping and images', () => {
  const map = [['/etc/alloy', '/h/config'], ['/var/lib/alloy', '/h/rootfs/var/lib/alloy'], ['/var/lib/alloy/data', '/h/data']] as const;
  it('rewrites whole-path args and --flag=/path values under mounts (longest prefix), nothing else', () => {
    expect(mapPaths(['run', '/etc/alloy/config.alloy', '--storage.path=/var/lib/alloy/data', '--x=/var/lib/alloy/other', '--server.http.ui-path-prefix=/', 'http://localhost:12345/-/reload', '/etc/alloyx'], map)).toEqual([
      'run', '/h/config/config.alloy', '--storage.path=/h/data', '--x=/h/rootfs/var/lib/alloy/other', '--server.http.ui-path-prefix=/', 'http://localhost:12345/-/reload', '/etc/alloyx',
    ]);
  });

  it.each([
    ['docker.io/alloyts/alloy:v1.2.3', 'alloyts/alloy'],
    ['localhost:5000/alloy@sha256:abc', 'alloy'],
    ['alloy', 'alloy'],
    ['ghcr.io/org/alloy-operator:1', 'org/alloy-operator'],
  ])('repositoryOf(%s) = %s', (image, repo) => expect(repositoryOf(image)).toBe(repo));

  it('maps our image entrypoint and /bin/operator; rejects other images and unknown executables', () => {
    const rules = defaultImageRules('/repo');
    expect(resolveImage(rules, 'docker.io/alloyts/alloy:1', undefined, ['run', 'x'])).toMatchObject({ ok: true, executable: '/repo/bin/alloy', args: ['run', 'x'] });
    expect(resolveImage(rules, 'alloyts/alloy', ['/bin/operator'], ['--x'])).toMatchObject({ ok: true, executable: '/repo/bin/operator', args: ['--x'] });
    expect(resolveImage(rules, 'grafana/grafana:11', undefined, undefined)).toMatchObject({ ok: false, reason: 'ErrImagePull' });
    expect(resolveImage(rules, 'alloyts/alloy', ['/bin/sh', '-c', 'x'], undefined)).toMatchObject({ ok: false, reason: 'RunContainerError' });
  });

  it('runs upstream reloader images as alloy config-reloader with translated flags', () => {
    const rules = reloaderImageRules('/repo');
    expect(resolveImage(rules, 'quay.io/prometheus-operator/prometheus-config-reloader:v0.81.0', undefined, ['--watched-dir=/etc/alloy', '--reload-url=http://localhost:12345/-/reload', '--log-format=json'])).toMatchObject({
      ok: true, executable: '/repo/bin/alloy', args: ['config-reloader', '--volume-dir=/etc/alloy', '--webhook-url=http://localhost:12345/-/reload'],
    });
    expect(resolveImage(rules, 'ghcr.io/jimmidyson/configmap-reload:v0.12.0', undefined, ['--volume-dir', '/etc/alloy', '--webhook-url=http://localhost:12345/-/reload', '--webhook-retries=3'])).toMatchObject({
      ok: true, args: ['config-reloader', '--volume-dir=/etc/alloy', '--webhook-url=http://localhost:12345/-/reload'],
    });
  });
});
