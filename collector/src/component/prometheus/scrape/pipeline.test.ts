// A config through the real loader, evaluator and controller: discovery.relabel → prometheus.scrape
// (with auth and clustering blocks) → prometheus.relabel → a capturing sink, against a local
// exposition server. Proves the argument schemas decode Alloy syntax (blocks, secrets, capsules).
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { LogManager } from '../../../logging/logger.js';
import type { ComponentDefinition } from '../../../runtime/component.js';
import { syntaxEvaluator } from '../../../runtime/evaluator.js';
import { ComponentRegistry } from '../../../runtime/registry.js';
import { Runtime } from '../../../runtime/runtime.js';
import { isStaleNaN, type MetricsReceiver, type SampleBatch } from '../../../prom/types.js';
import { labelsToRecord } from '../../../prom/labels/labels.js';
import { component as scrape } from './scrape.js';
import { component as promRelabel } from '../relabel/relabel.js';
import { jest } from '@jest/globals';

// Waits for scrapes are bounded at ~10 s so a loaded CI machine does not flake.
jest.setTimeout(30_000);
import { component as discoveryRelabel } from '../../discovery/relabel/relabel.js';

const captured: SampleBatch[] = [];
class SinkReceiver implements MetricsReceiver {
  async append(b: SampleBatch): Promise<void> {
    captured.push(b);
  }
}
const sink: ComponentDefinition<Record<string, never>, { receiver: MetricsReceiver }> = {
  name: 'test.sink',
  stability: 'generally-available',
  args: z.object({}) as unknown as z.ZodType<Record<string, never>>,
  exports: ['receiver'],
  build(opts) {
    opts.onStateChange({ receiver: new SinkReceiver() });
    return { run: (s) => new Promise<void>((r) => s.addEventListener('abort', () => r(), { once: true })), update: () => undefined };
  },
};

describe('scrape pipeline through the runtime', () => {
  it('decodes Alloy config and delivers relabelled samples with target labels', async () => {
    const auth: string[] = [];
    const server = http.createServer((req, res) => {
      auth.push(req.headers.authorization ?? '');
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end('# TYPE http_requests_total counter\nhttp_requests_total{code="200"} 10\ndrop_me 1\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scrape-pipeline-'));
    const cfg = path.join(dir, 'config.alloy');
    await fs.writeFile(
      cfg,
      `discovery.relabel "targets" {
  targets = [{ "__address__" = "${addr}", "__meta_app" = "web" }]
  rule {
    source_labels = ["__meta_app"]
    target_label  = "app"
  }
}

prometheus.scrape "app" {
  targets         = discovery.relabel.targets.output
  forward_to      = [prometheus.relabel.filter.receiver]
  scrape_interval = "100ms"
  scrape_timeout  = "80ms"
  basic_auth {
    username = "user"
    password = "pw"
  }
  clustering {
    enabled = true
  }
}

prometheus.relabel "filter" {
  forward_to = [test.sink.out.receiver]
  rule {
    source_labels = ["__name__"]
    regex         = "drop_me"
    action        = "drop"
  }
  rule {
    target_label = "env"
    replacement  = "test"
  }
}

test.sink "out" {}
`,
    );
    const rt = new Runtime({
      configPath: cfg,
      storagePath: path.join(dir, 'data'),
      stabilityLevel: 'generally-available',
      logs: new LogManager({ stream: new PassThrough().resume() }),
      registry: new Registry(),
      services: new Map(),
      components: new ComponentRegistry([scrape, promRelabel, discoveryRelabel, sink] as unknown as ComponentDefinition<unknown, object>[]),
      evaluator: syntaxEvaluator(),
      buildInfo: { version: 'v0', revision: '', branch: '' },
    });
    try {
      const res = await rt.load();
      expect(res.message).toBe('');
      expect(res.ok).toBe(true);
      for (let i = 0; i < 500 && captured.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const b = captured[0]!;
      const rows = [...Array(b.length).keys()].map((i) => labelsToRecord(b.series[i]!));
      const req = rows.find((r) => r['__name__'] === 'http_requests_total')!;
      expect(req).toEqual({ __name__: 'http_requests_total', code: '200', app: 'web', env: 'test', instance: addr, job: 'prometheus.scrape.app' });
      expect(rows.find((r) => r['__name__'] === 'drop_me')).toBeUndefined();
      expect(rows.find((r) => r['__name__'] === 'up')).toMatchObject({ app: 'web', env: 'test' });
      expect(auth[0]).toBe('Basic ' + Buffer.from('user:pw').toString('base64'));
    } finally {
      await rt.stop();
      server.closeAllConnections();
      server.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
    // Stopping the runtime stopped the scrape, which marked its series stale downstream.
    const last = captured.at(-1)!;
    expect([...last.values].every((v) => isStaleNaN(v))).toBe(true);
  }, 15_000);
});
