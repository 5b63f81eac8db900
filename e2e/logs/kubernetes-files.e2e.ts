// The Kubernetes file-based logs pipeline from the docs, run by a real `bin/alloy run`:
// local.file_match (a `**` glob over pod log dirs, `__path_exclude__`) → loki.source.file →
// loki.process (stage.cri → stage.json → stage.timestamp → stage.labels → stage.output) →
// loki.write → a Loki push sink. The CRI files are written by the dev kubelet's own log writer
// (e2e/cluster/kubelet/container-logs.ts), so the format is the one the cluster produces.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { timestampToNanoString } from '../../collector/src/loki/types.js';
import { LogWriter, logFilePath } from '../cluster/kubelet/container-logs.js';
import { startAlloy, stopAll, until } from '../metrics/harness.js';

const config = (podsDir: string, sinkUrl: string): string => `local.file_match "pods" {
  path_targets = [{
    __path__         = "${podsDir}/**/*.log",
    __path_exclude__ = "${podsDir}/**/skip/*.log",
    job              = "pods",
  }]
  sync_period = "200ms"
}

loki.source.file "pods" {
  targets    = local.file_match.pods.targets
  forward_to = [loki.process.pods.receiver]
  file_match {
    sync_period = "200ms"
  }
}

loki.process "pods" {
  forward_to = [loki.write.sink.receiver]

  stage.cri {}

  stage.json {
    expressions = { level = "", ts = "", msg = "" }
  }

  stage.timestamp {
    source = "ts"
    format = "RFC3339Nano"
  }

  stage.labels {
    values = { level = "" }
  }

  stage.output {
    source = "msg"
  }
}

loki.write "sink" {
  endpoint {
    url        = "${sinkUrl}"
    batch_wait = "50ms"
  }
}
`;

describe('Kubernetes CRI log files through loki.process', () => {
  let dir: string;
  let sink: LokiSink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'e2e-cri-'));
    sink = new LokiSink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('parses kubelet-written CRI lines: JSON level label, app timestamp, message as line, stream label', async () => {
    const pods = path.join(dir, 'pods');
    const writers: { w: LogWriter; out: PassThrough; err: PassThrough }[] = [];
    for (const [pod, container] of [
      ['default_web-1_uid1', 'web'],
      ['default_web-1_uid1', 'skip'],
      ['kube-system_dns-0_uid2', 'dns'],
    ] as const) {
      const podDir = path.join(pods, pod);
      mkdirSync(podDir, { recursive: true });
      const w = new LogWriter(logFilePath(podDir, container, 0));
      const out = new PassThrough();
      const err = new PassThrough();
      w.attach(out, 'stdout');
      w.attach(err, 'stderr');
      writers.push({ w, out, err });
    }
    await startAlloy(dir, 'k8s-files', config(pods, sink.url));
    const N = 50;
    for (let i = 0; i < N; i++) {
      const ts = new Date(Date.UTC(2024, 0, 1, 0, 0, 0, i)).toISOString().replace('Z', '123456Z');
      writers[0]!.out.write(JSON.stringify({ level: i % 2 ? 'info' : 'warn', ts, msg: `web ${i}` }) + '\n');
      writers[1]!.out.write(JSON.stringify({ level: 'info', ts, msg: `skipped ${i}` }) + '\n');
      writers[2]!.err.write(JSON.stringify({ level: 'error', ts, msg: `dns ${i}` }) + '\n');
    }
    await until(`${2 * N} entries (have ${sink.entries.length})`, () => sink.entries.length >= 2 * N, 30_000, 20);
    // Window, not synchronisation: proves no entry is delivered twice and the filtered stream sends nothing.
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.entries).toHaveLength(2 * N);
    const web = sink.entries.filter((e) => e.line.startsWith('web '));
    const dns = sink.entries.filter((e) => e.line.startsWith('dns '));
    // Lines of one stream (file + level) arrive in order; streams interleave.
    const num = (l: string): number => Number(l.split(' ')[1]);
    expect(web.map((e) => e.line).sort((a, b) => num(a) - num(b))).toStrictEqual(Array.from({ length: N }, (_x, i) => `web ${i}`));
    for (const lvl of ['info', 'warn']) {
      const seq = web.filter((e) => e.stream.includes(`level="${lvl}"`)).map((e) => num(e.line));
      expect(seq).toStrictEqual([...seq].sort((a, b) => a - b));
    }
    expect(dns).toHaveLength(N);
    expect(web.find((e) => e.line === 'web 1')!.stream).toBe(`{filename="${logFilePath(path.join(pods, 'default_web-1_uid1'), 'web', 0)}", job="pods", level="info", stream="stdout"}`);
    expect(dns[0]!.stream).toMatch(/level="error", stream="stderr"\}$/);
    expect(timestampToNanoString(web.find((e) => e.line === 'web 3')!.entry)).toBe(String(Date.UTC(2024, 0, 1, 0, 0, 0, 3)) + '123456');
    for (const x of writers) x.w.close();
  });
});
