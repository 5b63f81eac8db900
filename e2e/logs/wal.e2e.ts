// loki.write's WAL against a SIGKILL: a real `bin/alloy run` (loki.source.api → loki.write with
// `wal { enabled = true }`) accepts 10,000 lines while the Loki sink answers 503, is killed with
// SIGKILL, restarted on the same storage path, and the sink comes back: every accepted line is
// delivered (duplicates, allowed by at-least-once delivery, are counted and printed).
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { freePort, startAlloy, stopAll, until } from '../metrics/harness.js';

const config = (port: number, sinkUrl: string): string => `loki.source.api "in" {
  http {
    listen_address = "127.0.0.1"
    listen_port    = ${port}
  }
  forward_to = [loki.write.out.receiver]
}

loki.write "out" {
  endpoint {
    url                 = "${sinkUrl}"
    batch_wait          = "50ms"
    min_backoff_period  = "50ms"
    max_backoff_period  = "200ms"
    max_backoff_retries = 100000
  }
  wal {
    enabled            = true
    min_read_frequency = "50ms"
    max_read_frequency = "200ms"
  }
}
`;

describe('loki.write WAL survives SIGKILL', () => {
  let dir: string;
  let sink: LokiSink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-loki-wal-'));
    sink = new LokiSink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backend down, 10,000 lines accepted, SIGKILL, restart, backend up: all 10,000 delivered', async () => {
    sink.down = true;
    const port = await freePort();
    const storage = path.join(dir, 'data');
    const first = await startAlloy(dir, 'wal-1', config(port, sink.url), storage);
    const N = 10_000;
    const PER_PUSH = 100;
    for (let p = 0; p < N / PER_PUSH; p++) {
      const values = Array.from({ length: PER_PUSH }, (_x, i) => [String(1_700_000_000_000_000_000n + BigInt(p * PER_PUSH + i)), `line ${p * PER_PUSH + i}`]);
      const res = await fetch(`http://127.0.0.1:${port}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streams: [{ stream: { job: 'wal' }, values }] }),
      });
      expect(res.status).toBe(204);
    }
    // Every push was answered 204: the lines are in the WAL. The sink has refused everything.
    expect(sink.entries).toHaveLength(0);
    await first.kill9();
    sink.down = false;
    await startAlloy(dir, 'wal-2', config(port, sink.url), storage);
    await until(`${N} distinct lines at the sink (have ${new Set(sink.lines()).size})`, () => new Set(sink.lines()).size >= N, 60_000, 50);
    const lines = sink.lines();
    const distinct = new Set(lines);
    const duplicates = lines.length - distinct.size;
    console.log(`loki.write WAL after SIGKILL: ${distinct.size} of ${N} lines delivered, ${duplicates} duplicates`);
    expect(distinct.size).toBe(N);
    for (let i = 0; i < N; i++) expect(distinct.has(`line ${i}`)).toBe(true);
  });
});
