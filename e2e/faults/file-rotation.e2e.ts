/**
 * `loki.source.file` under log rotation: a writer process appends 2,000 numbered lines per second
 * for 20 s and rotates the file every 2 s, either by copytruncate (copy to `app.log.1`, then
 * truncate in place, as logrotate's `copytruncate`) or by rename (`app.log` → `app.log.1`, then a
 * new `app.log`). The collector (`bin/alloy`) tails `app.log` only and sends to a Loki-compatible
 * sink through `loki.write`. Every line is numbered, so lost and duplicated lines are counted
 * exactly.
 *
 * The writer copies and truncates between two of its own writes, so the lines copytruncate itself
 * loses (written after the copy, before the truncation) are none here: what is counted as lost is
 * what the collector lost. Bounds: <= 0.1% lost with copytruncate, 0 lost with rename rotation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LokiSink } from '../../collector/src/loki/loki.test-support.js';
import { spawnProc, startAlloy, stopAll, until } from '../metrics/harness.js';
import { reportFault, rssOf } from './report.js';

const RATE = 2000;
const SECONDS = 20;
const ROTATE_EVERY_MS = 2000;

/** The writer: `node -e WRITER file mode lines rate rotateMs`; prints "done <n>" when finished. */
const WRITER = `
const fs = require('node:fs');
const [file, mode, total, rate, rotateMs] = [process.argv[1], process.argv[2], +process.argv[3], +process.argv[4], +process.argv[5]];
let fd = fs.openSync(file, 'a');
let n = 0;
const t0 = Date.now();
let nextRotate = t0 + rotateMs;
let rotations = 0;
function tick() {
  const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate));
  let chunk = '';
  while (n < due) chunk += 'line-' + String(++n).padStart(7, '0') + ' ' + 'x'.repeat(60) + '\\n';
  if (chunk) fs.writeSync(fd, chunk);
  if (Date.now() >= nextRotate && n < total) {
    if (mode === 'copytruncate') {
      fs.copyFileSync(file, file + '.1');
      fs.ftruncateSync(fd, 0);
    } else {
      fs.renameSync(file, file + '.1');
      fs.closeSync(fd);
      fd = fs.openSync(file, 'a');
    }
    rotations++;
    nextRotate += rotateMs;
  }
  if (n >= total) {
    fs.closeSync(fd);
    process.stdout.write('done ' + n + ' rotations ' + rotations + '\\n');
    return;
  }
  setTimeout(tick, 5);
}
tick();
`;

describe('loki.source.file under rotation', () => {
  let dir: string;
  let sink: LokiSink;
  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'faults-rotation-'));
    sink = new LokiSink();
    await sink.start();
  });
  afterEach(async () => {
    await stopAll();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  for (const mode of ['copytruncate', 'rename'] as const) {
    it(
      `${mode} every 2 s at ${RATE} lines/s: ${mode === 'rename' ? 'no line lost' : '<= 0.1% lost'}, none duplicated`,
      async () => {
        const file = path.join(dir, 'app.log');
        const alloy = await startAlloy(
          dir,
          'tail',
          `loki.source.file "app" {
  targets    = [{"__path__" = "${file}", "job" = "app"}]
  forward_to = [loki.write.sink.receiver]
}

loki.write "sink" {
  endpoint {
    url        = "${sink.url}"
    batch_wait = "100ms"
  }
}
`,
        );
        const rss0 = rssOf(alloy.proc.pid) ?? 0;
        let rssPeak = rss0;
        const total = RATE * SECONDS;
        const writer = spawnProc('writer', process.execPath, ['-e', WRITER, file, mode, String(total), String(RATE), String(ROTATE_EVERY_MS)]);
        await until(
          'the writer to finish',
          () => {
            rssPeak = Math.max(rssPeak, rssOf(alloy.proc.pid) ?? 0);
            return /done \d+/.test(writer.output());
          },
          (SECONDS + 30) * 1000,
          200,
        );
        // Then wait until the sink has every line, or nothing arrived for 5 s.
        let last = -1;
        let stillSince = Date.now();
        await until(
          'the sink to settle',
          () => {
            rssPeak = Math.max(rssPeak, rssOf(alloy.proc.pid) ?? 0);
            const n = sink.entries.length;
            if (n !== last) {
              last = n;
              stillSince = Date.now();
            }
            return n >= total || Date.now() - stillSince > 5000;
          },
          60_000,
          100,
        );
        const seen = new Map<number, number>();
        for (const l of sink.lines()) {
          const m = /^line-(\d+) /.exec(l);
          if (m) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
        }
        let duplicated = 0;
        for (const c of seen.values()) duplicated += c - 1;
        let lost = 0;
        for (let i = 1; i <= total; i++) if (!seen.has(i)) lost++;
        const rotations = /rotations (\d+)/.exec(writer.output())?.[1] ?? '?';
        reportFault({
          fault: `file-${mode}`,
          case: `${RATE} lines/s for ${SECONDS} s, ${mode} every ${ROTATE_EVERY_MS / 1000} s (${rotations} rotations), lines`,
          tried: total,
          survived: total - lost,
          lost,
          duplicated,
          rssGrowthBytes: rssPeak - rss0,
          note: `${((lost / total) * 100).toFixed(3)}% lost`,
        });
        expect(duplicated).toBe(0);
        if (mode === 'rename') expect(lost).toBe(0);
        else expect(lost / total).toBeLessThanOrEqual(0.001);
      },
      120_000,
    );
  }
});
