/**
 * Kubernetes discovery benchmark. Workload: P pods (default 5,000, two containers, labels,
 * annotations, status) and P endpoint slices (one pod-backed endpoint each) in the dev cluster's
 * API server, run in its own process so its memory and CPU are not counted.
 *
 * Each measurement runs in a fresh child process (the updates are sent from the parent):
 * - floor: list + JSON-decode the same pods and slices (`KubeClient.list`), keep them, then watch
 *   W pod updates (W default 2,000) with a bare informer (decode only);
 * - discovery: `discovery.kubernetes` role pod + role endpointslice (what a user would run) over
 *   the same objects, then the same W updates, waiting until the targets show the last one.
 * Printed: time to the first complete target list, CPU ms per 1,000 pod updates, RSS per
 * discovered object above the idle baseline (after GC), each with the floor and the ratio.
 * Aims: ≤ 2 KB per object above the idle baseline, ≤ 2× the floor's CPU.
 *
 *   npm run build:bench && node --expose-gc dist-bench/bench/k8s-discovery.js [P] [W]
 *
 * Environment:
 * - BENCH_ROUNDS=N: N rounds over one populated API server, each measuring the floor and the
 *   discovery (and BENCH_BEFORE's discovery, alternating which goes first); prints medians.
 * - BENCH_BEFORE=<another build's dist-bench/bench/k8s-discovery.js>: A/B against that build in
 *   the same session (its measure children talk the same protocol).
 * - BENCH_URL=<url>: use an API server already populated with P pods (see `serve`), so repeated
 *   runs skip the population.  `node .../k8s-discovery.js serve [P]` starts one and prints its URL.
 * - BENCH_NODE_FLAGS="--flag ...": node flags for this build's discovery process only (so a flag
 *   can be measured against the same build without it, given as BENCH_BEFORE).
 * - BENCH_DEBUG, BENCH_SNAPSHOT, BENCH_CPU_PROFILE_DIR: see the discovery README.
 * - BENCH_ALLOC_PROFILE=<file>: a sampling allocation profile (garbage included) of the measured
 *   discovery process from the idle baseline to the first complete list (`.heapprofile`, for
 *   DevTools or `bench/alloc-profile-top.ts`); BENCH_FIRST_LIST_CPU_PROFILE=<file>: a CPU profile
 *   of the same window (`.cpuprofile`, for DevTools or `bench/cpu-profile-top.ts`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';
import { spread } from './stats.js';

const self = fileURLToPath(import.meta.url);

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Where the memory is (BENCH_DEBUG): V8 space sizes and what lives outside the JS heap, MiB. */
function spaces(): string {
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  const m = process.memoryUsage();
  const sp = v8.getHeapSpaceStatistics().filter((x) => x.space_size > 0).map((x) => `${x.space_name} ${mb(x.space_size)}/${mb(x.space_used_size)}`);
  return `rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} buffers ${mb(m.arrayBuffers)} | ${sp.join(', ')}`;
}

function rssAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().rss;
}

/**
 * Starts V8's sampling heap profiler with collected objects included (so garbage counts, unlike
 * `--heap-prof`); the returned function stops it and gives the profile.
 */
async function startAllocationProfile(): Promise<() => Promise<unknown>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  return async () => {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    session.disconnect();
    return profile;
  };
}

/** Starts V8's CPU profiler; the returned function stops it and gives the profile. */
async function startCpuProfile(): Promise<() => Promise<unknown>> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile;
  };
}

/** `PerformanceEntry.detail.kind` of GC entries (`perf_hooks.constants.NODE_PERFORMANCE_GC_*`). */
const GC_KINDS: Readonly<Record<number, string>> = { 1: 'scavenge', 2: 'mark-compact', 4: 'incremental', 8: 'weak-callbacks' };

function gcSummary(kinds: ReadonlyMap<string, { n: number; ms: number }>): string {
  return [...kinds].map(([k, v]) => `${k} ${v.n}x ${v.ms.toFixed(0)} ms`).join(', ');
}

/** GC pause time observed so far (entries not yet delivered are taken too), then stops observing. */
async function gcSoFar(observer: PerformanceObserver, delivered: () => number): Promise<number> {
  let pending = 0;
  for (const e of observer.takeRecords()) pending += e.duration;
  const ms = delivered() + pending;
  observer.disconnect();
  return ms;
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---------------------------------------------------------------- child: API server

async function apiServerChild(): Promise<void> {
  const { startApiServer } = await import('../e2e/cluster/apiserver/index.js');
  const s = await startApiServer({ historySize: 50_000, bookmarkIntervalMs: 1000 });
  process.stdout.write(`${JSON.stringify({ url: s.url })}\n`);
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
}

async function populate(url: string, pods: number, ns = 'bench'): Promise<void> {
  const post = async (p: string, body: unknown, method = 'POST'): Promise<void> => {
    const r = await fetch(url + p, { method, headers: { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }, body: JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`${method} ${p}: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  };
  await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await post(`/api/v1/namespaces/${ns}/services`, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
  const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const work: Array<() => Promise<void>> = [];
  for (let i = 0; i < pods; i++) {
    const name = `web-${i}`;
    work.push(async () => {
      await post(`/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { app: 'web', 'app.kubernetes.io/instance': `web-${i % 50}`, 'pod-template-hash': 'abc123' }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' } },
        spec: {
          nodeName: 'dev-node',
          containers: [
            { name: 'app', image: 'registry.example/app:1.2.3', ports: [{ name: 'http', containerPort: 8080 }, { name: 'metrics', containerPort: 9100 }], env: [{ name: 'A', value: 'x'.repeat(40) }] },
            { name: 'proxy', image: 'registry.example/proxy:4', ports: [{ name: 'admin', containerPort: 15000 }] },
          ],
        },
      });
      await post(`/api/v1/namespaces/${ns}/pods/${name}/status`, { status: { phase: 'Running', podIP: ip(i + 1), hostIP: '192.168.0.10', conditions: [{ type: 'Ready', status: 'True' }], containerStatuses: [{ name: 'app', containerID: `containerd://${'a'.repeat(64)}`, ready: true, restartCount: 0, image: 'app', imageID: 'x', started: true, state: { running: { startedAt: '2024-01-01T00:00:00Z' } } }] } }, 'PATCH');
      await post(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: { name: `web-${i}`, labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
        endpoints: [{ addresses: [ip(i + 1)], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'dev-node', targetRef: { kind: 'Pod', name, namespace: ns } }],
      });
    });
  }
  let next = 0;
  await Promise.all(Array.from({ length: 32 }, async () => {
    while (next < work.length) await work[next++]!();
  }));
}

/** Sends `n` annotation updates over pods web-0..web-999; the last one sets `rev` to `tag`. */
async function updates(url: string, n: number, tag: string): Promise<void> {
  await patchPods(url, n, (i) => (i === n - 1 ? tag : `${tag}-${i}`));
}

/**
 * Sets `rev` of every pod `updates` touches back to one value, so each measurement lists the
 * same objects (equal digests across builds) and each of its updates is a real change (a no-op
 * patch makes no watch event).
 */
async function resetPods(url: string, n: number): Promise<void> {
  await patchPods(url, Math.min(n, 1000), () => 'reset');
}

async function patchPods(url: string, n: number, rev: (i: number) => string): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < n) {
      const i = next++;
      const r = await fetch(`${url}/api/v1/namespaces/bench/pods/web-${i % 1000}`, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ metadata: { annotations: { rev: rev(i) } } }) });
      await r.arrayBuffer();
    }
  }));
}

// ---------------------------------------------------------------- child: measurements

interface Result {
  readonly idleRss: number;
  readonly syncedRss: number;
  readonly idleHeap: number;
  readonly syncedHeap: number;
  readonly objects: number;
  readonly targets: number;
  readonly firstListMs: number;
  readonly firstListCpuMs: number;
  /** Garbage-collection pause time from the idle baseline to the first complete list (absent from older builds' children). */
  readonly firstListGcMs?: number;
  readonly watchCpuMs: number;
  readonly events: number;
  /** SHA-256 of the first complete exports (JSON, pod role then endpointslice role, UIDs masked): equal digests mean byte-identical targets. */
  readonly digest: string;
}

async function measureChild(mode: 'floor' | 'discovery', url: string, updatesN: number): Promise<Result> {
  const { KubeClient, collectionPath } = await import('../collector/src/component/common/kube/client.js');
  const { Informer } = await import('../collector/src/component/common/kube/informer.js');
  const { component, argumentsSchema } = await import('../collector/src/component/discovery/kubernetes/kubernetes.js');
  const winston = (await import('winston')).default;
  const { Registry } = await import('prom-client');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'k8sbench-'));
  const kc = path.join(dir, 'kubeconfig');
  fs.writeFileSync(kc, `current-context: b\ncontexts: [{name: b, context: {cluster: b, user: b}}]\nclusters: [{name: b, cluster: {server: "${url}"}}]\nusers: [{name: b, user: {}}]\n`);
  const buildDiscovery = (role: string, ns: string, onTargets: (t: readonly Record<string, string>[]) => void) =>
    component.build(
      {
        id: `discovery.kubernetes.${role}`,
        logger: winston.createLogger({ silent: true }),
        registry: new Registry(),
        dataPath: dir,
        onStateChange: (e) => onTargets(e.targets),
        setHealth: () => undefined,
        getService: () => {
          throw new Error('none');
        },
      },
      argumentsSchema.parse({ role, kubeconfig_file: kc, namespaces: { names: [ns] } }),
    ) as unknown as { run(s: AbortSignal): Promise<void>; debugInfo(): { watch_events: number } };
  const warmDiscovery = async (): Promise<void> => {
    const wac = new AbortController();
    const seen = new Map<string, number>();
    const runs = ['pod', 'endpointslice'].map((role) => buildDiscovery(role, 'warm', (t) => seen.set(role, t.length)).run(wac.signal));
    await until(() => seen.get('pod') === 300 && seen.get('endpointslice') === 300, 60_000, 'warm-up targets');
    wac.abort();
    await Promise.all(runs);
  };
  const warmFloor = async (): Promise<void> => {
    const wac = new AbortController();
    const client = new KubeClient({ server: new URL(url), settings: { follow_redirects: true }, source: 'bench' });
    const infs = [collectionPath('', 'v1', 'pods', 'warm'), collectionPath('discovery.k8s.io', 'v1', 'endpointslices', 'warm')].map((p) => new Informer({ client, path: p, onEvent: () => undefined }));
    const runs = infs.map((i) => i.run(wac.signal));
    await until(() => infs.every((i) => i.synced), 60_000, 'warm-up lists');
    wac.abort();
    await Promise.all(runs);
    client.close();
  };
  // Warm-up: the same code over a small namespace, so the idle baseline includes compiled code
  // and caches and the figures below are the memory the discovered objects cost.
  await (mode === 'floor' ? warmFloor : warmDiscovery)();
  const idleRss = rssAfterGc();
  if (process.env['BENCH_DEBUG']) process.stderr.write(`idle: ${spaces()}\n`);
  const idleHeap = process.memoryUsage().heapUsed;
  const allocProfile = mode === 'discovery' && process.env['BENCH_ALLOC_PROFILE'] ? await startAllocationProfile() : undefined;
  const cpuProfile = mode === 'discovery' && process.env['BENCH_FIRST_LIST_CPU_PROFILE'] ? await startCpuProfile() : undefined;
  const ac = new AbortController();
  const t0 = Date.now();
  const c0 = cpuMs();
  let targets = 0;
  let objects = 0;
  let watchCpuMs = 0;
  let firstListMs = 0;
  let firstListCpuMs = 0;
  let gcMs = 0;
  const gcKinds = new Map<string, { n: number; ms: number }>();
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      const kind = GC_KINDS[(e as unknown as { detail?: { kind?: number } }).detail?.kind ?? 0] ?? 'other';
      const k = gcKinds.get(kind) ?? { n: 0, ms: 0 };
      k.n++;
      k.ms += e.duration;
      gcKinds.set(kind, k);
    }
  });
  gcObserver.observe({ entryTypes: ['gc'] });
  if (mode === 'floor') {
    const client = new KubeClient({ server: new URL(url), settings: { follow_redirects: true }, source: 'bench' });
    let events = 0;
    const pods = new Informer({ client, path: collectionPath('', 'v1', 'pods', 'bench'), onEvent: () => void events++ });
    const slices = new Informer({ client, path: collectionPath('discovery.k8s.io', 'v1', 'endpointslices', 'bench'), onEvent: () => void events++ });
    const runs = [pods.run(ac.signal), slices.run(ac.signal)];
    await until(() => pods.synced && slices.synced, 600_000, 'floor lists');
    firstListMs = Date.now() - t0;
    firstListCpuMs = cpuMs() - c0;
    const firstListGcMs = await gcSoFar(gcObserver, () => gcMs);
    if (process.env['BENCH_DEBUG']) process.stderr.write(`floor GC to the first list: ${gcSummary(gcKinds)}\n`);
    objects = pods.size + slices.size;
    const syncedRss = rssAfterGc();
    const syncedHeap = process.memoryUsage().heapUsed;
    if (process.env['BENCH_DEBUG']) process.stderr.write(`${spaces()}\n`);
    const base = events;
    const c1 = cpuMs();
    process.stdout.write('ready\n'); // the orchestrator now sends the updates (its CPU is not ours)
    await until(() => pods.get('bench/web-' + ((updatesN - 1) % 1000))?.metadata.annotations?.['rev'] === 'discovery-last', 600_000, 'floor watch events');
    watchCpuMs = cpuMs() - c1;
    ac.abort();
    await Promise.all(runs);
    client.close();
    fs.rmSync(dir, { recursive: true, force: true });
    return { idleRss, syncedRss, idleHeap, syncedHeap, objects, targets: 0, firstListMs, firstListCpuMs, firstListGcMs, watchCpuMs, events: events - base, digest: '' };
  }
  let watching = false;
  const exportsOf = new Map<string, readonly Record<string, string>[]>();
  // Whether a role's exports show the last update: checked once per published export (as a
  // consumer would see it), not by polling, so the bench's own scans stay out of the watch CPU.
  const lastPod = `web-${(updatesN - 1) % 1000}`;
  const showsLast = new Set<string>();
  // Where the last updated pod's targets sit in each role's export (fixed while no group appears
  // or disappears), so the check reads a few targets instead of scanning all 15,000 per export.
  const lastAt = new Map<string, number[]>();
  const isLast = (x: Record<string, string> | undefined): boolean => x?.['__meta_kubernetes_pod_name'] === lastPod && x['__meta_kubernetes_pod_annotation_rev'] === 'discovery-last';
  const comps = ['pod', 'endpointslice'].map((role) => {
    const comp = buildDiscovery(role, 'bench', (t) => {
      const before = exportsOf.get(role);
      exportsOf.set(role, t);
      if (!watching) return;
      const at = lastAt.get(role);
      const shows = at !== undefined && before?.length === t.length ? at.some((i) => isLast(t[i])) : t.some(isLast);
      if (shows) showsLast.add(role);
    });
    return { role, comp, done: comp.run(ac.signal) };
  });
  const podTargets = (): number => exportsOf.get('pod')?.length ?? 0;
  const sliceTargets = (): number => exportsOf.get('endpointslice')?.length ?? 0;
  const expectedPods = Number(process.env['BENCH_PODS']);
  // pod role: 3 container ports per pod; endpointslice role: 1 endpoint port + 2 uncovered container ports.
  await until(() => podTargets() === expectedPods * 3 && sliceTargets() === expectedPods * 3, 600_000, 'complete target lists');
  firstListMs = Date.now() - t0;
  firstListCpuMs = cpuMs() - c0;
  const firstListGcMs = await gcSoFar(gcObserver, () => gcMs);
  if (process.env['BENCH_DEBUG']) process.stderr.write(`discovery GC to the first list: ${gcSummary(gcKinds)}\n`);
  targets = podTargets() + sliceTargets();
  objects = expectedPods * 2;
  const syncedRss = rssAfterGc();
  const syncedHeap = process.memoryUsage().heapUsed;
  if (process.env['BENCH_DEBUG']) process.stderr.write(`${spaces()}\n`);
  if (cpuProfile) fs.writeFileSync(process.env['BENCH_FIRST_LIST_CPU_PROFILE']!, JSON.stringify(await cpuProfile()));
  if (allocProfile) fs.writeFileSync(process.env['BENCH_ALLOC_PROFILE']!, JSON.stringify(await allocProfile()));
  if (process.env['BENCH_SNAPSHOT']) (await import('node:v8')).writeHeapSnapshot(process.env['BENCH_SNAPSHOT']);
  // Object UIDs differ between API server runs; every other byte of the exports must not.
  const noUid = (k: string, v: unknown): unknown => (k.endsWith('_uid') ? 'UID' : v);
  const digest = (await import('node:crypto')).createHash('sha256').update(JSON.stringify(exportsOf.get('pod'), noUid)).update(JSON.stringify(exportsOf.get('endpointslice'), noUid)).digest('hex').slice(0, 16);
  for (const [role, t] of exportsOf) lastAt.set(role, t.flatMap((x, i) => (x['__meta_kubernetes_pod_name'] === lastPod ? [i] : [])));
  const events0 = comps.reduce((n, c) => n + c.comp.debugInfo().watch_events, 0);
  const c1 = cpuMs();
  process.stdout.write('ready\n');
  watching = true;
  await until(() => showsLast.has('pod') && showsLast.has('endpointslice'), 600_000, 'discovery to show the last update');
  watchCpuMs = cpuMs() - c1;
  const events = comps.reduce((n, c) => n + c.comp.debugInfo().watch_events, 0) - events0;
  if (process.env['BENCH_DEBUG']) process.stderr.write(`events0=${events0} info=${JSON.stringify(comps.map((c) => c.comp.debugInfo()))}\n`);
  ac.abort();
  await Promise.all(comps.map((c) => c.done));
  if (process.env['BENCH_DEBUG']) {
    exportsOf.clear();
    rssAfterGc();
    process.stderr.write(`heap: idle ${(idleHeap / 1048576).toFixed(1)} MiB, synced ${(syncedHeap / 1048576).toFixed(1)} MiB, after stop ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MiB\n`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { idleRss, syncedRss, idleHeap, syncedHeap, objects, targets, firstListMs, firstListCpuMs, firstListGcMs, watchCpuMs, events, digest };
}

// ---------------------------------------------------------------- orchestration

function child(args: string[], env: Record<string, string> = {}, script = self, flags: readonly string[] = []): { proc: ChildProcess; firstLine: Promise<string>; lastLine: Promise<string> } {
  const prof = process.env['BENCH_CPU_PROFILE_DIR'] && args[0] === 'measure' ? ['--cpu-prof', `--cpu-prof-dir=${process.env['BENCH_CPU_PROFILE_DIR']}`] : [];
  const proc = spawn(process.execPath, ['--expose-gc', ...flags, ...prof, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let buf = '';
  let resolveFirst!: (s: string) => void;
  const firstLine = new Promise<string>((r) => (resolveFirst = r));
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    buf += d;
    const nl = buf.indexOf('\n');
    if (nl >= 0) resolveFirst(buf.slice(0, nl));
  });
  const lastLine = new Promise<string>((resolve, reject) => {
    proc.once('exit', (code) => (code === 0 ? resolve(buf.trim().split('\n').pop() ?? '') : reject(new Error(`child ${args.join(' ')} exited with ${code}`))));
  });
  return { proc, firstLine, lastLine };
}

type Measured = 'floor' | 'discovery' | 'before';

/**
 * Runs `rounds` rounds over one API server holding `pods` pods and slices (started and populated
 * here unless `url` names a populated one). Each round measures the floor, then this build's
 * discovery and, with `before` (another build's bench script), that build's, alternating which of
 * the two goes first.
 */
export async function runK8sDiscoveryBench(pods: number, updatesN: number, opts: { rounds?: number; before?: string; url?: string } = {}): Promise<Record<Measured, Result[]>> {
  const api = opts.url === undefined ? child(['apiserver']) : undefined;
  const url = opts.url ?? (JSON.parse(await api!.firstLine) as { url: string }).url;
  const out: Record<Measured, Result[]> = { floor: [], discovery: [], before: [] };
  try {
    if (api !== undefined) {
      await populate(url, pods);
      await populate(url, 100, 'warm');
    }
    const env = { BENCH_PODS: String(pods) };
    const measure = async (what: Measured): Promise<void> => {
      const mode = what === 'floor' ? 'floor' : 'discovery';
      await resetPods(url, updatesN);
      const flags = what === 'discovery' ? (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '') : [];
      const c = child(['measure', mode, url, String(updatesN)], env, what === 'before' ? opts.before : self, flags);
      if ((await c.firstLine) === 'ready') await updates(url, updatesN, 'discovery-last');
      out[what].push(JSON.parse(await c.lastLine) as Result);
    };
    for (let round = 0; round < (opts.rounds ?? 1); round++) {
      await measure('floor');
      const order: Measured[] = opts.before === undefined ? ['discovery'] : round % 2 === 0 ? ['before', 'discovery'] : ['discovery', 'before'];
      for (const what of order) await measure(what);
    }
    return out;
  } finally {
    api?.proc.kill('SIGTERM');
  }
}

async function serve(pods: number): Promise<void> {
  const api = child(['apiserver']);
  const { url } = JSON.parse(await api.firstLine) as { url: string };
  await populate(url, pods);
  await populate(url, 100, 'warm');
  process.stdout.write(`${url}\n`);
  const stop = (): void => {
    api.proc.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

async function main(): Promise<void> {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'apiserver') return apiServerChild();
  if (mode === 'serve') return serve(Number(rest[0] ?? 5000));
  if (mode === 'measure') {
    const r = await measureChild(rest[0] as 'floor' | 'discovery', rest[1]!, Number(rest[2]));
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.exit(0);
  }
  const pods = Number(mode ?? 5000);
  const updatesN = Number(rest[0] ?? 2000);
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 1);
  const before = process.env['BENCH_BEFORE'] ? path.resolve(process.env['BENCH_BEFORE']) : undefined;
  const all = await runK8sDiscoveryBench(pods, updatesN, { rounds, ...(before ? { before } : {}), ...(process.env['BENCH_URL'] ? { url: process.env['BENCH_URL'] } : {}) });
  const kb = (r: Result): number => (r.syncedRss - r.idleRss) / r.objects / 1024;
  const heapKb = (r: Result): number => (r.syncedHeap - r.idleHeap) / r.objects / 1024;
  // Per 1,000 pod updates (API changes), not per listener event: with shared informers one
  // decoded watch event feeds both components, so a per-listener count would flatter the result.
  const perK = (r: Result): number => (r.watchCpuMs / updatesN) * 1000;
  const fmt = (xs: readonly number[], d: number): string => (xs.length === 1 ? xs[0]!.toFixed(d) : spread(xs, d));
  const gc = (rs: readonly Result[]): string => (rs.every((r) => r.firstListGcMs !== undefined) ? `, GC ${fmt(rs.map((r) => r.firstListGcMs!), 0)} ms of it` : '');
  const lines = [`k8s discovery: ${pods} pods + ${pods} endpoint slices, ${updatesN} pod updates, ${rounds} round(s)${rounds > 1 ? ', medians (ranges)' : ''}`];
  const floor = all.floor;
  const report = (name: string, rs: readonly Result[]): void => {
    // Ratios are taken per round against that round's floor, then the median is printed.
    const ratio = (f: (r: Result) => number): number[] => rs.map((r, i) => f(r) / f(floor[i]!));
    lines.push(
      `  ${name}:`,
      `    first complete list: ${fmt(rs.map((r) => r.firstListMs), 0)} ms, ${fmt(rs.map((r) => r.firstListCpuMs), 0)} CPU ms (${rs[0]!.targets} targets); CPU vs floor ${fmt(ratio((r) => r.firstListCpuMs), 2)}x${gc(rs)}`,
      `    CPU per 1000 pod updates: ${fmt(rs.map(perK), 1)} ms (${rs[0]!.events} listener events); vs floor ${fmt(ratio(perK), 2)}x`,
      `    RSS per discovered object above idle: ${fmt(rs.map(kb), 2)} KB (idle ${fmt(rs.map((r) => r.idleRss / 1048576), 0)} MiB, synced ${fmt(rs.map((r) => r.syncedRss / 1048576), 0)} MiB)`,
      `    JS heap per discovered object above idle: ${fmt(rs.map(heapKb), 2)} KB`,
      `    targets digest (SHA-256 of the first complete exports): ${[...new Set(rs.map((r) => r.digest))].join(', ')}`,
    );
  };
  lines.push(
    `  floor (list + decode, objects kept):`,
    `    first list: ${fmt(floor.map((r) => r.firstListMs), 0)} ms, ${fmt(floor.map((r) => r.firstListCpuMs), 0)} CPU ms${gc(floor)}; CPU per 1000 pod updates ${fmt(floor.map(perK), 1)} ms (${floor[0]!.events} events)`,
    `    RSS per object above idle: ${fmt(floor.map(kb), 2)} KB; JS heap per object: ${fmt(floor.map(heapKb), 2)} KB`,
  );
  if (before !== undefined) report(`before (${before})`, all.before);
  report('discovery', all.discovery);
  process.stdout.write(lines.join('\n') + '\n');
}

if (process.argv[1] === self) {
  main().catch((err: unknown) => {
    process.stderr.write(`${String(err instanceof Error ? err.stack : err)}\n`);
    process.exit(1);
  });
}
