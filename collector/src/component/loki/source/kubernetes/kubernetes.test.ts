import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import winston from 'winston';
import { Registry } from 'prom-client';
import type { KubeClient } from '../../../common/kube/client.js';
import type { LogEntry } from '../../../../loki/types.js';
import type { ClusterPeer, ClusterService, ComponentHandler, HttpService } from '../../../../runtime/services.js';
import { argumentsSchema, component, LogTailer, parseStamp, prepareTarget, type LokiSourceKubernetesComponent } from './kubernetes.js';

const recv = { append: async (): Promise<void> => undefined };

async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('prepareTarget', () => {
  it('takes namespace/pod/container from discovery labels, defaults job and instance, drops __ labels', () => {
    const t = prepareTarget({ __meta_kubernetes_namespace: 'ns', __meta_kubernetes_pod_name: 'p', __meta_kubernetes_pod_container_name: 'c', __meta_kubernetes_pod_uid: 'u1', app: 'x', empty: '' }, 'loki.source.kubernetes.a');
    expect(t).toMatchObject({ namespace: 'ns', pod: 'p', container: 'c', uid: 'u1', key: 'ns/p:c:u1' });
    expect(t.labels).toEqual([
      { name: 'app', value: 'x' },
      { name: 'instance', value: 'ns/p:c' },
      { name: 'job', value: 'loki.source.kubernetes.a' },
    ]);
  });
  it('prefers __pod_*__ labels and keeps a target-set job and instance', () => {
    const t = prepareTarget({ __pod_namespace__: 'a', __pod_name__: 'b', __pod_container_name__: 'c', __pod_uid__: 'u', __meta_kubernetes_namespace: 'zz', job: 'j', instance: 'i' }, 'id');
    expect(t.key).toBe('a/b:c:u');
    expect(t.labels).toEqual([
      { name: 'instance', value: 'i' },
      { name: 'job', value: 'j' },
    ]);
  });
  it('names the missing label', () => {
    expect(() => prepareTarget({ __meta_kubernetes_namespace: 'ns', __meta_kubernetes_pod_name: 'p', __meta_kubernetes_pod_uid: 'u' }, 'id')).toThrow(/__pod_container_name__ \(nor __meta_kubernetes_pod_container_name\)/);
    expect(() => prepareTarget({ __meta_kubernetes_namespace: 'ns', __meta_kubernetes_pod_name: 'p', __meta_kubernetes_pod_container_name: 'c' }, 'id')).toThrow(/__pod_uid__/);
  });
});

describe('parseStamp', () => {
  it('parses RFC3339Nano with nanoseconds and offsets', () => {
    expect(parseStamp('2024-01-02T03:04:05.123456789Z')).toEqual({ ms: Date.UTC(2024, 0, 2, 3, 4, 5, 123), nanos: 456789 });
    expect(parseStamp('2024-01-02T03:04:05Z')).toEqual({ ms: Date.UTC(2024, 0, 2, 3, 4, 5), nanos: 0 });
    expect(parseStamp('2024-01-02T05:04:05.5+02:00')).toEqual({ ms: Date.UTC(2024, 0, 2, 3, 4, 5, 500), nanos: 0 });
    expect(parseStamp('hello')).toBeUndefined();
  });
});

describe('arguments', () => {
  it('rejects api_server together with kubeconfig_file, and a bad URL', () => {
    expect(argumentsSchema.safeParse({ targets: [], forward_to: [recv], client: { api_server: 'http://x', kubeconfig_file: '/k' } }).success).toBe(false);
    const r = argumentsSchema.safeParse({ targets: [], forward_to: [recv], client: { api_server: 'ftp://x' } });
    expect(r.success ? '' : r.error.message).toMatch(/invalid api_server URL/);
    expect(argumentsSchema.parse({ targets: [], forward_to: [recv] }).clustering.enabled).toBe(false);
  });
});

describe('LogTailer resume', () => {
  it('after a break inside a group of lines sharing a timestamp, forwards the rest of the group exactly once', async () => {
    const T1 = '2024-01-02T03:04:05.100000000Z';
    const T2 = '2024-01-02T03:04:05.200000000Z';
    const T3 = '2024-01-02T03:04:06.000000000Z';
    const full = [`${T1} a`, `${T2} b1`, `${T2} b2`, `${T2} b3`, `${T3} c`];
    const opened: Array<Record<string, string | undefined>> = [];
    const client = {
      stream: async (_p: string, q: Record<string, string | undefined>): Promise<Readable> => {
        opened.push(q);
        if (opened.length === 1) {
          // the first stream breaks after b1 (a dropped connection)
          const r = new Readable({ read() {} });
          r.push(full.slice(0, 2).join('\n') + '\n');
          setTimeout(() => r.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })), 20);
          return r;
        }
        // the reopened stream starts at the second of sinceTime: everything again
        return Readable.from([full.join('\n') + '\n']);
      },
      getJson: async (): Promise<unknown> => ({ metadata: { uid: 'u' } }),
    } as unknown as KubeClient;
    const got: string[] = [];
    const tailer = new LogTailer(prepareTarget({ __pod_namespace__: 'n', __pod_name__: 'p', __pod_container_name__: 'c', __pod_uid__: 'u' }, 'id'), {
      client: () => client,
      forward: async (es: readonly LogEntry[]) => void got.push(...es.map((e) => e.line)),
      onError: () => undefined,
    });
    await until(() => got.length >= 5, 'all lines');
    await tailer.stop();
    expect(got).toEqual(['a', 'b1', 'b2', 'b3', 'c']);
    expect(opened[0]!['sinceTime']).toBeUndefined();
    expect(opened[1]!['sinceTime']).toBe('2024-01-02T03:04:05Z');
    expect(opened[1]).toMatchObject({ follow: 'true', timestamps: 'true', container: 'c' });
  });
});

describe('LogTailer end', () => {
  it('stops once a finished pod (Succeeded) has been read to its end', async () => {
    let opens = 0;
    const client = {
      stream: async (): Promise<Readable> => {
        opens++;
        return Readable.from(['2024-01-02T03:04:05.000000000Z done\n']);
      },
      getJson: async (): Promise<unknown> => ({ metadata: { uid: 'u' }, status: { phase: 'Succeeded' } }),
    } as unknown as KubeClient;
    const got: string[] = [];
    const tailer = new LogTailer(prepareTarget({ __pod_namespace__: 'n', __pod_name__: 'p', __pod_container_name__: 'c', __pod_uid__: 'u' }, 'id'), {
      client: () => client,
      forward: async (es: readonly LogEntry[]) => void got.push(...es.map((e) => e.line)),
      onError: () => undefined,
    });
    await tailer.done;
    expect(tailer.finished).toBe(true);
    expect(got).toEqual(['done']);
    expect(opens).toBe(2); // the reopen gave nothing new, then the phase was checked
  });
});

describe('component', () => {
  let server: http.Server;
  let url: string;
  const streams = new Set<http.ServerResponse>();
  const logRequests: string[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      logRequests.push(req.url ?? '');
      const m = /^\/api\/v1\/namespaces\/(\w+)\/pods\/(\w+)(\/log)?/.exec(req.url ?? '');
      if (m?.[2] === 'forbidden') {
        res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', reason: 'Forbidden', message: 'pods "forbidden" is forbidden: User "x" cannot get resource "pods/log"' }));
        return;
      }
      if (!m?.[3]) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ metadata: { name: m?.[2], uid: `uid-${m?.[2]}` } }));
        return;
      }
      streams.add(res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(`2024-01-02T03:04:05.000000001Z hello from ${m[2]}\n`);
      res.on('close', () => streams.delete(res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const s of streams) s.destroy();
    await new Promise((r) => server.close(r));
  });

  let dataPath: string;
  beforeEach(() => (dataPath = fs.mkdtempSync(path.join(os.tmpdir(), 'lsk-unit-'))));
  afterEach(() => fs.rmSync(dataPath, { recursive: true, force: true }));

  async function start(
    targets: Array<Record<string, string>>,
    cluster?: ClusterService,
    clustering = false,
    node: { dataPath?: string; http?: HttpService } = {},
  ): Promise<{ c: LokiSourceKubernetesComponent; got: LogEntry[]; stop: () => Promise<void> }> {
    const got: LogEntry[] = [];
    const c = (await component.build(
      {
        id: 'loki.source.kubernetes.t',
        logger: winston.createLogger({ silent: true }),
        registry: new Registry(),
        dataPath: node.dataPath ?? dataPath,
        onStateChange: () => undefined,
        setHealth: () => undefined,
        getService: <T,>(name: string): T => {
          if (name === 'cluster' && cluster) return cluster as T;
          if (name === 'http' && node.http) return node.http as T;
          throw new Error('no such service');
        },
      },
      argumentsSchema.parse({ targets, forward_to: [{ append: async (es: readonly LogEntry[]) => void got.push(...es) }], client: { api_server: url }, clustering: { enabled: clustering } }),
    )) as LokiSourceKubernetesComponent;
    const ac = new AbortController();
    const done = c.run(ac.signal);
    return {
      c,
      got,
      stop: async () => {
        ac.abort();
        await done;
      },
    };
  }
  const tgt = (pod: string): Record<string, string> => ({ __address__: `${pod}:80`, __meta_kubernetes_namespace: 'ns', __meta_kubernetes_pod_name: pod, __meta_kubernetes_pod_container_name: 'c', __meta_kubernetes_pod_uid: `uid-${pod}` });

  it('an API error makes it unhealthy naming the container and the server message; other targets keep flowing', async () => {
    const { c, got, stop } = await start([tgt('good'), tgt('forbidden')]);
    try {
      await until(() => got.length === 1 && c.currentHealth().state === 'unhealthy', 'good line and unhealthy');
      expect(got[0]!.line).toBe('hello from good');
      expect(c.currentHealth().message).toMatch(/ns\/forbidden:c:.*403 Forbidden: pods "forbidden" is forbidden/);
    } finally {
      await stop();
    }
  });

  it('with clustering tails only the targets this node owns, and follows ownership changes', async () => {
    let mine = 'a';
    const listeners: Array<() => void> = [];
    const cluster = {
      enabled: true,
      // keys are the non-__meta_ labels, as prometheus.scrape's (clusterKey)
      owns: (key: string) => key === `__address__=${mine}:80`,
      onChange: (f: () => void) => (listeners.push(f), () => undefined),
      peers: () => [],
    } as unknown as ClusterService;
    const { c, got, stop } = await start([tgt('a'), tgt('b')], cluster, true);
    try {
      await until(() => got.length >= 1, 'owned line');
      const keys = (): string[] => (c.debugInfo() as { targets: Array<{ container: string }> }).targets.map((t) => t.container);
      expect(keys()).toEqual(['ns/a:c:uid-a']);
      mine = 'b';
      listeners.forEach((f) => f());
      expect(keys()).toEqual(['ns/b:c:uid-b']);
      await until(() => got.some((e) => e.line === 'hello from b'), 'b line');
    } finally {
      await stop();
    }
  });

  it('a restart resumes from the saved position: the line already forwarded is not repeated', async () => {
    const first = await start([tgt('good')]);
    await until(() => first.got.length === 1, 'first line');
    await first.stop();
    expect(fs.readFileSync(path.join(dataPath, 'positions.yml'), 'utf8')).toContain('cursor-ns/good:c:uid-good: "2024-01-02T03:04:05.000000001Z 1"');
    logRequests.length = 0;
    const second = await start([tgt('good')]);
    try {
      await until(() => logRequests.some((u) => u.includes('/log?')), 'reopened stream');
      expect(logRequests.find((u) => u.includes('/log?'))).toContain('sinceTime=2024-01-02T03%3A04%3A05Z');
      // Window, not synchronisation: proves nothing already delivered is repeated.
      await new Promise((r) => setTimeout(r, 100));
      expect(second.got).toEqual([]);
    } finally {
      await second.stop();
    }
  });

  describe('clustering handover', () => {
    /** A main HTTP server stand-in serving mounted component handlers, like the collector's. */
    async function mainServer(): Promise<{ http: HttpService; addr: string; close: () => Promise<void> }> {
      const handlers = new Map<string, ComponentHandler>();
      const srv = http.createServer((req, res) => {
        const p = new URL(req.url ?? '/', 'http://x').pathname;
        for (const [id, h] of handlers) if (p.startsWith(`/api/v0/component/${id}/`)) return void h(req, res, p.slice(`/api/v0/component/${id}`.length));
        res.writeHead(404).end();
      });
      await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
      const addr = `127.0.0.1:${(srv.address() as AddressInfo).port}`;
      const svc: HttpService = {
        listenAddr: addr,
        memoryAddr: 'alloy.internal:12345',
        dialAddress: (a) => a,
        pathFor: (id) => `/api/v0/component/${id}/`,
        mount: (id, h) => (handlers.set(id, h), () => void handlers.delete(id)),
      };
      return { http: svc, addr, close: () => new Promise((r) => (srv.closeAllConnections(), srv.close(() => r()))) };
    }

    /**
     * A node's view of a two-node cluster: whether it owns pod a, and the other node's address;
     * `otherLeft` drops the other node from the membership (it left), `own` changes ownership.
     * Both notify like the cluster service's onChange.
     */
    function view(self: string, other: () => string): { cluster: ClusterService; own: (yes: boolean) => void; otherLeft: () => void } {
      let mine = false;
      let otherPresent = true;
      const listeners: Array<() => void> = [];
      const cluster = {
        enabled: true,
        owns: (key: string) => mine && key === '__address__=a:80',
        onChange: (f: () => void) => (listeners.push(f), () => undefined),
        peers: (): ClusterPeer[] => [
          { name: self, addr: '', isSelf: true, state: 'participant' },
          ...(otherPresent ? [{ name: 'other', addr: other(), isSelf: false, state: 'participant' }] : []),
        ],
      } as unknown as ClusterService;
      return {
        cluster,
        own: (yes) => {
          mine = yes;
          listeners.forEach((f) => f());
        },
        otherLeft: () => {
          otherPresent = false;
          listeners.forEach((f) => f());
        },
      };
    }

    const logOpens = (): string[] => logRequests.filter((u) => u.startsWith('/api/v1/namespaces/ns/pods/a/log?'));

    async function twoNodes(): Promise<{
      a: Awaited<ReturnType<typeof start>>;
      b: Awaited<ReturnType<typeof start>>;
      viewA: ReturnType<typeof view>;
      viewB: ReturnType<typeof view>;
      closeServerA: () => Promise<void>;
      close: () => Promise<void>;
    }> {
      const [srvA, srvB] = [await mainServer(), await mainServer()];
      const viewA = view('a', () => srvB.addr);
      const viewB = view('b', () => srvA.addr);
      const dirB = fs.mkdtempSync(path.join(os.tmpdir(), 'lsk-unit-b-'));
      const a = await start([tgt('a')], viewA.cluster, true, { http: srvA.http });
      const b = await start([tgt('a')], viewB.cluster, true, { http: srvB.http, dataPath: dirB });
      return {
        a,
        b,
        viewA,
        viewB,
        closeServerA: () => srvA.close(),
        close: async () => {
          await a.stop();
          await b.stop();
          await srvA.close();
          await srvB.close();
          fs.rmSync(dirB, { recursive: true, force: true });
        },
      };
    }

    /** A owns pod a and forwarded its line; the log requests seen so far are forgotten. */
    async function aForwarded(n: Awaited<ReturnType<typeof twoNodes>>): Promise<void> {
      n.viewA.own(true);
      await until(() => n.a.got.length === 1, 'A forwards the line');
      logRequests.length = 0;
    }

    /** B opens pod a's log after A's position (that line's second) and repeats nothing A sent. */
    async function bResumesAfterA(n: Awaited<ReturnType<typeof twoNodes>>, what: string): Promise<void> {
      await until(() => logOpens().length === 1, what);
      expect(logOpens()[0]).toContain('sinceTime=2024-01-02T03%3A04%3A05Z');
      // Window, not synchronisation: proves B repeats nothing A delivered.
      await new Promise((r) => setTimeout(r, 100));
      expect(n.b.got).toEqual([]);
    }

    it('GIVEN node A forwarded a line WHEN ownership moves to node B THEN B resumes after A\'s position and repeats nothing', async () => {
      const n = await twoNodes();
      try {
        await aForwarded(n);
        n.viewA.own(false);
        n.viewB.own(true);
        await bResumesAfterA(n, 'B opens the stream');
        expect(n.a.got.map((e) => e.line)).toEqual(['hello from a']);
      } finally {
        await n.close();
      }
    });

    it('GIVEN the previous owner has not seen the move yet WHEN the new owner starts THEN it waits for it to stop before reading', async () => {
      const n = await twoNodes();
      try {
        await aForwarded(n);
        n.viewB.own(true); // B's view changed first: A still tails (active)
        // Window, not synchronisation: proves B does not open the stream while A still tails.
        await new Promise((r) => setTimeout(r, 500));
        expect(logOpens()).toEqual([]);
        n.viewA.own(false);
        await bResumesAfterA(n, 'B opens the stream once A stopped');
      } finally {
        await n.close();
      }
    });

    it('GIVEN node A shuts down (its server gone right after) WHEN B takes its container THEN A handed over its final position and B repeats nothing', async () => {
      const n = await twoNodes();
      try {
        await aForwarded(n);
        await n.a.stop();
        await n.closeServerA();
        n.viewB.own(true);
        await bResumesAfterA(n, 'B opens the stream');
      } finally {
        await n.close();
      }
    });

    it('GIVEN A gave its container away to a joining B and leaves before B asked for the position WHEN B resumes THEN A handed that position over too and B repeats nothing', async () => {
      // The order of a join followed at once by a leave: A sees B join and stops tailing pod a;
      // B (still settling) has not asked yet; A shuts down, its server closes and it leaves B's
      // view, so asking can no longer reach it. Only a handover of A's released container helps.
      const n = await twoNodes();
      try {
        await aForwarded(n);
        n.viewA.own(false);
        await n.a.stop();
        await n.closeServerA();
        n.viewB.otherLeft();
        n.viewB.own(true);
        await bResumesAfterA(n, 'B opens the stream');
      } finally {
        await n.close();
      }
    });

    it('GIVEN A left B\'s view but still tails while it shuts down WHEN B takes its container THEN B asks A anyway and waits for its final position', async () => {
      // A leaving collector leaves the membership first and stops its tailers after: B's view no
      // longer lists A when B asks, yet A is still forwarding lines of the container.
      const n = await twoNodes();
      try {
        await aForwarded(n);
        n.viewB.otherLeft();
        n.viewB.own(true);
        // Window, not synchronisation: proves B does not open the stream while A still tails.
        await new Promise((r) => setTimeout(r, 1500));
        expect(logOpens()).toEqual([]);
        await n.a.stop();
        await n.closeServerA();
        await bResumesAfterA(n, 'B opens the stream once A stopped');
      } finally {
        await n.close();
      }
    });

    it('GIVEN the previous owner is unreachable THEN the new owner reads the log from its start after the wait (the documented repeat)', async () => {
      const dead = await mainServer();
      await dead.close();
      const b = view('b', () => dead.addr);
      const srvB = await mainServer();
      const node = await start([tgt('a')], b.cluster, true, { http: srvB.http });
      try {
        logRequests.length = 0;
        b.own(true);
        // after the settle delay and 5 s of asking the unreachable peer again
        await until(() => node.got.length === 1, 'B forwards the line from the start', 10_000);
        expect(logOpens()[0]).not.toContain('sinceTime=');
      } finally {
        await node.stop();
        await srvB.close();
      }
    }, 15_000);
  });
});
