// Two proxies behind nginx with the docs' `hash $remote_addr consistent` upstream. Edges are told
// apart by X-Forwarded-For (nginx's realip module turns it into $remote_addr), so eight simulated
// edge machines spread over both proxies; each edge's series must stay on exactly one proxy.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExpositionServer, freePort, httpOk, promQuery, requireTool, startAlloy, startNginx, startPrometheus, stopAll, until } from './harness.js';

const tools = requireTool('/usr/sbin/nginx', 'the load-balanced proxies journey') && requireTool('/usr/bin/prometheus', 'the load-balanced proxies journey');
const EDGES = 8;

(tools ? describe : describe.skip)('proxies behind nginx', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-nginx-'));
  });
  afterEach(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('both proxies carry traffic and every edge sticks to one proxy', async () => {
    const backend = await startPrometheus(dir, 'backend', 'global: {}\n', 'server');
    const proxyPorts = [await freePort(), await freePort()];
    for (const [i, port] of proxyPorts.entries()) {
      await startAlloy(
        dir,
        `proxy${i + 1}`,
        `prometheus.receive_http "ingest" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [prometheus.remote_write.to_backend.receiver]
}

prometheus.remote_write "to_backend" {
  external_labels = { proxy = "p${i + 1}" }
  endpoint {
    url = "${backend.base}/api/v1/write"
    queue_config { batch_send_deadline = "200ms" }
  }
}
`,
      );
    }
    const lbPort = await freePort();
    const nginx = await startNginx(
      dir,
      `  upstream alloy_proxies {
    hash $remote_addr consistent;
    server 127.0.0.1:${proxyPorts[0]};
    server 127.0.0.1:${proxyPorts[1]};
  }
  server {
    listen 127.0.0.1:${lbPort};
    set_real_ip_from 127.0.0.0/8;
    real_ip_header X-Forwarded-For;
    location /api/v1/metrics/write {
      proxy_pass http://alloy_proxies;
    }
  }`,
    );
    await until('nginx', async () => {
      if (nginx.proc.exitCode !== null) throw new Error(`nginx exited: ${nginx.output()}`);
      // Any HTTP answer means nginx is serving (the status of / depends on the prefix's html dir).
      return (await fetch(`http://127.0.0.1:${lbPort}/`).then((r) => r.status).catch(() => 0)) > 0;
    });

    const target = new ExpositionServer(5, 'lb_gauge');
    await target.start();
    const writers = Array.from({ length: EDGES }, (_, e) => `prometheus.remote_write.edge${e}.receiver`).join(', ');
    let cfg = `prometheus.scrape "static" {
  targets         = [{ __address__ = "127.0.0.1:${target.port}" }]
  forward_to      = [${writers}]
  scrape_interval = "500ms"
  scrape_timeout  = "400ms"
}
`;
    for (let e = 0; e < EDGES; e++) {
      cfg += `
prometheus.remote_write "edge${e}" {
  external_labels = { edge = "e${e}" }
  endpoint {
    url     = "http://127.0.0.1:${lbPort}/api/v1/metrics/write"
    headers = { "X-Forwarded-For" = "10.1.${e}.${e * 7 + 3}" }
    queue_config { batch_send_deadline = "200ms" }
  }
}
`;
    }
    await startAlloy(dir, 'edges', cfg);
    await until('every edge in the backend', async () => (await promQuery(backend.base, 'count by (edge) (lb_gauge)')).length === EDGES, 30_000);
    await until('several scrapes', () => target.scrapes >= 6);
    const pairs = await promQuery(backend.base, 'count by (edge, proxy) (count_over_time(lb_gauge[10m]))');
    const proxyOf = new Map<string, Set<string>>();
    for (const p of pairs) {
      const set = proxyOf.get(p.metric['edge']!) ?? new Set();
      set.add(p.metric['proxy']!);
      proxyOf.set(p.metric['edge']!, set);
    }
    expect(proxyOf.size).toBe(EDGES);
    for (const [edge, proxies] of proxyOf) expect([edge, proxies.size]).toStrictEqual([edge, 1]);
    const used = new Set([...proxyOf.values()].flatMap((s) => [...s]));
    expect(used).toStrictEqual(new Set(['p1', 'p2']));
    expect(await httpOk(`${backend.base}/-/ready`)).toBe(true);
    await target.stop();
  }, 60_000);
});
