/**
 * Operator at scale on a real kube-apiserver + etcd + kube-controller-manager (`../shared/k8s`,
 * started by `e2e/cluster/real/control-plane.ts`): optionally 10,000 unrelated ConfigMaps first,
 * then 1,000 Collectors in 10 namespaces. The operator runs as its own process with its
 * ServiceAccount's token and the RBAC of `kustomize/base`. Prints, per run:
 *   - time until every Collector's owned objects exist, and until every status has
 *     observedGeneration == generation;
 *   - the operator's requests by verb and resource (from the API server's audit log);
 *   - its requests during a steady-state window (nothing changes; aim: only lease renewals);
 *   - its peak RSS.
 * Aims (issue 21): <= 30 s to all objects and status, <= 100 MiB peak RSS in both runs.
 *
 *   npm run build:bench && node dist-bench/bench/operator-scale.js [--collectors 1000] [--unrelated 10000] [--steady-seconds 360] [--only with|without]
 *     [--node-args "--max-semi-space-size=4"] [--operator-args "--workers=16"] [--heap-snapshot DIR] [--operator PATH]
 * `--operator` runs another build's `bin/operator` (a copy of bin/, dist/ and package.json with a
 * node_modules link), for A/B runs in one session. `--steady-seconds 0` skips the steady state
 * (and the wait for kube-controller-manager's pods before it).
 *
 *   node dist-bench/bench/operator-scale.js --write-cost [--collectors 500]
 * measures instead what one write of each kind the operator sends costs the API server and etcd
 * (CPU-seconds per request, no kube-controller-manager, 16 requests in flight): a create (POST),
 * the server-side apply that creates the same object, and the same apply again (no change).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '../e2e/cluster/harness/paths.js';
import { startRealControlPlane, type RealControlPlane } from '../e2e/cluster/real/control-plane.js';

interface Flags {
  collectors: number;
  unrelated: number;
  steadySeconds: number;
  only?: 'with' | 'without';
  /** Extra node flags for the operator process (e.g. `--max-semi-space-size=4`). */
  nodeArgs: string[];
  /** Extra `bin/operator run` flags (e.g. `--workers=16`). */
  operatorArgs: string[];
  /** Write a heap snapshot of the operator into this folder once everything converged. */
  heapSnapshotDir?: string;
  /** The `bin/operator` to run. */
  operatorBin: string;
  writeCost: boolean;
}

function flags(argv: readonly string[]): Flags {
  const f: Flags = { collectors: 1000, unrelated: 10_000, steadySeconds: 360, nodeArgs: [], operatorArgs: [], operatorBin: path.join(repoRoot(), 'bin/operator'), writeCost: false };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--collectors': f.collectors = Number(v); i++; break;
      case '--unrelated': f.unrelated = Number(v); i++; break;
      case '--steady-seconds': f.steadySeconds = Number(v); i++; break;
      case '--only': f.only = v === 'with' ? 'with' : 'without'; i++; break;
      case '--node-args': f.nodeArgs = (v ?? '').split(' ').filter((a) => a !== ''); i++; break;
      case '--operator-args': f.operatorArgs = (v ?? '').split(' ').filter((a) => a !== ''); i++; break;
      case '--heap-snapshot': f.heapSnapshotDir = v; i++; break;
      case '--operator': f.operatorBin = path.resolve(v ?? ''); i++; break;
      case '--write-cost': f.writeCost = true; break;
      default: throw new Error(`operator-scale: unknown flag ${argv[i]}`);
    }
  }
  return f;
}

const agent = new https.Agent({ keepAlive: true, maxSockets: 64 });

function call(cp: RealControlPlane, method: string, p: string, body?: unknown, contentType = 'application/json'): Promise<{ code: number; text: string }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(p, cp.url), { method, agent, ca: cp.caPem, headers: { authorization: `Bearer ${cp.adminToken}`, 'content-type': contentType, accept: 'application/json', 'user-agent': 'operator-scale-bench' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Follows a collection with one watch (no resourceVersion: the current objects arrive as ADDED
 * first), keeping each object's last state by namespace/name. The bench observes convergence this
 * way instead of polling lists of 1,000 objects, which would load the API server it measures.
 */
function follow(cp: RealControlPlane, p: string): { objects: Map<string, { metadata: { generation?: number }; status?: { observedGeneration?: number } }>; close(): void } {
  const objects = new Map<string, { metadata: { generation?: number }; status?: { observedGeneration?: number } }>();
  let closed = false;
  let req: ReturnType<typeof https.request> | undefined;
  // A watch the server ends (or that fails) is opened again; without a resourceVersion the
  // server first replays every current object as ADDED, so the map is complete again.
  const open = (): void => {
    if (closed) return;
    const reopen = (): void => void setTimeout(open, 200);
    req = https.request(new URL(`${p}${p.includes('?') ? '&' : '?'}watch=1`, cp.url), { agent, ca: cp.caPem, headers: { authorization: `Bearer ${cp.adminToken}`, 'user-agent': 'operator-scale-bench' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const ev = JSON.parse(line) as { type: string; object: { metadata: { name: string; namespace?: string; generation?: number }; status?: { observedGeneration?: number } } };
          const key = `${ev.object.metadata.namespace ?? ''}/${ev.object.metadata.name}`;
          if (ev.type === 'DELETED') objects.delete(key);
          else if (ev.type === 'ADDED' || ev.type === 'MODIFIED') objects.set(key, { metadata: { generation: ev.object.metadata.generation }, status: { observedGeneration: ev.object.status?.observedGeneration } });
        }
      });
      res.on('end', reopen);
      res.on('error', reopen);
    });
    req.on('error', reopen);
    req.end();
  };
  open();
  return { objects, close: () => ((closed = true), req?.destroy()) };
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function must(cp: RealControlPlane, method: string, p: string, body?: unknown): Promise<string> {
  const r = await call(cp, method, p, body);
  if (r.code >= 300) throw new Error(`${method} ${p}: ${r.code} ${r.text.slice(0, 300)}`);
  return r.text;
}

function kubectl(kubeconfig: string, args: readonly string[], input?: string): string {
  return execFileSync('kubectl', [...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, input, encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
}

function rssMiB(pid: number, key: 'VmHWM' | 'VmRSS' | 'RssAnon' | 'RssFile'): number {
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${key}:`))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** Processes this bench started (etcd, kube-controller-manager, ...) by the name in /proc/PID/stat. */
function childPid(name: string): number | undefined {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && comm.startsWith(name)) return Number(d);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/**
 * The live heap of the snapshot a process writes into `dir` (a file not in `before`): the sum of
 * every node's self size. V8 collects garbage before it writes a snapshot. Waits up to 120 s. The
 * snapshot stays (open it in Chrome DevTools' Memory tab to see what holds the heap).
 */
async function liveHeap(dir: string, before: ReadonlySet<string>): Promise<{ mib: number; file: string } | undefined> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const file = fs.readdirSync(dir).find((n) => n.endsWith('.heapsnapshot') && !before.has(n));
    if (file !== undefined) {
      // The writer is done when the JSON parses (the file is written in pieces).
      try {
        const snap = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[] };
        const width = snap.snapshot.meta.node_fields.length;
        const self = snap.snapshot.meta.node_fields.indexOf('self_size');
        let bytes = 0;
        for (let i = self; i < snap.nodes.length; i += width) bytes += snap.nodes[i]!;
        return { mib: bytes / 2 ** 20, file: path.join(dir, file) };
      } catch {
        // still being written
      }
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

/** The environment assignments and node flags of a `#!/usr/bin/env -S [NAME=VALUE...] node FLAGS` first line. */
function shebang(bin: string): { env: Record<string, string>; nodeArgs: string[] } {
  const first = fs.readFileSync(bin, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\S*env -S (.*)$/.exec(first);
  const words = m === null ? [] : m[1]!.split(' ').filter((a) => a !== '');
  const env: Record<string, string> = {};
  while (words.length > 0 && /^\w+=/.test(words[0]!)) {
    const [k, ...v] = words.shift()!.split('=');
    env[k!] = v.join('=');
  }
  return { env, nodeArgs: words[0] === 'node' ? words.slice(1) : [] };
}

/**
 * The operator's V8 heap by space and Node's off-heap memory, from its own `/metrics` (prom-client's
 * default metrics), found through the port it listens on (`ss`). Undefined when either fails.
 */
async function operatorMetrics(pid: number): Promise<string | undefined> {
  try {
    const ss = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
    const line = ss.split('\n').find((l) => l.includes(`pid=${pid},`));
    const port = line === undefined ? undefined : /127\.0\.0\.1:(\d+)/.exec(line)?.[1];
    if (port === undefined) return undefined;
    return await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/metrics`, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (t += c));
        res.on('end', () => resolve(t));
      }).on('error', reject);
    });
  } catch {
    return undefined;
  }
}

/** Reconciles the operator ran, by result, from its `controller_runtime_reconcile_total`. */
async function operatorReconciles(pid: number): Promise<string> {
  const text = await operatorMetrics(pid);
  if (text === undefined) return 'its /metrics could not be read';
  const byResult = [...text.matchAll(/^controller_runtime_reconcile_total\{controller="collector",result="(\w+)"\} (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`);
  return byResult.join(', ') || 'none';
}

async function operatorMemory(pid: number): Promise<string | undefined> {
  try {
    const text = await operatorMetrics(pid);
    if (text === undefined) return undefined;
    const mib = (name: string, labels = ''): number => {
      const m = new RegExp(`^${name}${labels.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
      return m === null ? NaN : Number(m[1]) / 2 ** 20;
    };
    const spaces = [...text.matchAll(/^nodejs_heap_space_size_total_bytes\{space="(\w+)"\} (\S+)$/gm)].map((m) => `${m[1]} ${(Number(m[2]) / 2 ** 20).toFixed(1)}`);
    return `V8 heap committed ${mib('nodejs_heap_size_total_bytes').toFixed(1)} MiB (used ${mib('nodejs_heap_size_used_bytes').toFixed(1)}; by space: ${spaces.join(', ')}), external ${mib('nodejs_external_memory_bytes').toFixed(1)} MiB`;
  } catch {
    return undefined;
  }
}

function load(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

interface AuditEvent {
  user: { username: string };
  verb: string;
  objectRef?: { resource?: string; subresource?: string };
  requestReceivedTimestamp: string;
  userAgent?: string;
}

function operatorRequests(cp: RealControlPlane, user: string, fromMs: number, toMs: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of fs.readFileSync(cp.auditLogPath!, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.user.username !== user) continue;
    const t = Date.parse(e.requestReceivedTimestamp);
    if (t < fromMs || t >= toMs) continue;
    const key = `${e.verb} ${e.objectRef?.resource ?? '(non-resource)'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

function userAgents(cp: RealControlPlane, user: string): Set<string> {
  const out = new Set<string>();
  for (const line of fs.readFileSync(cp.auditLogPath!, 'utf8').split('\n')) {
    if (line === '') continue;
    const e = JSON.parse(line) as AuditEvent;
    if (e.user.username === user) out.add(e.userAgent ?? '(none)');
  }
  return out;
}

/**
 * The API server's own time per request type: `apiserver_request_duration_seconds` sum and count
 * by verb and resource (every client, watches excluded: their duration is how long they stay open).
 */
async function requestDurations(cp: RealControlPlane): Promise<Map<string, { seconds: number; count: number }>> {
  const out = new Map<string, { seconds: number; count: number }>();
  const text = await must(cp, 'GET', '/metrics');
  for (const line of text.split('\n')) {
    const m = /^apiserver_request_duration_seconds_(sum|count)\{(.*)\} (\S+)$/.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    if (labels['verb'] === 'WATCH') continue;
    const key = `${labels['verb']} ${labels['resource'] || '(non-resource)'}${labels['subresource'] ? `/${labels['subresource']}` : ''}`;
    const e = out.get(key) ?? { seconds: 0, count: 0 };
    if (m[1] === 'sum') e.seconds += Number(m[3]);
    else e.count += Number(m[3]);
    out.set(key, e);
  }
  return out;
}

function durationTable(before: Map<string, { seconds: number; count: number }>, after: Map<string, { seconds: number; count: number }>): string {
  const rows = [...after]
    .map(([k, a]) => ({ k, seconds: a.seconds - (before.get(k)?.seconds ?? 0), count: a.count - (before.get(k)?.count ?? 0) }))
    .filter((r) => r.count > 0)
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, 12);
  return rows.map((r) => `    ${r.seconds.toFixed(1).padStart(7)} s  ${String(r.count).padStart(6)} requests  ${((r.seconds / r.count) * 1000).toFixed(1).padStart(6)} ms each  ${r.k}`).join('\n');
}

function table(m: Map<string, number>): string {
  const rows = [...m].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((s, [, n]) => s + n, 0);
  return `${rows.map(([k, n]) => `    ${String(n).padStart(6)}  ${k}`).join('\n')}\n    ${String(total).padStart(6)}  total`;
}

async function run(f: Flags, unrelated: number): Promise<void> {
  const cp = await startRealControlPlane({ controllerManager: true, audit: true });
  let op: ReturnType<typeof spawn> | undefined;
  try {
    const admin = cp.kubeconfigPath;
    const rendered = kubectl(admin, ['kustomize', path.join(repoRoot(), 'kustomize/base')]);
    const docs = parseAllDocuments(rendered).map((d) => d.toJSON() as { kind: string }).filter((d) => d !== null && d.kind !== 'Deployment');
    kubectl(admin, ['apply', '--server-side', '--field-manager=bench', '-f', '-'], docs.map((d) => `---\n${JSON.stringify(d)}\n`).join(''));
    kubectl(admin, ['wait', '--for=condition=Established', 'crd/collectors.alloy.dev', '--timeout=60s']);
    const namespaces = Array.from({ length: 10 }, (_, i) => `team-${i}`);
    for (const ns of namespaces) await must(cp, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });

    if (unrelated > 0) {
      const t0 = Date.now();
      const data = { 'app.properties': 'x'.repeat(1024) };
      await pool(Array.from({ length: unrelated }, (_, i) => i), 32, async (i) => {
        await must(cp, 'POST', `/api/v1/namespaces/${namespaces[i % 10]}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `unrelated-${i}` }, data });
      });
      console.log(`  created ${unrelated} unrelated ConfigMaps (1 KiB each) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }

    const token = kubectl(admin, ['create', 'token', 'alloy-operator', '-n', 'alloy-system', '--duration=2h']).trim();
    const kubeconfig = cp.tokenKubeconfig('alloy-operator', token);
    const user = 'system:serviceaccount:alloy-system:alloy-operator';
    const nodeArgs = [...f.nodeArgs, ...(f.heapSnapshotDir !== undefined ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${f.heapSnapshotDir}`] : [])];
    // bin/operator with the environment and node flags of its shebang (as shipped), then the extra ones; on
    // node's command line, because NODE_OPTIONS refuses most V8 flags (e.g. --optimize-for-size).
    const shipped = shebang(f.operatorBin);
    op = spawn(process.execPath, [...shipped.nodeArgs, ...nodeArgs, f.operatorBin, 'run', ...f.operatorArgs, `--kubeconfig=${kubeconfig}`, '--leader-election-namespace=alloy-system', '--http-listen-address=127.0.0.1:0', '--log-level=warn', '--observe-pod-config=false'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...shipped.env } });
    let opErr = '';
    op.stderr!.on('data', (c: Buffer) => (opErr = (opErr + c.toString()).slice(-4000)));
    await new Promise((r) => setTimeout(r, 3000));
    if (op.exitCode !== null) throw new Error(`the operator exited ${op.exitCode} at start: ${opErr}`);

    const sel = 'labelSelector=app.kubernetes.io%2Fmanaged-by%3Dalloy-operator';
    const watched = {
      collectors: follow(cp, '/apis/alloy.dev/v1alpha1/collectors'),
      statefulsets: follow(cp, `/apis/apps/v1/statefulsets?${sel}`),
      configmaps: follow(cp, `/api/v1/configmaps?${sel}`),
      services: follow(cp, `/api/v1/services?${sel}`),
      serviceaccounts: follow(cp, `/api/v1/serviceaccounts?${sel}`),
      pods: follow(cp, `/api/v1/pods?${sel}`),
    };
    const t0 = Date.now();
    // The operator's RSS every 500 ms, to tell which phase sets the peak; and each rise of its
    // high-water mark (VmHWM, which also catches spikes shorter than the interval) with its time,
    // and the bench's own reads of the operator's /metrics, so a spike can be placed.
    const rssSamples: Array<{ at: number; mib: number }> = [];
    const hwmRises: Array<{ at: number; mib: number }> = [];
    let lastHwm = 0;
    const sampler = setInterval(() => {
      try {
        rssSamples.push({ at: Date.now(), mib: rssMiB(op!.pid!, 'VmRSS') });
        const hwm = rssMiB(op!.pid!, 'VmHWM');
        if (hwm >= lastHwm + 1) hwmRises.push({ at: Date.now(), mib: hwm });
        lastHwm = Math.max(lastHwm, hwm);
      } catch {
        // the operator exited; its exit is reported below
      }
    }, 500);
    sampler.unref();
    const peakBetween = (from: number, to: number): string => {
      const inside = rssSamples.filter((x) => x.at >= from && x.at < to);
      return inside.length === 0 ? '-' : Math.max(...inside.map((x) => x.mib)).toFixed(0);
    };
    const etcdPid = childPid('etcd');
    const kcmPid = childPid('kube-controller');
    const cpu0 = { op: cpuSeconds(op.pid!), api: cpuSeconds(cp.apiServerPid), etcd: etcdPid === undefined ? 0 : cpuSeconds(etcdPid), kcm: kcmPid === undefined ? 0 : cpuSeconds(kcmPid) };
    const durations0 = await requestDurations(cp);
    console.log(`  load average before the Collectors: ${load()} (2 cores, shared with other work)`);
    await pool(Array.from({ length: f.collectors }, (_, i) => i), 32, async (i) => {
      await must(cp, 'POST', `/apis/alloy.dev/v1alpha1/namespaces/${namespaces[i % 10]}/collectors`, {
        apiVersion: 'alloy.dev/v1alpha1',
        kind: 'Collector',
        metadata: { name: `c-${i}` },
        spec: { replicas: 1, config: `logging {\n  level = "info"\n}\n// collector ${i}\n` },
      });
    });
    const created = Date.now();
    console.log(`  created ${f.collectors} Collectors in ${((created - t0) / 1000).toFixed(1)} s`);

    let objectsAt = 0;
    let statusAt = 0;
    const deadline = Date.now() + 600_000;
    while ((objectsAt === 0 || statusAt === 0) && Date.now() < deadline) {
      if (objectsAt === 0 && [watched.statefulsets, watched.configmaps, watched.serviceaccounts].every((w) => w.objects.size >= f.collectors) && watched.services.objects.size >= 2 * f.collectors) objectsAt = Date.now();
      const collectors = [...watched.collectors.objects.values()];
      if (statusAt === 0 && collectors.length >= f.collectors && collectors.every((c) => c.status?.observedGeneration === c.metadata.generation)) statusAt = Date.now();
      await new Promise((r) => setTimeout(r, 100));
    }
    const converged = Math.max(objectsAt, statusAt);
    const cpu = { op: cpuSeconds(op.pid!) - cpu0.op, api: cpuSeconds(cp.apiServerPid) - cpu0.api, etcd: etcdPid === undefined ? 0 : cpuSeconds(etcdPid) - cpu0.etcd, kcm: kcmPid === undefined ? 0 : cpuSeconds(kcmPid) - cpu0.kcm };
    const total = cpu.op + cpu.api + cpu.etcd + cpu.kcm;
    console.log(`  CPU until converged: operator ${cpu.op.toFixed(1)} s, kube-apiserver ${cpu.api.toFixed(1)} s, etcd ${cpu.etcd.toFixed(1)} s, kube-controller-manager ${cpu.kcm.toFixed(1)} s; together ${total.toFixed(1)} s, so at least ${(total / 2).toFixed(1)} s on 2 idle cores; load average ${load()}`);
    console.log(`  kube-apiserver time per request type until converged (apiserver_request_duration_seconds, all clients, top 12):\n${durationTable(durations0, await requestDurations(cp))}`);
    console.log(
      `  operator RSS at convergence ${rssMiB(op.pid!, 'VmRSS').toFixed(0)} MiB (anonymous ${rssMiB(op.pid!, 'RssAnon').toFixed(0)}, file-backed ${rssMiB(op.pid!, 'RssFile').toFixed(0)}: the node binary and libraries), peak so far ${rssMiB(op.pid!, 'VmHWM').toFixed(0)} MiB`,
    );
    console.log(`  operator memory at convergence: ${(await operatorMemory(op.pid!)) ?? 'its /metrics could not be read'}`);
    console.log(`  operator reconciles until converged: ${await operatorReconciles(op.pid!)}`);
    if (f.heapSnapshotDir !== undefined) {
      const before = new Set(fs.readdirSync(f.heapSnapshotDir));
      op.kill('SIGUSR2');
      const live = await liveHeap(f.heapSnapshotDir, before);
      console.log(`  operator live heap at convergence (heap snapshot, after a full GC): ${live === undefined ? 'snapshot not written within 120 s' : `${live.mib.toFixed(1)} MiB (${live.file})`}`);
    }
    console.log(`  all owned objects after ${objectsAt ? ((objectsAt - t0) / 1000).toFixed(1) : '>600'} s, all status after ${statusAt ? ((statusAt - t0) / 1000).toFixed(1) : '>600'} s (from the first create)`);
    await new Promise((r) => setTimeout(r, 3000)); // audit log batches flush
    console.log(`  operator requests until converged:\n${table(operatorRequests(cp, user, 0, converged + 1000))}`);

    // Steady state starts once the cluster itself has settled: kube-controller-manager creates the
    // StatefulSets' pods at its own client rate, and each new pod is legitimate operator work
    // (a config-hash nudge, a status update), not churn.
    if (f.steadySeconds === 0) {
      clearInterval(sampler);
      for (const w of Object.values(watched)) w.close();
      console.log(`  operator peak RSS ${rssMiB(op.pid!, 'VmHWM').toFixed(0)} MiB (steady state skipped)`);
      return;
    }
    const settleDeadline = Date.now() + 300_000;
    while (Date.now() < settleDeadline && watched.pods.objects.size < f.collectors) await new Promise((r) => setTimeout(r, 200));
    for (const w of Object.values(watched)) w.close();
    const podsAt = Date.now();
    console.log(`  all ${f.collectors} pods created by kube-controller-manager after ${((podsAt - t0) / 1000).toFixed(1)} s`);
    const steadyFrom = Date.now() + 10_000; // let the last status writes settle
    await new Promise((r) => setTimeout(r, 10_000 + f.steadySeconds * 1000));
    const steadyTo = Date.now() - 2000;
    await new Promise((r) => setTimeout(r, 3000));
    console.log(`  operator requests during ${f.steadySeconds} s of steady state:\n${table(operatorRequests(cp, user, steadyFrom, steadyTo))}`);
    const perMinute: string[] = [];
    for (let from = steadyFrom; from < steadyTo; from += 60_000) {
      const n = [...operatorRequests(cp, user, from, Math.min(from + 60_000, steadyTo)).entries()].filter(([k]) => !k.endsWith(' leases')).reduce((s, [, v]) => s + v, 0);
      perMinute.push(String(n));
    }
    console.log(`  of which not lease renewals, per minute of the window: ${perMinute.join(', ')}`);
    clearInterval(sampler);
    const minutes: string[] = [];
    for (let from = steadyFrom; from < steadyTo; from += 60_000) minutes.push(peakBetween(from, Math.min(from + 60_000, steadyTo)));
    console.log(
      `  operator RSS peaks (sampled every 500 ms, MiB): until converged ${peakBetween(t0, converged)}, until the pods existed ${peakBetween(converged, podsAt)}, then until the window ${peakBetween(podsAt, steadyFrom)}, per minute of the window ${minutes.join(', ')}`,
    );
    const phase = (at: number): string => (at <= converged ? 'converging' : at <= podsAt ? 'pods' : at < steadyFrom ? 'settling' : `window minute ${Math.floor((at - steadyFrom) / 60_000) + 1}`);
    console.log(`  operator peak RSS rose (high-water mark, checked every 500 ms) at: ${hwmRises.filter((r) => r.mib >= 80).map((r) => `${((r.at - t0) / 1000).toFixed(1)} s (${phase(r.at)}) to ${r.mib.toFixed(0)}`).join(', ') || 'never above 80 MiB'}`);
    console.log(`  user agents: ${[...userAgents(cp, user)].join(', ')}`);
    console.log(`  operator reconciles over the whole run: ${await operatorReconciles(op.pid!)}; memory now: ${(await operatorMemory(op.pid!)) ?? 'its /metrics could not be read'}`);
    const snapNote = f.heapSnapshotDir !== undefined ? ' (includes writing the heap snapshot: read the peak at convergence above)' : '';
    console.log(`  operator peak RSS ${rssMiB(op.pid!, 'VmHWM').toFixed(0)} MiB${snapNote} (now ${rssMiB(op.pid!, 'VmRSS').toFixed(0)} MiB); kube-apiserver RSS ${rssMiB(cp.apiServerPid, 'VmRSS').toFixed(0)} MiB`);
    if (op.exitCode !== null) console.log(`  operator exited ${op.exitCode}: ${opErr}`);
  } finally {
    op?.kill('SIGTERM');
    await cp.stop();
  }
}

/**
 * CPU of the API server and etcd per write, by kind and method, on a control plane that runs
 * nothing else. Bodies are the operator's own (rendered for a Collector named like the object).
 */
async function writeCost(f: Flags): Promise<void> {
  const { renderCollector } = await import('../operator/src/render/collector-chart.js');
  const { decodeCollector } = await import('../operator/src/api/v1alpha1/collector-types.js');
  const cp = await startRealControlPlane({});
  try {
    const etcdPid = childPid('etcd');
    const n = f.collectors;
    await must(cp, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'cost' } });
    const objectsOf = (name: string): Array<{ kind: string; apiVersion: string; metadata: { name: string; namespace?: string }; [k: string]: unknown }> => {
      const d = decodeCollector({ metadata: { name, namespace: 'cost', uid: `uid-${name}`, generation: 1 }, spec: { config: 'logging {}\n' } });
      if (!d.ok) throw new Error(d.message);
      return renderCollector({ collector: d.collector, defaultImage: 'alloy:bench', config: 'logging {}\n' }) as never;
    };
    const plural: Record<string, string> = { ConfigMap: 'configmaps', Service: 'services', ServiceAccount: 'serviceaccounts', StatefulSet: 'statefulsets' };
    const base = (o: { apiVersion: string; kind: string }): string => `${o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`}/namespaces/cost/${plural[o.kind]}`;
    const rows: string[] = [];
    for (const kind of ['ConfigMap', 'Service', 'ServiceAccount', 'StatefulSet']) {
      for (const method of ['create (POST)', 'apply, creating', 'apply, unchanged'] as const) {
        // Services: the receiver one (a ClusterIP, allocated from the service range) and the headless peer one alternate.
        const prefix = method === 'create (POST)' ? 'p' : 'a';
        const bodies = Array.from({ length: n }, (_, i) => objectsOf(`${prefix}${i}`).filter((o) => o.kind === kind)[i % (kind === 'Service' ? 2 : 1)]!);
        const cpu0 = cpuSeconds(cp.apiServerPid) + (etcdPid === undefined ? 0 : cpuSeconds(etcdPid));
        const t0 = Date.now();
        await pool(bodies, 16, async (o) => {
          if (method === 'create (POST)') await must(cp, 'POST', base(o), o);
          else await mustApply(cp, `${base(o)}/${o.metadata.name}?fieldManager=alloy-operator&force=true`, o);
        });
        const cpu = cpuSeconds(cp.apiServerPid) + (etcdPid === undefined ? 0 : cpuSeconds(etcdPid)) - cpu0;
        rows.push(`    ${kind.padEnd(15)} ${method.padEnd(17)} ${((cpu / n) * 1000).toFixed(2).padStart(6)} ms CPU each (API server + etcd), ${((Date.now() - t0) / n).toFixed(2).padStart(6)} ms wall each at 16 in flight`);
      }
    }
    console.log(`write cost, ${n} requests per row, load average ${load()}:\n${rows.join('\n')}`);
  } finally {
    await cp.stop();
  }
}

async function mustApply(cp: RealControlPlane, p: string, body: unknown): Promise<void> {
  const r = await call(cp, 'PATCH', p, body, 'application/apply-patch+yaml');
  if (r.code >= 300) throw new Error(`apply ${p}: ${r.code} ${r.text.slice(0, 300)}`);
}

async function main(): Promise<void> {
  const f = flags(process.argv.slice(2));
  if (f.writeCost) {
    await writeCost(f);
    agent.destroy();
    return;
  }
  if (f.only !== 'without') {
    console.log(`run 1: ${f.unrelated} unrelated ConfigMaps, then ${f.collectors} Collectors`);
    await run(f, f.unrelated);
  }
  if (f.only !== 'with') {
    console.log(`run 2: no unrelated objects, ${f.collectors} Collectors`);
    await run(f, 0);
  }
  agent.destroy();
}

await main();
