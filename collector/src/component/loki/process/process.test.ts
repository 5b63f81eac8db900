// The examples of Alloy's loki.process reference page (one per stage), as table tests: input
// line(s) → extracted values, labels, timestamp and output line. Configs are decoded from Alloy
// source exactly as a config file is.
import { createHash } from 'node:crypto';
import { formatStreamLabels } from '../../../loki/labels.js';
import { timestampToNanoString, type LogEntry } from '../../../loki/types.js';
import { decodeStages, processHarness } from './process.test-support.js';
import { LiveDebugging } from '../../../runtime/live-debugging.js';

const labelsOf = (e: LogEntry): string => formatStreamLabels(e.labels);

describe('loki.process stages (upstream reference examples)', () => {
  it('stage.cri: time, stream, flags, content; stream label, RFC3339Nano timestamp, content as line', async () => {
    const h = processHarness('stage.cri {}');
    const [out] = await h.push(['2019-04-30T02:12:41.8443515Z stdout F message']);
    expect(h.extracted[0]).toStrictEqual({ time: '2019-04-30T02:12:41.8443515Z', stream: 'stdout', flags: 'F', content: 'message' });
    expect(out!.line).toBe('message');
    expect(labelsOf(out!)).toBe('{stream="stdout"}');
    expect(timestampToNanoString(out!)).toBe('1556590361844351500');
  });

  it('stage.cri: joins partial (P) lines with the next full line of the same stream', async () => {
    const h = processHarness('stage.cri {}');
    const out = await h.push(['2019-04-30T02:12:41.1Z stdout P part one, ', '2019-04-30T02:12:41.2Z stderr F other', '2019-04-30T02:12:41.3Z stdout F part two']);
    expect(out.map((e) => [labelsOf(e), e.line])).toStrictEqual([
      ['{stream="stderr"}', 'other'],
      ['{stream="stdout"}', 'part one, part two'],
    ]);
  });

  it('stage.cri: max_partial_line_size_truncate cuts joined lines', async () => {
    const h = processHarness('stage.cri {\n max_partial_line_size = 5\n max_partial_line_size_truncate = true\n}');
    const out = await h.push(['2019-04-30T02:12:41.1Z stdout P abc', '2019-04-30T02:12:41.3Z stdout F defgh']);
    expect(out.map((e) => e.line)).toStrictEqual(['abcde']);
  });

  it('stage.decolorize strips ANSI colour codes', async () => {
    const h = processHarness('stage.decolorize {}');
    const [out] = await h.push(['[2022-11-04 22:17:57.811] \u001b[0;32mhttp\u001b[0m: GET /_health (0 ms) 204']);
    expect(out!.line).toBe('[2022-11-04 22:17:57.811] http: GET /_health (0 ms) 204');
  });

  it('stage.docker: output, stream, timestamp', async () => {
    const h = processHarness('stage.docker {}');
    const [out] = await h.push(['{"log":"log message\\n","stream":"stderr","time":"2019-04-30T02:12:41.8443515Z"}']);
    expect(h.extracted[0]).toStrictEqual({ output: 'log message\n', stream: 'stderr', timestamp: '2019-04-30T02:12:41.8443515Z' });
    expect(out!.line).toBe('log message\n');
    expect(labelsOf(out!)).toBe('{stream="stderr"}');
    expect(timestampToNanoString(out!)).toBe('1556590361844351500');
  });

  it('stage.drop: expression AND longer_than', async () => {
    const h = processHarness('stage.drop {\n  expression  = ".*debug.*"\n  longer_than = "1KB"\n}');
    const long = 'debug ' + 'x'.repeat(1100);
    const out = await h.push(['debug short', long, 'info ' + 'x'.repeat(1100)]);
    expect(out.map((e) => e.line.slice(0, 11))).toStrictEqual(['debug short', 'info xxxxxx']);
    expect(await h.registry.metrics()).toMatch(/loki_process_dropped_lines_total\{reason="drop_stage"\} 1/);
  });

  it('stage.drop: several blocks are OR-ed (older_than, longer_than, source+value), each with its reason', async () => {
    const now = Date.parse('2024-01-02T00:00:00Z');
    const h = processHarness(
      `stage.json {
  expressions = { app = "" }
}
stage.drop {
  older_than          = "24h"
  drop_counter_reason = "too old"
}
stage.drop {
  longer_than         = "8KB"
  drop_counter_reason = "too long"
}
stage.drop {
  source = "app"
  value  = "example"
}`,
      () => now,
    );
    const fresh = { timestampMs: now - 1000, timestampNanos: 0 };
    expect((await h.push(['{"app":"a"}'], {}, { timestampMs: now - 25 * 3_600_000, timestampNanos: 0 })).length).toBe(0);
    expect((await h.push([`{"app":"a","pad":"${'x'.repeat(9000)}"}`], {}, fresh)).length).toBe(0);
    expect((await h.push(['{"app":"example"}'], {}, fresh)).length).toBe(0);
    expect((await h.push(['{"app":"other"}'], {}, fresh)).map((e) => e.line)).toStrictEqual(['{"app":"other"}']);
    const m = await h.registry.metrics();
    expect(m).toMatch(/reason="too old"\} 1/);
    expect(m).toMatch(/reason="too long"\} 1/);
    expect(m).toMatch(/reason="drop_stage"\} 1/);
  });

  it('stage.drop: source alone drops when the value exists; several sources joined with separator', async () => {
    const h = processHarness('stage.logfmt {\n mapping = { a = "", b = "" }\n}\nstage.drop {\n source = "a,b"\n separator = "|"\n expression = "^1\\\\|2$"\n}');
    const out = await h.push(['a=1 b=2', 'a=1 b=3', 'a=1']);
    expect(out.map((e) => e.line)).toStrictEqual(['a=1 b=3', 'a=1']);
  });

  it('stage.json: two stages, the second parsing an extracted value', async () => {
    const h = processHarness(`stage.json {
  expressions = {output = "log", extra = ""}
}
stage.json {
  source      = "extra"
  expressions = {username = "user"}
}`);
    await h.push(['{"log":"log message\\n","extra":"{\\"user\\":\\"alloy\\"}"}']);
    expect(h.extracted[0]).toStrictEqual({ output: 'log message\n', extra: '{"user":"alloy"}', username: 'alloy' });
  });

  it('stage.json: JMESPath expressions, quoted names with "-", objects become JSON, malformed lines kept or dropped', async () => {
    const h = processHarness(`stage.json {
  expressions = {
    ua    = "\\"request_User-Agent\\"",
    first = "items[0].name",
    names = "items[*].name",
    obj   = "meta",
    n     = "count",
    ok    = "flag",
    none  = "missing",
  }
}`);
    const out = await h.push(['{"request_User-Agent":"curl","items":[{"name":"a"},{"name":"b"}],"meta":{"k":1},"count":3,"flag":true}', 'not json']);
    expect(h.extracted[0]).toStrictEqual({ ua: 'curl', first: 'a', names: '["a","b"]', obj: '{"k":1}', n: 3, ok: true, none: null });
    expect(h.extracted[1]).toStrictEqual({});
    expect(out.map((e) => e.line)).toContain('not json');
    const d = processHarness('stage.json {\n expressions = { a = "" }\n drop_malformed = true\n}');
    expect(await d.push(['not json', '[1]', '{"a":1}'])).toHaveLength(1);
    expect(await d.registry.metrics()).toMatch(/reason="malformed_json"\} 2/);
  });

  it('stage.label_drop and stage.label_keep', async () => {
    const base = { kubernetes_node_name: 'n1', kubernetes_namespace: 'ns', kubernetes_pod_name: 'p', kubernetes_pod_container_name: 'c' };
    const d = processHarness('stage.label_drop {\n values = [ "kubernetes_node_name", "kubernetes_namespace" ]\n}');
    expect(labelsOf((await d.push(['x'], base))[0]!)).toBe('{kubernetes_pod_container_name="c", kubernetes_pod_name="p"}');
    const k = processHarness('stage.label_keep {\n values = [ "kubernetes_pod_name", "kubernetes_pod_container_name" ]\n}');
    expect(labelsOf((await k.push(['x'], base))[0]!)).toBe('{kubernetes_pod_container_name="c", kubernetes_pod_name="p"}');
    const a = processHarness('stage.labelallow {\n values = [ "kubernetes_pod_name" ]\n}');
    expect(labelsOf((await a.push(['x'], base))[0]!)).toBe('{kubernetes_pod_name="p"}');
  });

  it('stage.labels: from extracted values, empty means the same name; shared Labels object per stream', async () => {
    const h = processHarness('stage.logfmt {\n mapping = { env = "", username = "" }\n}\nstage.labels {\n values = {\n env = "",\n user = "username",\n }\n}');
    const out = await h.push(['env=prod username=ann', 'env=prod username=ann', 'env=dev'], { job: 'j' });
    expect(out.map(labelsOf)).toStrictEqual(['{env="prod", job="j", user="ann"}', '{env="prod", job="j", user="ann"}', '{env="dev", job="j"}']);
    expect(out[0]!.labels).toBe(out[1]!.labels);
  });

  it('stage.limit: drop mode drops beyond the burst; by_label_name limits each value separately', async () => {
    let now = 0;
    const h = processHarness('stage.limit {\n rate = 5\n burst = 10\n drop = true\n}', () => now);
    expect(await h.push(Array.from({ length: 15 }, (_x, i) => `l${i}`))).toHaveLength(10);
    now += 1000;
    expect(await h.push(Array.from({ length: 15 }, (_x, i) => `l${i}`))).toHaveLength(5);
    const b = processHarness('stage.limit {\n rate = 10\n burst = 10\n drop = true\n by_label_name = "namespace"\n}', () => now);
    expect(await b.push(Array.from({ length: 12 }, () => 'x'), { namespace: 'a' })).toHaveLength(10);
    expect(await b.push(Array.from({ length: 12 }, () => 'x'), { namespace: 'b' })).toHaveLength(10);
    expect(await b.push(Array.from({ length: 12 }, () => 'x'), {})).toHaveLength(12);
    expect(await b.registry.metrics()).toMatch(/loki_process_dropped_lines_by_label_total\{label_name="namespace",label_value="a"\} 2/);
  });

  it('stage.limit: blocking mode delays lines beyond the burst (append waits) and loses none', async () => {
    const h = processHarness('stage.limit {\n rate = 200\n burst = 5\n}');
    const t0 = Date.now();
    await h.push(Array.from({ length: 25 }, (_x, i) => `l${i}`));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50);
    const end = Date.now() + 5000;
    while (h.sink.got.length < 25 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(h.sink.got.map((e) => e.line)).toStrictEqual(Array.from({ length: 25 }, (_x, i) => `l${i}`));
  });

  it('stage.logfmt: two stages, the second parsing an extracted value', async () => {
    const h = processHarness('stage.logfmt {\n mapping = { "extra" = "" }\n}\nstage.logfmt {\n mapping = { "username" = "user" }\n source = "extra"\n}');
    await h.push(['time=2012-11-01T22:08:41+00:00 app=loki level=WARN duration=125 message="this is a log line" extra="user=example_name"']);
    expect(h.extracted[0]).toStrictEqual({ extra: 'user=example_name', username: 'example_name' });
  });

  it('stage.match: the reference example (nested json, no-match, drop with reason, output)', async () => {
    const h = processHarness(`stage.json {
    expressions = { "appname" = "app" }
}
stage.labels {
    values = { "applbl" = "appname" }
}
stage.match {
    selector = "{applbl=\\"examplelabel\\"}"
    stage.json {
        expressions = { "msg" = "message" }
    }
}
stage.match {
    selector = "{applbl=\\"qux\\"}"
    stage.json {
        expressions = { "msg" = "msg" }
    }
}
stage.match {
    selector = "{applbl=\\"bar\\"} |~ \\".*noisy error.*\\""
    action   = "drop"
    drop_counter_reason = "discard_noisy_errors"
}
stage.output {
    source = "msg"
}`);
    const out = await h.push([
      '{ "time":"2023-01-18T17:08:41+00:00", "app":"examplelabel", "component": ["parser","type"], "level" : "WARN", "message" : "app1 log line" }',
      '{ "time":"2023-01-18T17:08:42+00:00", "app":"bar", "component": ["parser","type"], "level" : "ERROR", "message" : "example noisy error" }',
      '{ "time":"2023-01-18T17:08:43+00:00", "app":"bar", "level" : "INFO", "message" : "quiet" }',
    ]);
    expect(out.map((e) => [labelsOf(e), e.line])).toStrictEqual([
      ['{applbl="examplelabel"}', 'app1 log line'],
      ['{applbl="bar"}', '{ "time":"2023-01-18T17:08:43+00:00", "app":"bar", "level" : "INFO", "message" : "quiet" }'],
    ]);
    expect(await h.registry.metrics()).toMatch(/reason="discard_noisy_errors"\} 1/);
  });

  it('stage.match: matchers != =~ !~ and filters |= != !~', async () => {
    const h = processHarness('stage.match {\n selector = "{app=~\\"w.*\\", env!=\\"dev\\", tier!~\\"db|cache\\"} |= \\"GET\\" != \\"health\\" !~ \\"^DEBUG\\""\n action = "drop"\n}');
    const out = await h.push(['GET /x', 'GET /health', 'DEBUG GET /y', 'POST /z'], { app: 'web', env: 'prod' });
    expect(out.map((e) => e.line)).toStrictEqual(['GET /health', 'DEBUG GET /y', 'POST /z']);
    expect(await h.push(['GET /x'], { app: 'web', env: 'dev' })).toHaveLength(1);
  });

  it('stage.metrics: counters (match_all, count_entry_bytes, source/value), gauge add, histogram', async () => {
    const h = processHarness(`stage.regex {
    expression = "^.* order_status=(?P<order_status>.*?) .*$"
}
stage.regex {
    expression = "^.* retries=(?P<retries>\\\\d+) .*$"
}
stage.logfmt {
    mapping = { response_time = "" }
}
stage.metrics {
    metric.counter {
        name        = "log_lines_total"
        description = "total number of log lines"
        prefix      = "my_custom_tracking_"
        match_all         = true
        action            = "inc"
        max_idle_duration = "24h"
    }
    metric.counter {
        name        = "log_bytes_total"
        description = "total bytes of log lines"
        prefix      = "my_custom_tracking_"
        match_all         = true
        count_entry_bytes = true
        action            = "add"
        max_idle_duration = "24h"
    }
}
stage.metrics {
    metric.counter {
        name        = "successful_orders_total"
        description = "successful orders"
        source      = "order_status"
        value       = "success"
        action      = "inc"
    }
    metric.gauge {
        name        = "retries_total"
        description = "total_retries"
        source      = "retries"
        action      = "add"
    }
    metric.histogram {
        name        = "http_response_time_seconds"
        description = "recorded response times"
        source      = "response_time"
        buckets     = [0.001,0.0025,0.005,0.010,0.025,0.050]
    }
}`);
    await h.push(['a order_status=success retries=2 response_time=3ms x', 'b order_status=fail retries=3 response_time=0.02 x'], { job: 'shop' });
    const m = await h.registry.metrics();
    expect(m).toMatch(/my_custom_tracking_log_lines_total\{job="shop"\} 2/);
    expect(m).toMatch(new RegExp(`my_custom_tracking_log_bytes_total\\{job="shop"\\} ${'a order_status=success retries=2 response_time=3ms x'.length + 'b order_status=fail retries=3 response_time=0.02 x'.length}`));
    expect(m).toMatch(/loki_process_custom_successful_orders_total\{job="shop"\} 1/);
    expect(m).toMatch(/loki_process_custom_retries_total\{job="shop"\} 5/);
    expect(m).toMatch(/loki_process_custom_http_response_time_seconds_bucket\{job="shop",le="0.005"\} 1/);
    expect(m).toMatch(/loki_process_custom_http_response_time_seconds_bucket\{job="shop",le="0.025"\} 2/);
    expect(m).toMatch(/loki_process_custom_http_response_time_seconds_count\{job="shop"\} 2/);
    expect(m).toMatch(/# TYPE loki_process_custom_http_response_time_seconds histogram/);
  });

  it('stage.multiline: the Flask traceback becomes one entry; a timeout flushes the last block', async () => {
    const h = processHarness('stage.multiline {\n firstline = "^\\\\[\\\\d{4}-\\\\d{2}-\\\\d{2} \\\\d{1,2}:\\\\d{2}:\\\\d{2}\\\\]"\n max_wait_time = "50ms"\n}');
    const lines = [
      '[2023-01-18 17:41:21] "GET /hello HTTP/1.1" 200 -',
      '[2023-01-18 17:41:25] ERROR in app: Exception on /error [GET]',
      'Traceback (most recent call last):',
      '  File "/home/pallets/src/deployment_tools/hello.py", line 10, in error',
      '    raise Exception("Sorry, this route always breaks")',
      'Exception: Sorry, this route always breaks',
      '[2023-01-18 17:42:24] "GET /error HTTP/1.1" 500 -',
      '[2023-01-18 17:42:29] "GET /hello HTTP/1.1" 200 -',
    ];
    const out = await h.push(lines);
    expect(out.map((e) => e.line)).toStrictEqual([lines[0], lines.slice(1, 6).join('\n'), lines[6]]);
    const end = Date.now() + 5000;
    while (h.sink.got.length < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(h.sink.got.map((e) => e.line)[3]).toBe(lines[7]);
  });

  it('stage.multiline: max_lines starts a new block', async () => {
    const h = processHarness('stage.multiline {\n firstline = "^start"\n max_lines = 2\n}');
    const out = await h.push(['start', 'a', 'b', 'c']);
    expect(out.map((e) => e.line)).toStrictEqual(['start\na', 'b\nc']);
  });

  it('stage.output: json → labels → output', async () => {
    const h = processHarness('stage.json {\n expressions = { "user" = "user", "message" = "message" }\n}\nstage.labels {\n values = { "user" = "user" }\n}\nstage.output {\n source = "message"\n}');
    const [out] = await h.push(['{"user": "John Doe", "message": "hello, world!"}']);
    expect(h.extracted[0]).toStrictEqual({ user: 'John Doe', message: 'hello, world!' });
    expect(labelsOf(out!)).toBe('{user="John Doe"}');
    expect(out!.line).toBe('hello, world!');
  });

  it('stage.pack: embeds labels, removes them, _entry last; ingest_timestamp', async () => {
    const h = processHarness('stage.pack {\n labels = ["env", "user_id"]\n}', () => 5_000);
    const [out] = await h.push(['something went wrong'], { level: 'error', env: 'dev', user_id: 'f8fas0r' });
    expect(out!.line).toBe('{"env":"dev","user_id":"f8fas0r","_entry":"something went wrong"}');
    expect(labelsOf(out!)).toBe('{level="error"}');
    expect(out!.timestampMs).toBe(5_000);
    const k = processHarness('stage.pack {\n labels = ["env"]\n ingest_timestamp = false\n}', () => 5_000);
    expect((await k.push(['x'], { env: 'dev' }))[0]!.timestampMs).toBe(1_000);
  });

  it('stage.regex: named groups from the line, and from an extracted value', async () => {
    const h = processHarness('stage.regex {\n expression = "^(?s)(?P<time>\\\\S+?) (?P<stream>stdout|stderr) (?P<flags>\\\\S+?) (?P<content>.*)$"\n}');
    await h.push(["2019-01-01T01:00:00.000000001Z stderr P i'm a log message!"]);
    expect(h.extracted[0]).toStrictEqual({ time: '2019-01-01T01:00:00.000000001Z', stream: 'stderr', flags: 'P', content: "i'm a log message!" });
    const s = processHarness('stage.json {\n expressions = { time = "timestamp" }\n}\nstage.regex {\n expression = "^(?P<year>\\\\d+)"\n source = "time"\n}');
    await s.push(['{"timestamp":"2022-01-01T01:00:00.000000001Z"}']);
    expect(s.extracted[0]).toStrictEqual({ time: '2022-01-01T01:00:00.000000001Z', year: '2022' });
  });

  it('stage.replace: the three reference examples', async () => {
    const a = processHarness('stage.replace {\n expression = "password (\\\\S+)"\n replace = "*****"\n}');
    expect((await a.push(["2023-01-01T01:00:00.000000001Z stderr P i'm a log message who has sensitive information with password xyz!"]))[0]!.line).toBe(
      // The reference page shows "*****!", but RE2's \S+ also takes the "!" (as Alloy does).
      "2023-01-01T01:00:00.000000001Z stderr P i'm a log message who has sensitive information with password *****",
    );
    const b = processHarness('stage.json {\n expressions = { "level" = "", "msg" = "" }\n}\nstage.replace {\n expression = "\\\\S+ - \\"POST (\\\\S+) .*"\n source = "msg"\n replace = "redacted_url"\n}');
    // The reference page's line lacks the closing quote of "msg"; here it is valid JSON.
    await b.push(['{"time":"2023-01-01T01:00:00.000000001Z", "level": "info", "msg":"11.11.11.11 - \\"POST /loki/api/push/ HTTP/1.1\\" 200 932 \\"-\\" \\"Mozilla/5.0\\""}']);
    expect(b.extracted[0]!['msg']).toBe('11.11.11.11 - "POST redacted_url HTTP/1.1" 200 932 "-" "Mozilla/5.0"');
    const c = processHarness('stage.replace {\n expression = "^(?P<ip>\\\\S+) (?P<identd>\\\\S+) (?P<user>\\\\S+) \\\\[(?P<timestamp>[\\\\w:/]+\\\\s[+\\\\-]\\\\d{4})\\\\]"\n replace = "{{ .Value | ToUpper }}"\n}');
    const [out] = await c.push(['11.11.11.11 - frank [01/Jan/2023:00:00:01 +0200]']);
    expect(c.extracted[0]).toStrictEqual({ ip: '11.11.11.11', identd: '-', user: 'FRANK', timestamp: '01/JAN/2023:00:00:01 +0200' });
    expect(out!.line).toBe('11.11.11.11 - FRANK [01/JAN/2023:00:00:01 +0200]');
    const d = processHarness('stage.replace {\n expression = "(\\\\d{3})"\n replace = "{{ if eq .Value \\"200\\" }}{{ Replace .Value \\"200\\" \\"HttpStatusOk\\" -1 }}{{ else }}{{ .Value | ToUpper }}{{ end }}"\n}');
    expect((await d.push(['status 200 and 404']))[0]!.line).toBe('status HttpStatusOk and 404');
  });

  it('stage.sampling: rate 0 drops all, rate 1 keeps all, 0.25 keeps about a quarter', async () => {
    expect(await processHarness('stage.sampling {\n rate = 0\n}').push(['a', 'b'])).toHaveLength(0);
    expect(await processHarness('stage.sampling {\n rate = 1\n}').push(['a', 'b'])).toHaveLength(2);
    const h = processHarness('stage.sampling {\n rate = 0.25\n drop_counter_reason = "logs_sampling"\n}');
    const n = (await h.push(Array.from({ length: 4000 }, () => 'x'))).length;
    expect(n).toBeGreaterThan(800);
    expect(n).toBeLessThan(1200);
    expect(await h.registry.metrics()).toMatch(new RegExp(`reason="logs_sampling"\\} ${4000 - n}`));
  });

  it('stage.static_labels and stage.structured_metadata', async () => {
    const h = processHarness('stage.static_labels {\n values = {\n foo = "fooval",\n bar = "barval",\n }\n}\nstage.logfmt {\n mapping = { env = "", username = "" }\n}\nstage.structured_metadata {\n values = {\n env = "",\n user = "username",\n }\n}');
    const [out] = await h.push(['env=prod username=ann']);
    expect(labelsOf(out!)).toBe('{bar="barval", foo="fooval"}');
    expect(out!.structuredMetadata).toStrictEqual([
      { name: 'env', value: 'prod' },
      { name: 'user', value: 'ann' },
    ]);
  });

  it('stage.template: the reference examples and functions', async () => {
    const h = processHarness(`stage.logfmt {
  mapping = { app = "", level = "", module = "", v = "" }
}
stage.template {
    source   = "new_key"
    template = "hello_world"
}
stage.template {
    source   = "app"
    template = "{{ ToLower .Value }}_some_suffix"
}
stage.template {
    source   = "output_msg"
    template = "{{ .level }} for app {{ ToUpper .app }} in module {{.module}}"
}
stage.template {
    source   = "message"
    template = "{{.app }}: {{ .Entry }}"
}
stage.template {
    source   = "rep"
    template = \`{{ Replace .v "loki" "Loki" 2 }}\`
}
stage.template {
    source   = "trim"
    template = \`{{ Trim "..hi,. " ",. " }}|{{ TrimSpace "  x " }}|{{ TrimPrefix "--x" "--" }}|{{ TrimSuffix "a.log" ".log" }}|{{ TrimLeft "xxy" "x" }}\`
}
stage.template {
    source   = "re"
    template = \`{{ regexReplaceAll "(a*)bc" "aabcd" "\${1}a" }}|{{ regexReplaceAllLiteral "(ts=)" "ts=1" "timestamp=" }}\`
}
stage.template {
    source   = "hash"
    template = \`{{ Sha2Hash "v" "salt" }}\`
}
stage.template {
    source   = "cond"
    template = "{{- if and (eq .level \\"warn\\") (ne .app \\"x\\") -}} W {{- else if eq .level \\"info\\" }}I{{ else }}?{{ end -}}"
}
stage.output {
    source = "message"
}`);
    const [out] = await h.push(['app=Web level=warn module=db v="loki loki loki"']);
    const x = h.extracted[0]!;
    expect(x['new_key']).toBe('hello_world');
    expect(x['app']).toBe('web_some_suffix');
    expect(x['output_msg']).toBe('warn for app WEB_SOME_SUFFIX in module db');
    expect(x['message']).toBe('web_some_suffix: app=Web level=warn module=db v="loki loki loki"');
    expect(x['rep']).toBe('Loki Loki loki');
    expect(x['trim']).toBe('hi|x|x|a|y');
    expect(x['re']).toBe('aaad|timestamp=1');
    expect(x['hash']).toBe(createHash('sha256').update('vsalt').digest('hex'));
    expect(x['cond']).toBe('W');
    expect(out!.line).toBe('web_some_suffix: app=Web level=warn module=db v="loki loki loki"');
  });

  it('stage.tenant: value, source, label', async () => {
    const v = processHarness('stage.tenant {\n value = "team-a"\n}');
    expect(labelsOf((await v.push(['x']))[0]!)).toBe('{__tenant_id__="team-a"}');
    const s = processHarness('stage.json {\n expressions = { "customer_id" = "" }\n}\nstage.tenant {\n source = "customer_id"\n}');
    expect(labelsOf((await s.push(['{"customer_id":"c1"}']))[0]!)).toBe('{__tenant_id__="c1"}');
    const l = processHarness('stage.tenant {\n label = "namespace"\n}');
    expect(labelsOf((await l.push(['x'], { namespace: 'ns1' }))[0]!)).toBe('{__tenant_id__="ns1", namespace="ns1"}');
  });

  it('stage.timestamp: RFC3339, a custom layout with comma fraction, fallback formats, location, Unix forms', async () => {
    const ts = async (body: string, value: string): Promise<string> => {
      const h = processHarness(`stage.logfmt {\n mapping = { time = "" }\n}\nstage.timestamp {\n source = "time"\n ${body}\n}`);
      return timestampToNanoString((await h.push([`time="${value}"`]))[0]!);
    };
    expect(await ts('format = "RFC3339"', '2024-12-20T09:14:58+02:00')).toBe(String(Date.parse('2024-12-20T07:14:58Z')) + '000000');
    expect(await ts('format = "2006-01-02T15:04:05,000-07:00"', '2024-12-20T09:14:58,381+02:00')).toBe(String(Date.parse('2024-12-20T07:14:58.381Z')) + '000000');
    expect(await ts('format = "RFC3339Nano"', '2019-01-01T01:00:00.000000001Z')).toBe('1546304400000000001');
    expect(await ts('format = "UnixMs"', '1562708916414')).toBe('1562708916414000000');
    expect(await ts('format = "UnixUs"', '1562708916414123')).toBe('1562708916414123000');
    expect(await ts('format = "UnixNs"', '1562708916000000123')).toBe('1562708916000000123');
    expect(await ts('format = "Unix"', '1562708916.000000123')).toBe('1562708916000000123');
    expect(await ts('format = "Unix"\n fallback_formats = []', '1562708916')).toBe('1562708916000000000');
    expect(await ts('format = "RFC3339"\n fallback_formats = ["UnixMs", "02/Jan/2006:15:04:05 -0700"]', '01/Jan/2023:00:00:01 +0200')).toBe(String(Date.parse('2022-12-31T22:00:01Z')) + '000000');
    expect(await ts('format = "2006-01-02 15:04:05"\n location = "America/New_York"', '2024-07-01 12:00:00')).toBe(String(Date.parse('2024-07-01T16:00:00Z')) + '000000');
    expect(await ts('format = "2006-01-02 15:04:05"\n location = "America/New_York"', '2024-01-01 12:00:00')).toBe(String(Date.parse('2024-01-01T17:00:00Z')) + '000000');
    expect(await ts('format = "ANSIC"', 'Mon Jan  2 15:04:05 2006')).toBe(String(Date.parse('2006-01-02T15:04:05Z')) + '000000');
    expect(await ts('format = "RFC1123Z"', 'Mon, 02 Jan 2006 15:04:05 -0700')).toBe(String(Date.parse('2006-01-02T22:04:05Z')) + '000000');
    expect(await ts('format = "Jan _2 15:04:05.000"', 'Feb  3 04:05:06.789')).toBe(String(Date.UTC(new Date().getUTCFullYear(), 1, 3, 4, 5, 6, 789)) + '000000');
    expect(await ts('format = "3:04PM"\n action_on_failure = "skip"', '9:30PM')).toBe(String(Date.UTC(new Date().getUTCFullYear(), 0, 1, 21, 30)) + '000000');
  });

  it('stage.timestamp: fudge adds 1ns to the stream\'s last timestamp; skip keeps the entry time', async () => {
    const fudge = processHarness('stage.logfmt {\n mapping = { time = "" }\n}\nstage.timestamp {\n source = "time"\n format = "RFC3339Nano"\n}');
    const out = await fudge.push(['time=2019-01-01T01:00:00.000000001Z', 'no time here', 'time=garbage']);
    expect(out.map(timestampToNanoString)).toStrictEqual(['1546304400000000001', '1546304400000000002', '1546304400000000003']);
    const skip = processHarness('stage.logfmt {\n mapping = { time = "" }\n}\nstage.timestamp {\n source = "time"\n format = "RFC3339Nano"\n action_on_failure = "skip"\n}');
    const s = await skip.push(['time=2019-01-01T01:00:00.000000001Z', 'no time']);
    expect(s.map(timestampToNanoString)).toStrictEqual(['1546304400000000001', '1000000000']);
  });
});

describe('loki.process bad input', () => {
  const err = (body: string): string => {
    try {
      decodeStages(body);
    } catch (e: unknown) {
      return (e as Error).message;
    }
    return 'no error';
  };

  it.each([
    ['stage.regex {\n  expression = "(?P<x>[a-"\n}', /config\.alloy:4:16: .*invalid regex/],
    ['stage.regex {\n  expression = "no groups"\n}', /config\.alloy:4:16: .*at least one named capture group/],
    ['stage.template {\n  source = "x"\n  template = "{{ .x | NoSuchFn }}"\n}', /config\.alloy:5:14: .*function "NoSuchFn" not defined/],
    ['stage.template {\n  source = "x"\n  template = "{{ if .x }}open"\n}', /config\.alloy:5:14: .*unexpected EOF/],
    ['stage.timestamp {\n  source = "t"\n  format = "YYYY-MM-DD"\n}', /config\.alloy:5:12: .*no Go reference-time elements/],
    ['stage.timestamp {\n  source = "t"\n  format = "RFC3339"\n  location = "Mars/Base"\n}', /config\.alloy:6:14: .*unknown time zone location "Mars\/Base"/],
    ['stage.timestamp {\n  source = "t"\n  format = "RFC3339"\n  action_on_failure = "retry"\n}', /config\.alloy:6:23: .*action_on_failure must be "fudge" or "skip"/],
    ['stage.json {\n  expressions = { a = "b[" }\n}', /config\.alloy:4:23: .*invalid JMESPath expression "b\["/],
    ['stage.match {\n  selector = "{app=web}"\n  action = "drop"\n}', /config\.alloy:4:14: .*invalid selector/],
    ['stage.match {\n  selector = "{app=\\"web\\"}"\n}', /at least one nested stage/],
    ['stage.drop {\n  value = "x"\n}', /value needs source/],
    ['stage.tenant {\n  value = "a"\n  label = "b"\n}', /exactly one of label, source or value/],
    ['stage.labels {\n  values = { "bad-name" = "" }\n}', /invalid label name "bad-name"/],
    ['stage.limit {\n  rate = 1\n  burst = 1\n  by_label_name = "ns"\n}', /by_label_name needs drop = true/],
    ['stage.metrics {\n  metric.counter {\n    name = "x"\n    action = "inc"\n    match_all = true\n    value = "y"\n  }\n}', /cannot set both match_all = true and value/],
    ['stage.multiline {\n  firstline = "(["\n}', /config\.alloy:4:15: .*invalid regex/],
    ['stage.match {\n  selector = "{app=\\"web\\"}"\n  stage.regex {\n    expression = "(?P<x"\n  }\n}', /config\.alloy:6:18: .*invalid regex/],
  ])('%s', (body, want) => {
    expect(err(body)).toMatch(want);
  });
});

describe('loki.process live debugging', () => {
  it('publishes [IN] and [OUT] lines as upstream words them, only while someone watches', async () => {
    const live = new LiveDebugging();
    live.enabled = true;
    const h = processHarness('stage.logfmt {\n mapping = { level = "", trace = "" }\n}\nstage.labels {\n values = { level = "" }\n}\nstage.structured_metadata {\n values = { trace = "" }\n}\nstage.drop {\n expression = ".*debug.*"\n}', Date.now, false, live);
    await h.push(['level=info unseen']);
    const seen: string[] = [];
    const stop = live.subscribe('loki.process.t', (items) => seen.push(...items));
    await h.push(['level=info trace=abc msg=hi', 'level=debug msg=noise'], { job: 'api' }, { timestampMs: 1_714_557_600_123, timestampNanos: 4_500 });
    stop();
    await h.push(['level=info unseen']);
    expect(seen).toEqual([
      '[IN]: timestamp: 2024-05-01T10:00:00.1230045Z, entry: level=info trace=abc msg=hi, labels: {job="api"}, structured_metadata: {}',
      '[IN]: timestamp: 2024-05-01T10:00:00.1230045Z, entry: level=debug msg=noise, labels: {job="api"}, structured_metadata: {}',
      '[OUT]: timestamp: 2024-05-01T10:00:00.1230045Z, entry: level=info trace=abc msg=hi, labels: {job="api", level="info"}, structured_metadata: {"trace":"abc"}',
    ]);
  });
});
