/**
 * The docs' Kubernetes logs pipeline (discovery.kubernetes → discovery.relabel →
 * loki.source.kubernetes with clustering → loki.process → loki.write) run by three clustered
 * `bin/alloy run` processes against the dev cluster: five pods print numbered lines; one of them
 * exits mid-way and is restarted by the kubelet. Every line of every run must reach the Loki sink
 * exactly once, with the namespace/pod/container labels, and the pods must be spread over the
 * collectors (each tails only what it owns). A second journey moves ownership while five pods
 * log (a collector joins, then one leaves with SIGTERM, at once or after the join settled):
 * positions are handed over between collectors; no line may be lost or repeated.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useCluster, type TestCluster } from '../cluster/harness/cluster.js';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { freePort, root, spawnProc, alloyBin, stopAll, until, type Proc } from '../metrics/harness.js';
import { plainOfBody, type AlloyJSONStatement } from '../../collector/src/syntax/index.js';

const built = fs.existsSync(path.join(root, 'dist/collector/src/cli/main.js'));
if (!built && process.env.CI !== 'true') process.stderr.write('SKIP: dist/ is missing; run "npm run build"\n');

const PODS = 5;
const LINES = 80;
// Prints RUN n for n = 1..LINES (env LINES, default 80), one every 20 ms, then stays up quietly; with EXIT_AT set, exits after that many lines (restartPolicy Always restarts it).
const SCRIPT = `const run = Math.random().toString(36).slice(2, 8); let i = 0; const stopAt = Number(process.env.EXIT_AT || 0); const lines = Number(process.env.LINES || ${LINES});
const t = setInterval(() => { i++; console.log('run=' + run + ' n=' + i); if (i === stopAt) process.exit(1); if (i >= lines) { clearInterval(t); setInterval(() => undefined, 60000); } }, 20);`;

function config(ns: string, sinkUrl: string, kubeconfig: string): string {
  return `discovery.kubernetes "pods" {
  role            = "pod"
  kubeconfig_file = ${JSON.stringify(kubeconfig)}
  namespaces {
    names = [${JSON.stringify(ns)}]
  }
}

discovery.relabel "pod_logs" {
  targets = discovery.kubernetes.pods.targets
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }
  rule {
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }
}

loki.source.kubernetes "pod_logs" {
  targets    = discovery.relabel.pod_logs.output
  forward_to = [loki.process.pod_logs.receiver]
  client {
    kubeconfig_file = ${JSON.stringify(kubeconfig)}
  }
  clustering {
    enabled = true
  }
}

loki.process "pod_logs" {
  stage.static_labels {
    values = {
      cluster = "dev",
    }
  }
  forward_to = [loki.write.sink.receiver]
}

loki.write "sink" {
  endpoint {
    url        = ${JSON.stringify(sinkUrl)}
    batch_wait = "100ms"
  }
}
`;
}

let cluster: TestCluster;
let dir: string;
beforeAll(async () => {
  cluster = await useCluster({ forceLocal: true });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lsk-cl-'));
}, 60_000);
afterAll(async () => {
  await stopAll();
  await cluster?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

type Node = Proc & { base: string };

/** Starts clustered `alloy run` node `name` on `port`, joining `join`. */
function startNode(cfg: string, name: string, port: number, join: string): Node {
  const p = spawnProc(name, process.execPath, [alloyBin, 'run', `--server.http.listen-addr=127.0.0.1:${port}`, `--storage.path=${path.join(dir, name)}`, '--cluster.enabled=true', `--cluster.node-name=${name}`, `--cluster.join-addresses=${join}`, '--cluster.name=lsk', '--cluster.rejoin-interval=2s', cfg]);
  return { ...p, base: `http://127.0.0.1:${port}` };
}

const peerViews = new Map<string, string>();

/** How many peers `n` lists (-1 when it does not answer); keeps the last answer for `waitPeers`'s timeout message. */
async function peersSeen(n: Node): Promise<number> {
  try {
    const peers = (await (await fetch(`${n.base}/api/v0/web/peers`, { signal: AbortSignal.timeout(5_000) })).json()) as unknown[];
    peerViews.set(n.name, JSON.stringify(peers));
    return peers.length;
  } catch (err) {
    peerViews.set(n.name, `no answer: ${String(err)}`);
    return -1;
  }
}

/**
 * Waits until every node lists `want` peers (60 s for the whole group: three cold starts on a loaded
 * 2-core CI machine); the timeout names each node's view, exit state and log.
 */
async function waitPeers(nodes: readonly Node[], want: number, every: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (const [i, n] of nodes.entries()) {
    await until(
      () => `${n.name} to see ${want} peers; views:\n${nodes.map((m) => `${m.name} (exit ${String(m.proc.exitCode ?? m.proc.signalCode)}): ${peerViews.get(m.name) ?? '-'}`).join('\n')}\n${n.name}'s log:\n${n.output()}`,
      async () => (await Promise.all(nodes.map(peersSeen)))[i] === want,
      Math.max(0, deadline - Date.now()),
      every,
    );
  }
}

/** Containers (`<ns>/<pod>`) a node tails now, from its component debug info. */
async function owned(n: Node): Promise<string[]> {
  // The components API answers typed Alloy bodies (as upstream): read them as plain JSON.
  const info = (await (await fetch(`${n.base}/api/v0/web/components/loki.source.kubernetes.pod_logs`)).json()) as { debugInfo: AlloyJSONStatement[] };
  const debug = plainOfBody(info.debugInfo) as { targets: Array<{ container: string }> };
  return debug.targets.map((t) => t.container.split(':')[0]!);
}

type Runs = Map<string, Map<string, number[]>>; // pod → run → numbers

function runsOf(sink: LokiSink): Runs {
  const m: Runs = new Map();
  for (const e of sink.entries) {
    const pod = /pod="([^"]+)"/.exec(e.stream)?.[1] ?? '?';
    const r = /^run=(\w+) n=(\d+)$/.exec(e.line);
    if (!r) throw new Error(`unexpected line ${JSON.stringify(e.line)}`);
    const byRun = m.get(pod) ?? new Map<string, number[]>();
    byRun.set(r[1]!, [...(byRun.get(r[1]!) ?? []), Number(r[2])]);
    m.set(pod, byRun);
  }
  return m;
}

async function api(method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(cluster.local!.url + p, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

(built || process.env.CI === 'true' ? test : test.skip)('three clustered collectors deliver every line of five pods exactly once, a restarted container included', async () => {
  const ns = `lsk-cl-${process.pid}`;
  await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const sink = new LokiSink();
  await sink.start();
  try {
    const cfg = path.join(dir, 'config.alloy');
    fs.writeFileSync(cfg, config(ns, sink.url, cluster.kubeconfig));
    const ports = [await freePort(), await freePort(), await freePort()];
    const join = ports.map((p) => `127.0.0.1:${p}`).join(',');
    const nodes = ports.map((port, i) => startNode(cfg, `lsk-${i}`, port, join));
    // the cluster forms before any pod exists, so ownership is settled when tailing starts
    await waitPeers(nodes, 3, 200);

    for (let i = 0; i < PODS; i++) {
      await api('POST', `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p${i}` },
        spec: { restartPolicy: 'Always', containers: [{ name: 'app', image: 'harness/node', command: ['node', '-e', SCRIPT], env: i === 0 ? [{ name: 'EXIT_AT', value: '30' }] : [] }] },
      });
    }

    const runs = (): Runs => runsOf(sink);
    const summary = (): string => JSON.stringify([...runs()].map(([p, rs]) => [p, [...rs.values()].map((n) => n.length)]));
    // p1..p4 print LINES and stay; p0 exits at 30 and restarts: wait for 2 of its runs of 30
    await until(`all lines at the sink: ${summary()}`, () => {
      const r = runs();
      if (r.size !== PODS) return false;
      for (let i = 1; i < PODS; i++) if (![...(r.get(`p${i}`)?.values() ?? [])].some((n) => n.length >= LINES)) return false;
      return [...(r.get('p0')?.values() ?? [])].filter((n) => n.length >= 30).length >= 2;
    }, 90_000, 200);

    for (const [pod, byRun] of runs()) {
      for (const ns of byRun.values()) expect({ pod, ns }).toEqual({ pod, ns: Array.from({ length: ns.length }, (_, k) => k + 1) });
      if (pod !== 'p0') expect(byRun.size).toBe(1);
    }
    const streams = new Set(sink.entries.map((e) => e.stream));
    for (let i = 0; i < PODS; i++) expect(streams).toContain(`{cluster="dev", container="app", instance="${ns}/p${i}:app", job="loki.source.kubernetes.pod_logs", namespace="${ns}", pod="p${i}"}`);

    // each pod tailed by exactly one collector, and more than one collector has work
    const owners = await Promise.all(nodes.map(owned));
    expect(owners.flat().sort()).toEqual(Array.from({ length: PODS }, (_, i) => `${ns}/p${i}`));
    expect(owners.filter((o) => o.length > 0).length).toBeGreaterThan(1);
  } finally {
    await stopAll();
    await sink.stop();
  }
}, 180_000);

/** Per pod of `sink`: how many lines arrived more than once (a line repeated twice counts 2). */
function repeatsOf(sink: LokiSink): Map<string, number> {
  const out = new Map<string, number>();
  for (const [pod, byRun] of runsOf(sink)) {
    const all = [...byRun.values()].flat();
    out.set(pod, all.length - new Set(all).size);
  }
  return out;
}

/** `1-100,1-400`: a pod's numbers as ranges, in arrival order (a repeat shows as a second range). */
function ranges(ns: number[]): string {
  return ns.reduce<string[]>((out, n, i) => (i > 0 && n === ns[i - 1]! + 1 ? (out[out.length - 1] = `${out[out.length - 1]!.split('-')[0]}-${n}`, out) : [...out, String(n)]), []).join(',');
}

/** Lines a container tailer forwarded on `n` (debug info), by `<ns>/<pod>`. */
async function linesOn(n: Node): Promise<Map<string, number>> {
  const info = (await (await fetch(`${n.base}/api/v0/web/components/loki.source.kubernetes.pod_logs`)).json()) as { debugInfo: AlloyJSONStatement[] };
  const debug = plainOfBody(info.debugInfo) as { targets: Array<{ container: string; lines: number }> };
  return new Map(debug.targets.map((t) => [t.container.split(':')[0]!, t.lines]));
}

// Two orders of the same moves. 'at once': the collector leaves while the joiner's handovers are
// still pending (the joiner waits 1 s for the views to settle before asking), so positions of
// containers the leaver gave away to the joiner must reach the joiner though the leaver is gone
// from its view by then. 'after the join settled': the joiner forwards lines of every container
// it took before the other collector leaves, so the join and the leave are judged apart.
(built || process.env.CI === 'true' ? test.each : test.skip.each)(['at once', 'after the join settled'])('ownership moves while five pods log (a collector joins, another leaves %s): no line is lost or repeated', async (order) => {
  const ns = `lsk-mv-${process.pid}-${order === 'at once' ? 'a' : 'b'}`;
  const MOVING_LINES = 400; // 8 s of lines per pod
  await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const sink = new LokiSink();
  await sink.start();
  try {
    const cfg = path.join(dir, `config-move-${ns}.alloy`);
    fs.writeFileSync(cfg, config(ns, sink.url, cluster.kubeconfig));
    const ports = [await freePort(), await freePort(), await freePort()];
    const join = ports.slice(0, 2).map((p) => `127.0.0.1:${p}`).join(',');
    const nodes = [startNode(cfg, 'mv-0', ports[0]!, join), startNode(cfg, 'mv-1', ports[1]!, join)];
    await waitPeers(nodes, 2, 200);
    for (let i = 0; i < PODS; i++) {
      await api('POST', `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `p${i}` },
        spec: { restartPolicy: 'Never', containers: [{ name: 'app', image: 'harness/node', command: ['node', '-e', SCRIPT], env: [{ name: 'LINES', value: String(MOVING_LINES) }] }] },
      });
    }
    const summary = (): string => JSON.stringify([...runsOf(sink)].map(([p, rs]) => [p, [...rs.values()].map((n) => n.length)]));
    await until(`lines of every pod at the sink: ${summary()}`, () => runsOf(sink).size === PODS, 30_000, 100);
    const seen = (): string => [...runsOf(sink)].map(([pod, byRun]) => `${pod}: ${[...byRun.values()].map(ranges).join(' | ')}`).join('; ');
    const logs = (): string => nodes.map((n) => n.output().split('\n').filter((l) => /resuming|position|loki.source.kubernetes|membership/.test(l)).slice(-12).join('\n')).join('\n');

    // a third collector joins: the containers it now owns (by hashing: possibly none) move to it mid-stream
    const joiner = startNode(cfg, 'mv-2', ports[2]!, join);
    nodes.push(joiner);
    await waitPeers(nodes, 3, 100);
    const shares = await until(`every container tailed by exactly one of the three collectors`, async () => {
      const o = await Promise.all(nodes.map((n) => owned(n).catch(() => [] as string[])));
      return o.flat().sort().join() === Array.from({ length: PODS }, (_, i) => `${ns}/p${i}`).join() ? o : undefined;
    }, 30_000, 100);
    const moved = shares[2]!.map((c) => c.split('/')[1]!);
    let joinRepeats: number | undefined;
    if (order === 'after the join settled') {
      // the joiner resumed every container it took and forwarded from there
      await until(`${joiner.name} forwarding lines of ${moved.join(', ')}`, async () => {
        const got = await linesOn(joiner).catch(() => new Map<string, number>());
        return shares[2]!.every((c) => (got.get(c) ?? 0) > 0);
      }, 30_000, 100);
      // settle: a repeat the joiner sent would arrive within a batch_wait or two
      await new Promise((r) => setTimeout(r, 500));
      const r = repeatsOf(sink);
      joinRepeats = [...r.values()].reduce((a, b) => a + b, 0);
      if (joinRepeats > 0) throw new Error(`the join repeated ${joinRepeats} lines (${moved.join(', ')} moved): ${seen()}\n${logs()}`);
    }
    // one of the first two collectors (the one tailing more) leaves with SIGTERM: its containers move to the others
    const li = shares[0]!.length >= shares[1]!.length ? 0 : 1;
    const leaving = nodes[li]!;
    const left = shares[li]!.map((c) => c.split('/')[1]!);
    // how many moved containers the joiner had resumed when the leave began (at once: usually none)
    const resumed = [...(await linesOn(joiner).catch(() => new Map<string, number>()))].filter(([c, n]) => shares[2]!.includes(c) && n > 0).length;
    await leaving.stop();

    await until(`all ${MOVING_LINES} lines of every pod: ${summary()}`, () => {
      const r = runsOf(sink);
      return r.size === PODS && [...r.values()].every((byRun) => [...byRun.values()].some((n) => n.length >= MOVING_LINES));
    }, 90_000, 200);
    // settle: a late repeat would arrive within a batch_wait or two
    await new Promise((r) => setTimeout(r, 500));
    for (const [pod, byRun] of runsOf(sink)) {
      const all = [...byRun.values()].flat();
      if (byRun.size !== 1 || new Set(all).size !== MOVING_LINES) throw new Error(`${pod}: lines lost: ${seen()}\n${logs()}`);
      expect({ pod, got: [...new Set(all)].sort((a, b) => a - b) }).toEqual({ pod, got: Array.from({ length: MOVING_LINES }, (_, k) => k + 1) });
    }
    // Repeats, by the move that made them: pods taken by the joiner, pods of the leaver, the others.
    const r = repeatsOf(sink);
    const sum = (pods: string[]): number => pods.reduce((a, p) => a + (r.get(p) ?? 0), 0);
    const others = [...r.keys()].filter((p) => !moved.includes(p) && !left.includes(p));
    const byMove = { join: sum(moved), leave: sum(left), others: sum(others) };
    console.log(`ownership moves (leave ${order}): ${joiner.name} took over ${moved.join(', ') || 'nothing'}; ${leaving.name} left owning ${left.join(', ') || 'nothing'} when the joiner had resumed ${resumed} of ${moved.length}; ${PODS * MOVING_LINES} lines, none lost, repeated: ${JSON.stringify(byMove)}`);
    if (byMove.join + byMove.leave + byMove.others > 0) throw new Error(`lines repeated ${JSON.stringify(byMove)}: ${seen()}\n${logs()}`);
    expect(byMove).toEqual({ join: 0, leave: 0, others: 0 });
    expect(moved.length + left.length).toBeGreaterThan(0);
  } finally {
    await stopAll();
    await sink.stop();
  }
}, 180_000);
