/**
 * One pod's lifecycle on the local node: volumes, init containers (incl. native sidecars with
 * `restartPolicy: Always`), containers as host processes (each in its own process group),
 * probes, restarts with CrashLoopBackOff, status, graceful termination.
 *
 * Contracts:
 * - `start()` never rejects; failures become container waiting reasons, events and status.
 * - `terminate(grace)` sends SIGTERM to every container's process group, waits up to `grace`
 *   seconds, then SIGKILLs; it resolves when every process has exited. After it, nothing restarts.
 * - The latest pod object is handed over with `update()`; the worker never writes spec.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'winston';
import type { Container, ContainerStateTerminated, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus, Probe } from '../harness/k8s-types.js';
import type { KubeClient } from '../harness/kube-client.js';
import { RESOURCES, isNotFound, isUidMismatch } from '../harness/kube-client.js';
import { abortableSleep } from '../harness/informer.js';
import { containerEnv, expandArgv, mapPath, mapPaths, EnvError, type EnvSources, type PathMap } from './container-env.js';
import { resolveImage, type ImageRule } from './image-map.js';
import { LogWriter, logFilePath } from './container-logs.js';
import { syncVolumes, VolumeError } from './volumes.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';
import { PodNetwork } from './pod-network.js';
import type { RunningContainer } from './container-streams.js';

export type EventType = 'Normal' | 'Warning';

/** What a worker needs from its kubelet. */
export interface NodeContext {
  readonly client: KubeClient;
  readonly nodeName: string;
  readonly hostIP: string;
  readonly stateDir: string;
  readonly imageRules: readonly ImageRule[];
  /** `file://` URL of pod-preload.mjs. */
  readonly preloadUrl: string;
  readonly dnsFile: string;
  /** host:port pairs that `localhost` connects inside pods must NOT be redirected for (the API server). */
  readonly passthrough: readonly string[];
  /** Kubeconfig path given to pods as KUBECONFIG (in-cluster API access). */
  readonly podKubeconfig?: string;
  /** Real ServiceAccount tokens for projected `serviceAccountToken` sources (TokenRequest). */
  readonly serviceAccountTokens?: ServiceAccountTokens;
  /**
   * Run each container in a private mount namespace in which its volume mounts under
   * `/var/run/secrets` are bind mounts of the volume's host directory (on a tmpfs covering
   * `/run/secrets`), so fixed in-cluster paths such as the ServiceAccount directory resolve as
   * in a container. Needs root and `unshare`. @default false
   */
  readonly secretMounts?: boolean;
  /** Extra env for every container (e.g. KUBERNETES_SERVICE_HOST). */
  readonly baseEnv: Readonly<Record<string, string>>;
  /** Multiplies probe periods/delays (tests use < 1). */
  readonly timeScale: number;
  /** First CrashLoopBackOff delay (doubles per restart, capped at 5 min). */
  readonly crashLoopBaseMs: number;
  /** Period of each pod's sync, which re-projects its ConfigMap/Secret volumes (kubelet `syncFrequency`). */
  readonly podSyncPeriodMs: number;
  /** Each period is stretched by up to this factor at random (the kubelet's resync jitter, 0.5). */
  readonly podSyncJitter: number;
  readonly sources: EnvSources;
  readonly logger: Logger;
  event(pod: Pod, type: EventType, reason: string, message: string, fieldPath?: string): void;
  /** Called when readiness or IPs changed (DNS rebuild). */
  statusChanged(): void;
}

interface ContainerRun {
  readonly spec: Container;
  readonly kind: 'init' | 'sidecar' | 'main';
  restartCount: number;
  child?: ChildProcess;
  containerID?: string;
  startedAt?: string;
  waiting?: { reason: string; message?: string };
  terminated?: ContainerStateTerminated;
  lastTerminated?: ContainerStateTerminated;
  previousTerminated?: ContainerStateTerminated;
  ready: boolean;
  started: boolean;
  exited?: Promise<ContainerStateTerminated>;
  probes?: AbortController;
  /** Set when the kubelet itself kills the instance (liveness, deletion). */
  killReason?: string;
  /** How the running instance was started, for exec: its env and working directory. */
  process?: { env: Record<string, string>; cwd: string; mountNamespace: boolean };
  /** Listeners of the running instance's output (attach). */
  taps: Set<(stream: 'stdout' | 'stderr', chunk: Buffer) => void>;
  /** An attach with stdin has detached from this instance (for `stdinOnce`). */
  stdinUsed?: boolean;
}

type StartResult = 'started' | 'config-error' | 'image-error';

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGTERM: 15, SIGSEGV: 11, SIGPIPE: 13 };
const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
let containerSeq = 0;

export class PodWorker {
  readonly uid: string;
  readonly ip: string;
  readonly dir: string;
  #ctx: NodeContext;
  #pod: Pod;
  #runs = new Map<string, ContainerRun>();
  #initDone = false;
  #volumesReady = false;
  #terminating = false;
  #startTime = now();
  #transitions = new Map<string, { status: string; at: string }>();
  #statusTimer: NodeJS.Timeout | undefined;
  #lastStatus = '';
  /** `kubeletView` of the last status written, to notice another writer's change. */
  #writtenView = '';
  #statusWrite: Promise<void> = Promise.resolve();
  #volumeTimer: NodeJS.Timeout | undefined;
  #periodicTimer: NodeJS.Timeout | undefined;
  /** Volume syncs run one at a time, in order. */
  #volumeSync: Promise<void> = Promise.resolve();
  #gone = false;
  /** Aborted by terminate(): wakes every back-off, retry and probe sleep so no timer outlives the pod. */
  #stop = new AbortController();

  /** The pod's network namespace (`ip netns` name) its containers run in; undefined: the host's. */
  readonly netns: string | undefined;

  constructor(ctx: NodeContext, pod: Pod, ip: string, netns?: string) {
    this.#ctx = ctx;
    this.#pod = pod;
    this.uid = pod.metadata.uid ?? '';
    this.ip = ip;
    this.netns = netns;
    this.dir = path.join(ctx.stateDir, 'pods', this.uid);
    for (const c of pod.spec.initContainers ?? []) this.#runs.set(c.name, newRun(c, c.restartPolicy === 'Always' ? 'sidecar' : 'init'));
    for (const c of pod.spec.containers) this.#runs.set(c.name, newRun(c, 'main'));
  }

  get pod(): Pod {
    return this.#pod;
  }

  get terminating(): boolean {
    return this.#terminating;
  }

  /**
   * Hands over the latest pod object. A change of its labels, annotations or spec is a pod
   * update for which a real kubelet syncs the pod at once, re-projecting its volumes; so does
   * this one (status-only changes do not count).
   */
  update(pod: Pod): void {
    const before = this.#pod;
    this.#pod = pod;
    // The API's status differs from the last one written here in what the kubelet owns (another
    // writer, e.g. the node lifecycle controller marking pods not Ready): write it again, as the
    // kubelet's status manager reconciles.
    if (this.#writtenView !== '' && pod.status !== undefined && kubeletView(pod.status) !== this.#writtenView) {
      this.#lastStatus = '';
      this.#scheduleStatus();
    }
    const semantic = (p: Pod): string => JSON.stringify([p.metadata.labels ?? {}, p.metadata.annotations ?? {}, p.spec]);
    if (this.#volumesReady && semantic(before) !== semantic(pod)) this.resyncVolumes(0);
  }

  /** Container names in spec order (init first), for logs and tests. */
  containerNames(): string[] {
    return [...this.#runs.keys()];
  }

  /** restartCount, or -1 for an unknown container. */
  restartCount(container: string): number {
    return this.#runs.get(container)?.restartCount ?? -1;
  }

  /** True while the instance `instance` of the container is still running. */
  instanceRunning(container: string, instance: number): boolean {
    const r = this.#runs.get(container);
    // `child` is cleared only after the process exited and its output streams closed.
    return Boolean(r && r.restartCount === instance && r.child);
  }

  pids(): number[] {
    return [...this.#runs.values()].flatMap((r) => (r.child?.pid ? [r.child.pid] : []));
  }

  /**
   * The running instance of `container` as exec and attach need it; 'unknown' when the pod has
   * no such container, 'not-running' when it has no running process.
   */
  runningContainer(container: string): RunningContainer | 'unknown' | 'not-running' {
    const r = this.#runs.get(container);
    if (!r) return 'unknown';
    const child = r.child;
    if (!child?.pid || !r.process || !r.exited || child.exitCode !== null || child.signalCode !== null) return 'not-running';
    return {
      name: container,
      pid: child.pid,
      env: r.process.env,
      cwd: r.process.cwd,
      ...(this.netns ? { netns: this.netns } : {}),
      mountNamespace: r.process.mountNamespace,
      ...(child.stdin ? { stdin: child.stdin } : {}),
      stdinOnce: r.spec.stdinOnce === true,
      exited: r.exited,
      taps: r.taps,
    };
  }

  /** Ready condition as computed by this worker. */
  isReady(): boolean {
    return this.#conditions().find((c) => c.type === 'Ready')?.status === 'True';
  }

  async start(): Promise<void> {
    try {
      await fsp.mkdir(this.dir, { recursive: true });
      this.#scheduleStatus();
      await this.#setupVolumes();
      if (this.#terminating) return;
      this.#schedulePeriodicSync();
      for (const run of this.#runs.values()) {
        if (run.kind === 'main') run.waiting = { reason: 'PodInitializing' };
      }
      for (const run of this.#runs.values()) {
        if (this.#terminating) return;
        if (run.kind === 'init') {
          const ok = await this.#runLoop(run);
          if (!ok) return this.#scheduleStatus();
        } else if (run.kind === 'sidecar') {
          void this.#runLoop(run);
          await this.#untilStarted(run);
        }
      }
      this.#initDone = true;
      for (const run of this.#runs.values()) if (run.kind === 'main') void this.#runLoop(run);
      this.#scheduleStatus();
    } catch (e) {
      this.#ctx.logger.error(`pod ${this.#name()}: ${String(e)}`);
    }
  }

  /** Re-projects ConfigMap/Secret/downwardAPI volumes after `delayMs` (coalesced). */
  resyncVolumes(delayMs: number): void {
    if (this.#volumeTimer || this.#terminating) return;
    this.#volumeTimer = setTimeout(() => {
      this.#volumeTimer = undefined;
      void this.#syncVolumesNow();
    }, delayMs);
  }

  #syncVolumesNow(): Promise<void> {
    this.#volumeSync = this.#volumeSync.then(async () => {
      if (this.#terminating) return;
      await syncVolumes(this.#volumeContext()).catch((e: unknown) => this.#ctx.logger.warn(`pod ${this.#name()}: volume resync: ${String(e)}`));
    });
    return this.#volumeSync;
  }

  /** The periodic pod sync: every period, stretched by a random jitter, as the kubelet's pod workers. */
  #schedulePeriodicSync(): void {
    if (this.#terminating) return;
    const ms = this.#ctx.podSyncPeriodMs * (1 + Math.random() * this.#ctx.podSyncJitter);
    this.#periodicTimer = setTimeout(() => {
      this.#periodicTimer = undefined;
      void this.#syncVolumesNow().then(() => this.#schedulePeriodicSync());
    }, ms);
  }

  /** True when one of the pod's volumes or env sources references this ConfigMap/Secret name. */
  references(kind: 'configmap' | 'secret', name: string): boolean {
    const spec = this.#pod.spec;
    for (const v of spec.volumes ?? []) {
      if (kind === 'configmap' && v.configMap?.name === name) return true;
      if (kind === 'secret' && v.secret?.secretName === name) return true;
      const sources = (v.projected as { sources?: { configMap?: { name: string }; secret?: { name: string } }[] } | undefined)?.sources ?? [];
      if (sources.some((s) => (kind === 'configmap' ? s.configMap?.name : s.secret?.name) === name)) return true;
    }
    return false;
  }

  async terminate(graceSeconds: number, reason = 'Stopping container'): Promise<void> {
    const firstCall = !this.#terminating;
    this.#terminating = true;
    this.#stop.abort();
    if (this.#volumeTimer) clearTimeout(this.#volumeTimer);
    if (this.#periodicTimer) clearTimeout(this.#periodicTimer);
    const running = [...this.#runs.values()].filter((r) => r.child && r.child.exitCode === null && r.child.signalCode === null);
    for (const r of running) {
      r.probes?.abort();
      r.killReason = 'deleted';
      if (firstCall) this.#ctx.event(this.#pod, 'Normal', 'Killing', `${reason} ${r.spec.name}`, this.#fieldPath(r));
      signalGroup(r.child!, 'SIGTERM');
    }
    // Capture the processes now: a container that exits during the grace period clears `child`.
    const victims = running.map((r) => r.child!);
    const deadline = setTimeout(() => {
      for (const c of victims) signalGroup(c, 'SIGKILL');
    }, Math.max(0, graceSeconds * 1000));
    await Promise.all(running.map((r) => r.exited));
    clearTimeout(deadline);
    for (const r of this.#runs.values()) {
      r.ready = false;
      if (r.waiting) {
        r.waiting = undefined;
        if (!r.terminated) r.terminated = { exitCode: 0, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', finishedAt: now() };
      }
    }
    this.#scheduleStatus();
  }

  /** Stops status writes (the pod object is gone). */
  markGone(): void {
    this.#gone = true;
    if (this.#statusTimer) clearTimeout(this.#statusTimer);
  }

  async flushStatus(): Promise<void> {
    if (this.#statusTimer) {
      clearTimeout(this.#statusTimer);
      this.#statusTimer = undefined;
      this.#statusWrite = this.#statusWrite.then(() => this.#writeStatus());
    }
    await this.#statusWrite;
  }

  async cleanup(): Promise<void> {
    this.markGone();
    await fsp.rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  // ---- volumes ----

  #volumeContext(): Parameters<typeof syncVolumes>[0] {
    const pod = this.#pod;
    const tokens = this.#ctx.serviceAccountTokens;
    const serviceAccountToken = tokens
      ? (source: Parameters<ServiceAccountTokens['token']>[1]) =>
          tokens.token({ namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', uid: this.uid, serviceAccountName: pod.spec.serviceAccountName ?? 'default' }, source)
      : undefined;
    return { pod, podIP: this.ip, hostIP: this.#ctx.hostIP, sources: this.#ctx.sources, podDir: this.dir, stateDir: this.#ctx.stateDir, ...(serviceAccountToken ? { serviceAccountToken } : {}) };
  }

  async #setupVolumes(): Promise<void> {
    let lastMessage = '';
    for (let attempt = 0; !this.#terminating; attempt++) {
      try {
        await syncVolumes(this.#volumeContext());
        this.#volumesReady = true;
        return;
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        if (!(e instanceof VolumeError)) this.#ctx.logger.warn(`pod ${this.#name()}: volumes: ${msg}`);
        if (msg !== lastMessage) {
          this.#ctx.event(this.#pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${msg}`);
          lastMessage = msg;
        }
        for (const r of this.#runs.values()) r.waiting = { reason: 'ContainerCreating' };
        this.#scheduleStatus();
        await sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 5)), this.#stop.signal);
      }
    }
  }

  // ---- containers ----

  #restartAllowed(run: ContainerRun, exitCode: number): boolean {
    if (run.kind === 'sidecar') return true;
    const policy = this.#pod.spec.restartPolicy ?? 'Always';
    if (run.kind === 'init') return policy !== 'Never' && exitCode !== 0;
    return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
  }

  /** Runs a container until it should stop restarting; for init containers resolves true on success. */
  async #runLoop(run: ContainerRun): Promise<boolean> {
    let crashes = 0;
    while (!this.#terminating) {
      let result: StartResult;
      try {
        result = await this.#startInstance(run);
      } catch (e) {
        // Host-side failure preparing the container (mount copy, log file …): report and retry.
        const message = e instanceof Error ? e.message : String(e);
        run.waiting = { reason: 'RunContainerError', message };
        this.#ctx.event(this.#pod, 'Warning', 'Failed', `Error: ${message}`, this.#fieldPath(run));
        this.#scheduleStatus();
        await sleep(1000, this.#stop.signal);
        continue;
      }
      if (result === 'config-error') {
        await sleep(1000, this.#stop.signal);
        continue;
      }
      if (result === 'image-error') return false;
      const term = await run.exited!;
      if (this.#terminating) return false;
      if (run.kind === 'init' && term.exitCode === 0) return true;
      if (!this.#restartAllowed(run, term.exitCode)) {
        this.#scheduleStatus();
        return false;
      }
      const delay = crashes === 0 ? 0 : Math.min(300_000, this.#ctx.crashLoopBaseMs * 2 ** (crashes - 1));
      crashes++;
      if (delay > 0) {
        run.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${Math.round(delay / 1000)}s restarting failed container=${run.spec.name} pod=${this.#pod.metadata.name}_${this.#pod.metadata.namespace}(${this.uid})` };
        this.#ctx.event(this.#pod, 'Warning', 'BackOff', `Back-off restarting failed container ${run.spec.name} in pod ${this.#pod.metadata.name}_${this.#pod.metadata.namespace}(${this.uid})`, this.#fieldPath(run));
        this.#scheduleStatus();
        await sleep(delay, this.#stop.signal);
      }
      if (this.#terminating) return false;
      run.restartCount++;
    }
    return false;
  }

  async #untilStarted(run: ContainerRun): Promise<void> {
    while (!this.#terminating && !run.started && !(run.waiting?.reason === 'ErrImagePull')) await sleep(20, this.#stop.signal);
  }

  async #startInstance(run: ContainerRun): Promise<StartResult> {
    const c = run.spec;
    const pod = this.#pod;
    let env: Record<string, string>;
    try {
      env = containerEnv(c, { pod, podIP: this.ip, hostIP: this.#ctx.hostIP, sources: this.#ctx.sources, base: this.#ctx.baseEnv });
    } catch (e) {
      if (!(e instanceof EnvError)) throw e;
      if (run.waiting?.message !== e.message) this.#ctx.event(pod, 'Warning', 'Failed', `Error: ${e.message}`, this.#fieldPath(run));
      run.waiting = { reason: 'CreateContainerConfigError', message: e.message };
      this.#scheduleStatus();
      return 'config-error';
    }
    const image = c.image ?? '';
    const resolved = resolveImage(this.#ctx.imageRules, image, expandArgv(c.command, env), expandArgv(c.args, env));
    if (!resolved.ok) {
      run.waiting = { reason: resolved.reason, message: resolved.message };
      this.#ctx.event(pod, 'Warning', 'Failed', resolved.reason === 'ErrImagePull' ? `Failed to pull image "${image}": ${resolved.message}` : `Error: ${resolved.message}`, this.#fieldPath(run));
      this.#scheduleStatus();
      return 'image-error';
    }
    const rootfs = path.join(this.dir, 'rootfs', c.name);
    const pathMap = await this.#mounts(run, rootfs, resolved.rule.writablePaths ?? []);
    const args = mapPaths(resolved.args, pathMap);
    const hostEnv: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) hostEnv[k] = v.startsWith('/') ? (mapPath(v, pathMap) ?? v) : v;
    const hostname = pod.spec.hostname ?? pod.metadata.name ?? '';
    const finalEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: path.join(rootfs, 'root'),
      HOSTNAME: hostname,
      ...(mapPath('/tmp', pathMap) ? { TMPDIR: mapPath('/tmp', pathMap)! } : {}),
      ...(this.#ctx.podKubeconfig ? { KUBECONFIG: this.#ctx.podKubeconfig } : {}),
      ...hostEnv,
      NODE_OPTIONS: `${hostEnv.NODE_OPTIONS ?? ''} --import ${this.#ctx.preloadUrl}`.trim(),
      // hostNetwork pods share the node's address: no listen/connect remapping, DNS only.
      KUBELET_POD_IP: pod.spec.hostNetwork ? '' : this.ip,
      KUBELET_WATCHDOG_PID: String(process.pid),
      KUBELET_POD_HOSTNAME: hostname,
      KUBELET_POD_NAMESPACE: pod.metadata.namespace ?? 'default',
      KUBELET_DNS_FILE: this.#ctx.dnsFile,
      KUBELET_PASSTHROUGH: this.#ctx.passthrough.join(','),
    };
    await fsp.mkdir(finalEnv.HOME!, { recursive: true });
    const cwd = c.workingDir ? (mapPath(c.workingDir, pathMap) ?? path.join(rootfs, c.workingDir)) : rootfs;
    await fsp.mkdir(cwd, { recursive: true });
    const logFile = logFilePath(this.dir, c.name, run.restartCount);
    await fsp.mkdir(path.dirname(logFile), { recursive: true });
    const logs = new LogWriter(logFile);
    if (run.restartCount === 0) this.#ctx.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`, this.#fieldPath(run));
    const secretPairs = this.#ctx.secretMounts ? secretMountPairs(run.spec, pathMap) : [];
    const [inner, innerArgv] = withSecretMounts(resolved.executable, args, secretPairs);
    const [executable, argv] = this.netns ? PodNetwork.exec(this.netns, inner, innerArgv) : [inner, innerArgv];
    const child: ChildProcess = spawn(executable, argv, { cwd, env: finalEnv, detached: true, stdio: [c.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    child.stdin?.on('error', () => undefined);
    logs.attach(child.stdout, 'stdout');
    logs.attach(child.stderr, 'stderr');
    for (const name of ['stdout', 'stderr'] as const) {
      child[name]?.on('data', (chunk: string | Buffer) => {
        const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        for (const tap of [...run.taps]) tap(name, b);
      });
    }
    // `ip netns exec` and the secret mounts' `unshare --mount` each give the container its own mount namespace.
    run.process = { env: finalEnv, cwd, mountNamespace: secretPairs.length > 0 || this.netns !== undefined };
    run.stdinUsed = false;
    const startedAt = now();
    const containerID = `local://${child.pid ?? 0}-${++containerSeq}`;
    run.exited = new Promise<ContainerStateTerminated>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null, err?: Error): void => {
        if (done) return;
        done = true;
        logs.close();
        run.probes?.abort();
        const exitCode = code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : 128);
        const term: ContainerStateTerminated = {
          exitCode,
          ...(signal ? { signal: SIGNALS[signal] } : {}),
          reason: err ? 'StartError' : exitCode === 0 ? 'Completed' : 'Error',
          ...(err ? { message: err.message } : {}),
          startedAt,
          finishedAt: now(),
          containerID,
        };
        run.previousTerminated = run.lastTerminated;
        run.lastTerminated = term;
        run.terminated = term;
        run.child = undefined;
        run.ready = false;
        run.startedAt = undefined;
        this.#ctx.logger.info(`pod ${this.#name()} container ${c.name} exited ${exitCode}${signal ? ` (${signal})` : ''}`);
        this.#scheduleStatus();
        this.#ctx.statusChanged();
        resolve(term);
      };
      child.once('error', (err) => finish(null, null, err));
      child.once('exit', (code, signal) => {
        // PID 1 gone: the rest of the container goes with it; then let its output drain.
        signalGroup(child, 'SIGKILL');
        const t = setTimeout(() => finish(code, signal), 2000);
        child.once('close', () => {
          clearTimeout(t);
          finish(code, signal);
        });
      });
    });
    run.child = child;
    run.containerID = containerID;
    run.startedAt = startedAt;
    run.waiting = undefined;
    run.terminated = undefined;
    run.killReason = undefined;
    run.ready = false;
    run.started = false;
    this.#ctx.event(pod, 'Normal', 'Created', `Created container ${c.name}`, this.#fieldPath(run));
    this.#ctx.event(pod, 'Normal', 'Started', `Started container ${c.name}`, this.#fieldPath(run));
    this.#startProbes(run);
    this.#scheduleStatus();
    return 'started';
  }

  /** Container path → host path for this container: volume mounts (subPath copied), writable image paths. */
  async #mounts(run: ContainerRun, rootfs: string, writable: readonly string[]): Promise<PathMap> {
    const volumes = await syncVolumes(this.#volumeContext()).catch(() => new Map<string, string>());
    // Mounts come first: on an equal prefix the mount shadows the image's own directory.
    const map: [string, string][] = [];
    let i = 0;
    for (const m of run.spec.volumeMounts ?? []) {
      const host = volumes.get(m.name);
      if (!host) continue;
      if (m.subPath) {
        // A subPath is resolved once per container start and never follows later ..data swaps.
        const src = path.join(host, m.subPath);
        const dst = path.join(this.dir, 'subpaths', run.spec.name, String(i++), path.basename(m.mountPath));
        await fsp.rm(path.dirname(dst), { recursive: true, force: true });
        await fsp.mkdir(path.dirname(dst), { recursive: true });
        const st = await fsp.stat(src).catch(() => undefined);
        if (!st) await fsp.mkdir(src, { recursive: true });
        if (st?.isDirectory() !== false) await fsp.cp(src, dst, { recursive: true, dereference: true });
        else await fsp.copyFile(src, dst);
        map.push([m.mountPath, dst]);
      } else map.push([m.mountPath, host]);
    }
    for (const w of writable) {
      map.push([w, path.join(rootfs, w)]);
      await fsp.mkdir(path.join(rootfs, w), { recursive: true });
    }
    return map;
  }

  // ---- probes ----

  #startProbes(run: ContainerRun): void {
    const ac = new AbortController();
    run.probes = ac;
    const c = run.spec;
    const instance = run.restartCount;
    const alive = (): boolean => !ac.signal.aborted && run.restartCount === instance && Boolean(run.child);
    const afterStartup = (): void => {
      run.started = true;
      if (!c.readinessProbe) run.ready = true;
      this.#scheduleStatus();
      this.#ctx.statusChanged();
      if (c.readinessProbe) {
        void this.#probeLoop(c.readinessProbe, 'Readiness', alive, (ok) => {
          if (run.ready !== ok) {
            run.ready = ok;
            this.#scheduleStatus();
            this.#ctx.statusChanged();
          }
        }, run);
      }
      if (c.livenessProbe) {
        void this.#probeLoop(c.livenessProbe, 'Liveness', alive, (ok) => {
          if (!ok) this.#kill(run, 'Liveness');
        }, run);
      }
    };
    if (run.kind === 'init') {
      run.started = true;
      return;
    }
    if (c.startupProbe) {
      void this.#probeLoop(c.startupProbe, 'Startup', alive, (ok) => {
        if (ok && !run.started) afterStartup();
        else if (!ok) this.#kill(run, 'Startup');
      }, run, true);
    } else afterStartup();
  }

  #kill(run: ContainerRun, probe: string): void {
    if (!run.child || run.killReason) return;
    run.killReason = probe;
    run.probes?.abort();
    this.#ctx.event(this.#pod, 'Normal', 'Killing', `Container ${run.spec.name} failed ${probe.toLowerCase()} probe, will be restarted`, this.#fieldPath(run));
    const child = run.child;
    signalGroup(child, 'SIGTERM');
    const grace = (this.#pod.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const t = setTimeout(() => signalGroup(child, 'SIGKILL'), grace);
    void run.exited?.then(() => clearTimeout(t));
  }

  /**
   * Runs a probe every period; calls `report(true)` after `successThreshold` successes and
   * `report(false)` after `failureThreshold` failures. `once` stops after the first success.
   */
  async #probeLoop(p: Probe, kind: string, alive: () => boolean, report: (ok: boolean) => void, run: ContainerRun, once = false): Promise<void> {
    const scale = this.#ctx.timeScale;
    const period = Math.max(10, (p.periodSeconds ?? 10) * 1000 * scale);
    const failureThreshold = p.failureThreshold ?? 3;
    const successThreshold = p.successThreshold ?? 1;
    const signal = run.probes?.signal ?? this.#stop.signal;
    await sleep((p.initialDelaySeconds ?? 0) * 1000 * scale, signal);
    let fails = 0;
    let successes = 0;
    while (alive()) {
      const err = await this.#probeOnce(p, run);
      if (!alive()) return;
      if (err === undefined) {
        fails = 0;
        if (++successes >= successThreshold) {
          report(true);
          if (once) return;
        }
      } else {
        successes = 0;
        fails++;
        this.#ctx.event(this.#pod, 'Warning', 'Unhealthy', `${kind} probe failed: ${err}`, this.#fieldPath(run));
        if (fails >= failureThreshold) {
          report(false);
          if (kind !== 'Readiness') return;
        }
      }
      await sleep(period, signal);
    }
  }

  /** One probe attempt; resolves undefined on success, else the failure text. */
  async #probeOnce(p: Probe, run: ContainerRun): Promise<string | undefined> {
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    const port = (spec: number | string): number => {
      if (typeof spec === 'number' || /^\d+$/.test(spec)) return Number(spec);
      for (const cp of run.spec.ports ?? []) if (cp.name === spec) return cp.containerPort;
      return NaN;
    };
    try {
      if (p.httpGet) {
        const g = p.httpGet;
        const scheme = (g.scheme ?? 'HTTP').toLowerCase();
        const url = `${scheme}://${g.host ?? this.ip}:${port(g.port)}${g.path ?? '/'}`;
        const headers: Record<string, string> = { 'user-agent': 'kube-probe/1.32' };
        for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
        const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer();
        if (res.status >= 200 && res.status < 400) return undefined;
        return `HTTP probe failed with statuscode: ${res.status}`;
      }
      if (p.tcpSocket) {
        const net = await import('node:net');
        await new Promise<void>((resolve, reject) => {
          const s = net.connect({ host: p.tcpSocket!.host ?? this.ip, port: port(p.tcpSocket!.port), timeout: timeoutMs });
          s.once('connect', () => {
            s.destroy();
            resolve();
          });
          s.once('timeout', () => {
            s.destroy();
            reject(new Error('timeout'));
          });
          s.once('error', reject);
        });
        return undefined;
      }
      return 'only httpGet and tcpSocket probes are supported by the dev-cluster kubelet';
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message;
      return `${e instanceof Error ? e.message : String(e)}${cause ? `: ${cause}` : ''}`;
    }
  }

  // ---- status ----

  #name(): string {
    return `${this.#pod.metadata.namespace}/${this.#pod.metadata.name}`;
  }

  #fieldPath(run: ContainerRun): string {
    return `spec.${run.kind === 'main' ? 'containers' : 'initContainers'}{${run.spec.name}}`;
  }

  #containerStatus(run: ContainerRun): ContainerStatus {
    const state = run.child && run.startedAt ? { running: { startedAt: run.startedAt } } : run.waiting ? { waiting: run.waiting } : run.terminated ? { terminated: run.terminated } : { waiting: { reason: this.#volumesReady ? 'PodInitializing' : 'ContainerCreating' } };
    const last = 'terminated' in state ? run.previousTerminated : run.lastTerminated;
    return {
      name: run.spec.name,
      image: run.spec.image ?? '',
      imageID: `local-image://${run.spec.image ?? ''}`,
      ...(run.containerID ? { containerID: run.containerID } : {}),
      ready: run.ready,
      started: run.started && Boolean(run.child),
      restartCount: run.restartCount,
      state,
      lastState: last ? { terminated: last } : {},
    };
  }

  #phase(): PodPhase {
    const mains = [...this.#runs.values()].filter((r) => r.kind === 'main');
    if (!this.#initDone) {
      const failedInit = [...this.#runs.values()].some((r) => r.kind === 'init' && r.terminated && r.terminated.exitCode !== 0 && !this.#restartAllowed(r, r.terminated.exitCode));
      return failedInit ? 'Failed' : 'Pending';
    }
    if (mains.some((r) => r.child)) return 'Running';
    if (mains.every((r) => r.terminated && !this.#restartAllowed(r, r.terminated.exitCode) && !r.waiting)) {
      return mains.every((r) => r.terminated!.exitCode === 0) ? 'Succeeded' : 'Failed';
    }
    if (mains.some((r) => r.restartCount > 0 || r.terminated)) return 'Running';
    return 'Pending';
  }

  #conditions(): PodCondition[] {
    const mains = [...this.#runs.values()].filter((r) => r.kind === 'main');
    const sidecars = [...this.#runs.values()].filter((r) => r.kind === 'sidecar');
    const containersReady = !this.#terminating && this.#initDone && [...mains, ...sidecars].every((r) => r.ready && r.child);
    const set = (type: string, ok: boolean, reason?: string): PodCondition => {
      const status = ok ? 'True' : 'False';
      const prev = this.#transitions.get(type);
      if (!prev || prev.status !== status) this.#transitions.set(type, { status, at: now() });
      return { type, status, lastProbeTime: null, lastTransitionTime: this.#transitions.get(type)!.at, ...(reason && !ok ? { reason } : {}) };
    };
    return [
      set('PodReadyToStartContainers', this.#volumesReady),
      set('Initialized', this.#initDone, 'ContainersNotInitialized'),
      set('Ready', containersReady, 'ContainersNotReady'),
      set('ContainersReady', containersReady, 'ContainersNotReady'),
      set('PodScheduled', true),
    ];
  }

  computeStatus(): PodStatus {
    const runs = [...this.#runs.values()];
    return {
      phase: this.#phase(),
      conditions: this.#conditions(),
      hostIP: this.#ctx.hostIP,
      hostIPs: [{ ip: this.#ctx.hostIP }],
      podIP: this.ip,
      podIPs: [{ ip: this.ip }],
      startTime: this.#startTime,
      containerStatuses: runs.filter((r) => r.kind === 'main').map((r) => this.#containerStatus(r)),
      ...(runs.some((r) => r.kind !== 'main') ? { initContainerStatuses: runs.filter((r) => r.kind !== 'main').map((r) => this.#containerStatus(r)) } : {}),
    };
  }

  #scheduleStatus(): void {
    if (this.#gone || this.#statusTimer) return;
    this.#statusTimer = setTimeout(() => {
      this.#statusTimer = undefined;
      this.#statusWrite = this.#statusWrite.then(() => this.#writeStatus());
    }, 10);
  }

  async #writeStatus(): Promise<void> {
    if (this.#gone) return;
    const status = this.computeStatus();
    const body = JSON.stringify(status);
    if (body === this.#lastStatus) return;
    try {
      // The uid makes the patch a precondition (as the kubelet's status manager does): a late write
      // of this pod's status never lands on a newer pod of the same name (a StatefulSet replica).
      await this.#ctx.client.mergePatch(RESOURCES.pods, this.#pod.metadata.namespace, this.#pod.metadata.name ?? '', { ...(this.uid !== '' ? { metadata: { uid: this.uid } } : {}), status }, 'status');
      this.#lastStatus = body;
      this.#writtenView = kubeletView(status);
    } catch (e) {
      if (isNotFound(e) || isUidMismatch(e)) return;
      this.#ctx.logger.warn(`pod ${this.#name()}: status update failed: ${String(e)}`);
      setTimeout(() => this.#scheduleStatus(), 200);
    }
  }
}

/** The condition types `#conditions` writes. */
const KUBELET_CONDITIONS: ReadonlySet<string> = new Set(['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);

/** The parts of a pod status only the kubelet sets: phase, its conditions, container readiness. */
function kubeletView(s: PodStatus): string {
  return JSON.stringify([
    s.phase,
    (s.conditions ?? []).filter((c) => KUBELET_CONDITIONS.has(c.type)).map((c) => `${c.type}=${c.status}`).sort(),
    (s.containerStatuses ?? []).map((c) => `${c.name}=${String(c.ready)}/${c.containerID ?? ''}`),
  ]);
}

function newRun(spec: Container, kind: ContainerRun['kind']): ContainerRun {
  return { spec, kind, restartCount: 0, ready: false, started: false, waiting: { reason: 'ContainerCreating' }, taps: new Set() };
}

function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> => abortableSleep(ms, signal);

const SECRETS_ROOT = '/run/secrets';

/** Container mount path → host directory for the mounts under `/var/run/secrets` (or `/run/secrets`). */
function secretMountPairs(c: Container, pathMap: PathMap): [string, string][] {
  const out: [string, string][] = [];
  for (const m of c.volumeMounts ?? []) {
    const target = m.mountPath.replace(/^\/var\/run\//, '/run/');
    if (!target.startsWith(`${SECRETS_ROOT}/`)) continue;
    const host = mapPath(m.mountPath, pathMap);
    if (host) out.push([target, host]);
  }
  return out;
}

/**
 * `unshare --mount` (no fork: the container keeps the pid the kubelet tracks) into a shell that
 * covers `/run/secrets` with a private tmpfs, bind-mounts each pair and execs the container.
 * The host only ever gains the empty `/run/secrets` directory used as the tmpfs mount point.
 */
function withSecretMounts(executable: string, args: readonly string[], pairs: readonly [string, string][]): [string, string[]] {
  if (pairs.length === 0) return [executable, [...args]];
  fs.mkdirSync(SECRETS_ROOT, { recursive: true });
  const q = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;
  const steps = [`mount -t tmpfs -o mode=0755,size=1m tmpfs ${SECRETS_ROOT}`];
  for (const [target, host] of pairs) steps.push(`mkdir -p ${q(target)}`, `mount --bind ${q(host)} ${q(target)}`);
  steps.push('exec "$@"');
  return ['/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-ec', steps.join(' && '), 'container', executable, ...args]];
}
