#!/usr/bin/env node
// `npm start`: the operator demo on an embedded default. (Re)builds dist/ when it is missing or
// older than the sources, starts the local dev cluster (bin/dev-cluster: API server, controllers
// and a kubelet running pods as local processes), installs the Collector CRD, runs the operator
// (bin/operator) against it and applies examples/collector.yaml (3 clustered collectors scraping
// themselves) unchanged. When prometheus is installed it runs on a free port of 127.0.0.9 (a loopback
// address outside the dev cluster's pod range) with the remote-write receiver, and the example
// writes there (the demo creates the ConfigMap prometheus-endpoint the example reads); without it (or when it cannot start) the demo goes on. Pods get addresses
// 127.N.x.y with the first N whose addresses are free (a second demo does not collide), and the
// dev cluster keeps its state in .local/dev-cluster-state (nothing is left in /tmp). Prints the kubeconfig path and the pods' UI addresses; Ctrl-C stops everything in order.
// `npm start -- --no-cluster`: the plain collector on examples/standalone.alloy (works with nothing
// else running) with the HTTP server (UI, API, /metrics) on 127.0.0.1:12345 (override with
// ALLOY_LISTEN_ADDR); prints the UI addresses once it is ready.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
// The demo's state and logs; ALLOY_DEMO_DIR moves them (the end-to-end test runs the demo in a temp dir).
const local = path.join(process.env.ALLOY_DEMO_DIR ?? path.join(root, '.local'), path.sep);
const localShown = process.env.ALLOY_DEMO_DIR ? local : '.local/';
const noCluster = process.argv.includes('--no-cluster');
const entries = noCluster
  ? ['dist/collector/src/cli/main.js']
  : ['dist/collector/src/cli/main.js', 'dist/operator/src/main.js', 'dist/e2e/cluster/dev-cluster.js'];
const sourceDirs = noCluster ? ['collector/src'] : ['collector/src', 'operator/src', 'e2e/cluster'];

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const built = entries.map((e) => path.join(root, e));
const oldestBuild = Math.min(...built.map((f) => (existsSync(f) ? statSync(f).mtimeMs : 0)));
if (oldestBuild < Math.max(...sourceDirs.map((d) => newestSource(path.join(root, d))))) {
  const first = built.some((f) => !existsSync(f));
  process.stderr.write(
    `${first ? 'first run: compiling' : 'sources changed: recompiling'} the TypeScript sources to dist/ (tsc -p tsconfig.build.json; ` +
      `about ${first ? '1-2 minutes' : 'a minute'} on a small machine, nothing is downloaded) ...\n`,
  );
  const t0 = Date.now();
  const status = await new Promise((resolve) => {
    const tsc = spawn(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
    const tick = setInterval(() => process.stderr.write(`  still compiling (${Math.round((Date.now() - t0) / 1000)} s) ...\n`), 15_000);
    tsc.on('exit', (code) => {
      clearInterval(tick);
      resolve(code ?? 1);
    });
  });
  if (built.some((f) => !existsSync(f))) process.exit(status || 1);
  if (status !== 0) process.stderr.write('build reported type errors (see above); starting with the emitted output anyway\n');
  else process.stderr.write(`compiled in ${Math.round((Date.now() - t0) / 1000)} s\n`);
  // The bundle bin/alloy prefers (as `npm run build` makes it); without it bin/alloy runs dist/, only slower to start.
  const bundled = spawnSync(process.execPath, [path.join(root, 'packaging/bundle.mjs')], { cwd: root, stdio: 'inherit' });
  if (bundled.status !== 0) process.stderr.write('bundling dist/ failed (see above); bin/alloy runs the modules in dist/ instead\n');
}

if (noCluster) {
  const listen = process.env.ALLOY_LISTEN_ADDR ?? '127.0.0.1:12345';
  const config = path.join(root, 'examples/standalone.alloy');
  const args = [path.join(root, 'bin/alloy'), 'run', `--server.http.listen-addr=${listen}`, `--storage.path=${process.env.ALLOY_STORAGE_PATH ?? path.join(root, 'data-alloy')}`, config];
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  // The banner, once the collector answers /-/ready.
  const ui = `http://${listen.startsWith(':') ? `127.0.0.1${listen}` : listen}/`;
  for (let i = 0; i < 150 && child.exitCode === null; i++) {
    const ok = await new Promise((resolve) => {
      http.get(`${ui}-/ready`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
    if (ok) {
      process.stdout.write(
        [
          '',
          `Alloy is running ${path.relative(root, config)} (no Kubernetes, nothing else needed).`,
          `  UI:              ${ui}`,
          `  live samples:    ${ui}debug/prometheus.relabel.tag`,
          `  running config:  ${ui}config  (edit the file, then "Reload configuration")`,
          `  metrics:         ${ui}metrics`,
          '  Ctrl-C stops it. `npm start` without --no-cluster runs the Kubernetes operator demo.',
          '',
        ].join('\n'),
      );
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
} else {
  await demo();
}

async function demo() {
  mkdirSync(local, { recursive: true });
  const children = [];
  let stopping = false;
  const say = (line) => process.stdout.write(`${line}\n`);

  const shutdown = async (code) => {
    if (stopping) return;
    stopping = true;
    say('stopping: operator, dev cluster (and its pods), prometheus ...');
    for (const c of [...children].reverse()) {
      if (c.proc.exitCode !== null || c.proc.signalCode !== null) continue;
      c.proc.kill('SIGTERM');
      await Promise.race([c.exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
      if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
    }
    process.exit(code);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => void shutdown(0));

  /** Spawns a long-running helper; its output goes to .local/<name>.log and to `onLine`. */
  const start = (name, cmd, args, onLine = () => {}, optional = false) => {
    const log = createWriteStream(`${local}${name}.log`);
    // Own process group: a terminal Ctrl-C reaches only this script, which stops the helpers in order.
    const proc = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let buf = '';
    const feed = (d) => {
      log.write(d);
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        onLine(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    };
    proc.stdout.on('data', feed);
    proc.stderr.on('data', feed);
    const exited = new Promise((r) => proc.on('exit', r));
    const c = { name, proc, exited };
    children.push(c);
    void exited.then((code) => {
      if (stopping) return;
      if (optional) {
        say(`${name} exited (code ${code}); the demo goes on without it (see ${localShown}${name}.log)`);
        return;
      }
      say(`${name} exited unexpectedly (code ${code}); see ${localShown}${name}.log`);
      void shutdown(1);
    });
    return c;
  };

  const waitFor = async (what, check, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const v = await check();
        if (v) return v;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) {
        say(`timed out waiting for ${what}; see the logs in ${localShown}`);
        await shutdown(1);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  // 1. Prometheus with the remote-write receiver, when installed.
  let prometheus = 'not installed (apt-get install prometheus); the example remote_write keeps retrying';
  // A free port on 127.0.0.9 (outside the pod range): another Prometheus on 9090 does not stop the demo.
  const promAddr = await freeAddr('127.0.0.9');
  let promUrl;
  if (!promAddr) prometheus = 'skipped: 127.0.0.9 is not usable as a loopback address here';
  else if (spawnSync('prometheus', ['--version']).error === undefined) {
    mkdirSync(`${local}prometheus/data`, { recursive: true });
    writeFileSync(`${local}prometheus/prometheus.yml`, 'global:\n  scrape_interval: 15s\nscrape_configs: []\n');
    const p = start('prometheus', 'prometheus', [
      `--config.file=${local}prometheus/prometheus.yml`,
      `--storage.tsdb.path=${local}prometheus/data`,
      `--web.listen-address=${promAddr}`,
      '--web.enable-remote-write-receiver',
    ], undefined, true);
    const up = await Promise.race([
      (async () => {
        for (let i = 0; i < 50; i++) {
          if ((await get(`http://${promAddr}/-/ready`).catch(() => ({ status: 0 }))).status === 200) return true;
          await new Promise((r) => setTimeout(r, 200));
        }
        return false;
      })(),
      p.exited.then(() => false),
    ]);
    if (up) promUrl = `http://${promAddr}`;
    prometheus = up ? `${promUrl}/ (remote-write receiver on /api/v1/write)` : `failed to start (the demo goes on without it), see ${localShown}prometheus.log`;
  }

  // 2. The dev cluster.
  const kubeconfig = `${local}kubeconfig`;
  let server;
  say('starting the local dev cluster ...');
  // State (etcd-less store, pod dirs) under .local/, replaced on each start: nothing is left in /tmp.
  const stateDir = `${local}dev-cluster-state`;
  rmSync(stateDir, { recursive: true, force: true });
  // Pod addresses 127.N.x.y: the first N whose first pod addresses are free on the collector port,
  // so a second demo (another checkout) does not collide with a running one.
  let podBase = '127.0';
  for (const n of [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 240]) {
    const hosts = [1, 2, 3, 4, 5, 6].map((i) => `127.${n}.1.${i}`);
    if ((await Promise.all(hosts.map((h) => canBind(h, 12345)))).every(Boolean)) {
      podBase = `127.${n}`;
      break;
    }
  }
  start('dev-cluster', process.execPath, [`${path.join(root, 'bin/dev-cluster')}`, `--kubeconfig=${kubeconfig}`, `--state-dir=${stateDir}`, `--pod-ip-base=${podBase}`], (line) => {
    const m = /dev-cluster ready .*server=(\S+)/.exec(line);
    if (m) server = m[1];
  });
  await waitFor('the dev cluster', () => server, 60_000);

  // 3. CRD and Collector (server-side apply, field manager npm-start).
  // Each object carries kubectl's last-applied-configuration annotation (what client-side
  // `kubectl apply -f` records), so a later `kubectl apply` by the user merges against it
  // without warning, as if the user had applied the demo's objects themselves.
  // The annotation is written as kubectl writes it (keys sorted, `annotations: {}` kept), so that
  // applying the same file again reports "unchanged".
  const applyDoc = (path, obj) => {
    const lastApplied = `${JSON.stringify(sortKeys({ ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations } } }))}\n`;
    const withAnnotation = { ...obj, metadata: { ...obj.metadata, annotations: { ...obj.metadata?.annotations, 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } } };
    return request('PATCH', `${server}${path}?fieldManager=npm-start&force=true`, JSON.stringify(withAnnotation), 'application/apply-patch+yaml');
  };
  const crd = parse(readFileSync(path.join(root, 'crds/collectors.alloy.dev.yaml'), 'utf8'));
  await applyDoc(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, crd);
  await waitFor('the Collector CRD', async () => (await get(`${server}/apis/alloy.dev/v1alpha1/collectors`)).status === 200, 30_000);

  // 4. The operator.
  let operatorHttp;
  start('operator', process.execPath, [`${path.join(root, 'bin/operator')}`, 'run', `--kubeconfig=${kubeconfig}`, '--http-listen-address=127.0.0.1:0', '--leader-election-namespace=default'], (line) => {
    const m = /http=(127\.0\.0\.1:\d+)/.exec(line);
    if (m) operatorHttp = m[1];
  });
  await waitFor('the operator', () => operatorHttp, 30_000);

  // The example reads its Prometheus URL from the ConfigMap prometheus-endpoint (optional): the
  // demo fills it in and applies the file unchanged, so `kubectl apply -f examples/collector.yaml`
  // by the user changes nothing and the collectors keep writing to the demo's Prometheus.
  const collector = parse(readFileSync(path.join(root, 'examples/collector.yaml'), 'utf8'));
  const { name, namespace = 'default' } = collector.metadata;
  if (promUrl) {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'prometheus-endpoint', namespace }, data: { url: promUrl } };
    await applyDoc(`/api/v1/namespaces/${namespace}/configmaps/prometheus-endpoint`, cm);
  }
  await applyDoc(`/apis/alloy.dev/v1alpha1/namespaces/${namespace}/collectors/${name}`, collector);
  say(`applied examples/collector.yaml (Collector ${namespace}/${name}, ${collector.spec.replicas ?? 1} replicas); waiting for Ready ...`);
  await waitFor(`Collector ${name} to become Ready`, async () => {
    const c = JSON.parse((await get(`${server}/apis/alloy.dev/v1alpha1/namespaces/${namespace}/collectors/${name}`)).body);
    return c.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True');
  });
  const pods = JSON.parse((await get(`${server}/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`app.kubernetes.io/instance=${name}`)}`)).body).items;

  say('');
  say('alloy operator demo is running');
  say(`  kubeconfig:     export KUBECONFIG=${kubeconfig}`);
  say('  try:            kubectl get collectors,statefulsets,pods   |   kubectl edit collector ' + name);
  say('  collector UIs:');
  for (const p of pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) say(`    ${p.metadata.name.padEnd(22)} http://${p.status.podIP}:12345/`);
  say(`  operator:       http://${operatorHttp}/metrics  /healthz  /readyz`);
  say(`  prometheus:     ${prometheus}`);
  say(`  logs:           ${localShown}operator.log  ${localShown}dev-cluster.log` + (prometheus.startsWith('http') ? `  ${localShown}prometheus.log` : ''));
  say('Ctrl-C stops everything.');
}

function request(method, url, body, contentType) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false, headers: body === undefined ? {} : { 'content-type': contentType } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => (res.statusCode >= 200 && res.statusCode < 300 ? resolve({ status: res.statusCode, body: text }) : reject(new Error(`${method} ${url}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A copy of a JSON value with object keys in sorted order (as Go's encoding/json writes maps). */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
}

function get(url) {
  return request('GET', url);
}

/** `host:port` with a port free on `host` right now, or undefined when `host` cannot be bound. */
function freeAddr(host) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(undefined));
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(`${host}:${port}`));
    });
  });
}

/** Whether `host:port` can be listened on now (nothing else holds it). */
function canBind(host, port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}
