import { labelsToRecord } from '../labels/labels.js';
import type { Labels } from '../types.js';
import { acceptHeader, DEFAULT_SCRAPE_PROTOCOLS, detach, formatForContentType, ParseError, TextParser, type ExpositionFormat } from './textparse.js';
import { startNodeExporter } from './node-exporter.test-support.js';

interface Row {
  labels: Record<string, string>;
  value: number;
  ts?: number;
}

function parseAll(body: string, format: ExpositionFormat, skipCreatedSeries = false): { rows: Row[]; meta: string[]; p: TextParser } {
  const p = new TextParser(body, format, { skipCreatedSeries });
  const rows: Row[] = [];
  const meta: string[] = [];
  for (let k = p.next(); k !== 'eof'; k = p.next()) {
    if (k === 'series') {
      const r: Row = { labels: labelsToRecord(p.labels()), value: p.value };
      if (p.timestamp !== undefined) r.ts = p.timestamp;
      rows.push(r);
    } else meta.push(`${k} ${p.metricName} ${p.text}`);
  }
  return { rows, meta, p };
}

function parseError(body: string, format: ExpositionFormat): ParseError {
  try {
    parseAll(body, format);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error('expected a parse error');
}

describe('Prometheus text format 0.0.4', () => {
  it('parses help, type, labels, escapes, special values and timestamps', () => {
    const body = [
      '# HELP http_requests_total The total number of HTTP requests.\\nSecond line \\\\ done',
      '# TYPE http_requests_total counter',
      'http_requests_total{method="post",code="200"} 1027 1395066363000',
      'http_requests_total{code="400",method="post"}    3   1395066363000',
      '',
      '# Escaping in label values:',
      'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
      'metric_without_timestamp_and_labels 12.47',
      'something_weird{problem="division by zero"} +Inf -3982045',
      'nan_metric NaN',
      'neg_inf{a="",b="x",} -Inf',
      '# TYPE rpc_duration_seconds summary',
      'rpc_duration_seconds{quantile="0.5"} 4773',
      'rpc_duration_seconds_sum 1.7560473e+07',
      '\t',
    ].join('\n');
    const { rows, meta } = parseAll(body, 'prometheus');
    expect(meta).toEqual([
      'help http_requests_total The total number of HTTP requests.\nSecond line \\ done',
      'type http_requests_total counter',
      'type rpc_duration_seconds summary',
    ]);
    expect(rows[0]).toEqual({ labels: { __name__: 'http_requests_total', code: '200', method: 'post' }, value: 1027, ts: 1395066363000 });
    expect(rows[1]).toEqual({ labels: { __name__: 'http_requests_total', code: '400', method: 'post' }, value: 3, ts: 1395066363000 });
    expect(rows[2]!.labels).toEqual({ __name__: 'msdos_file_access_time_seconds', path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' });
    expect(rows[2]!.value).toBe(1.458255915e9);
    expect(rows[3]).toEqual({ labels: { __name__: 'metric_without_timestamp_and_labels' }, value: 12.47 });
    expect(rows[4]).toEqual({ labels: { __name__: 'something_weird', problem: 'division by zero' }, value: Infinity, ts: -3982045 });
    expect(Number.isNaN(rows[5]!.value)).toBe(true);
    expect(rows[6]).toEqual({ labels: { __name__: 'neg_inf', b: 'x' }, value: -Infinity });
    expect(rows).toHaveLength(9);
  });

  it('exposes the raw series text as a cache key and sorts labels', () => {
    const p = new TextParser('m{z="1",a="2"} 1\n', 'prometheus');
    expect(p.next()).toBe('series');
    expect(p.seriesKey).toBe('m{z="1",a="2"}');
    expect(p.labels().map((l) => l.name)).toEqual(['__name__', 'a', 'z']);
  });

  it('accepts quoted UTF-8 metric names inside the braces', () => {
    const { rows } = parseAll('{"my.metric", "my.label"="v"} 2\n', 'prometheus');
    expect(rows[0]!.labels).toEqual({ __name__: 'my.metric', 'my.label': 'v' });
  });

  it.each([
    ['m{a="1"', 3, 'unterminated label set'],
    ['m{a=1} 2', 3, 'expected quoted label value'],
    ['m 1 2 3', 3, 'unexpected "3" after sample'],
    ['m abc', 3, 'invalid value "abc"'],
    ['m 1 1.5', 3, 'invalid timestamp "1.5"'],
    ['m{a="1",a="2"} 1', 3, 'label name "a" is not unique'],
    ['9m 1', 3, 'invalid metric name start'],
    ['m', 3, 'expected value after metric'],
  ])('rejects %j with the line number', (line, lineNo, msg) => {
    const err = parseError(`# HELP m x\nok 1\n${line}\n`, 'prometheus');
    expect(err.line).toBe(lineNo);
    expect(err.message).toContain(`line ${lineNo}`);
    expect(err.message).toContain(msg);
  });

  it('rejects an unknown TYPE', () => {
    expect(parseError('# TYPE m countr\nm 1\n', 'prometheus').message).toContain('invalid metric type');
  });
});

describe('OpenMetrics 1.0 text', () => {
  const om = [
    '# TYPE acme_http_router_request_seconds summary',
    '# UNIT acme_http_router_request_seconds seconds',
    '# HELP acme_http_router_request_seconds Latency though all of ACME\'s HTTP request router.',
    'acme_http_router_request_seconds_sum{path="/api/v1",method="GET"} 9036.32',
    'acme_http_router_request_seconds_count{path="/api/v1",method="GET"} 807283.0',
    'acme_http_router_request_seconds_created{path="/api/v1",method="GET"} 1605281325.0',
    '# TYPE foo counter',
    'foo_total 17.0 1520879607.789 # {id="counter-test"} 5',
    'foo_created 1520872607.123',
    '# TYPE hist histogram',
    'hist_bucket{le="0.01"} 0',
    'hist_bucket{le="+Inf"} 17 # {trace_id="oHg5SJYRHA0"} 9.8 1520879607.789',
    'hist_count 17',
    'hist_sum 324789.3',
    '# TYPE state stateset',
    'state{state="a"} 1',
    '# TYPE build info',
    'build_info{version="1.2"} 1',
    '# EOF',
  ].join('\n') + '\n';

  it('parses types, units, seconds timestamps and exemplars; keeps _created series by default', () => {
    const p = new TextParser(om, 'openmetrics');
    const rows: Array<{ l: Record<string, string>; v: number; ts: number | undefined; ex: unknown }> = [];
    const meta: string[] = [];
    for (let k = p.next(); k !== 'eof'; k = p.next()) {
      if (k === 'series') rows.push({ l: labelsToRecord(p.labels()), v: p.value, ts: p.timestamp, ex: p.exemplar() });
      else meta.push(`${k}:${p.metricName}:${p.text}`);
    }
    expect(meta).toContain('unit:acme_http_router_request_seconds:seconds');
    expect(meta).toContain('type:state:stateset');
    expect(rows.map((r) => r.l['__name__'])).toEqual([
      'acme_http_router_request_seconds_sum', 'acme_http_router_request_seconds_count', 'acme_http_router_request_seconds_created',
      'foo_total', 'foo_created', 'hist_bucket', 'hist_bucket', 'hist_count', 'hist_sum', 'state', 'build_info',
    ]);
    const foo = rows[3]!;
    expect(foo.ts).toBe(1520879607789);
    expect(foo.ex).toEqual({ labels: [{ name: 'id', value: 'counter-test' }], value: 5, timestamp: 0 });
    expect(rows[6]!.ex).toEqual({ labels: [{ name: 'trace_id', value: 'oHg5SJYRHA0' }], value: 9.8, timestamp: 1520879607789 });
    expect(rows[5]!.ex).toBeUndefined();
    expect(p.typeOf('hist')).toBe('histogram');
  });

  it('can skip _created series and keep them as created timestamps', () => {
    const { rows, p } = parseAll(om, 'openmetrics', true);
    expect(rows.map((r) => r.labels['__name__'])).not.toContain('foo_created');
    expect(rows.map((r) => r.labels['__name__'])).not.toContain('acme_http_router_request_seconds_created');
    expect(p.createdTimestamps.get('foo')).toBe(1520872607123);
    expect(p.createdTimestamps.get('acme_http_router_request_seconds{path="/api/v1",method="GET"}')).toBe(1605281325000);
  });

  it.each([
    ['# TYPE a counter\na_total 1\n', 3, 'must end with "# EOF"'],
    ['a 1\n# EOF\nb 2\n', 3, 'after "# EOF"'],
    ['a 1\n\n# EOF\n', 2, 'empty line'],
    ['a 1\n# random comment\n# EOF\n', 2, 'invalid comment'],
    ['a 1 # {x="1"} zz\n# EOF\n', 1, 'invalid exemplar value'],
  ])('rejects %j', (body, line, msg) => {
    const err = parseError(body, 'openmetrics');
    expect(err.line).toBe(line);
    expect(err.message).toContain(msg);
  });
});

describe('memory: parsed labels do not retain the scrape body', () => {
  it('keeps label names/values and detached keys independent of the body string', async () => {
    const v8 = await import('node:v8');
    const vm = await import('node:vm');
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const kept: unknown[] = [];
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 30; i++) {
      // ~1 MB body per scrape, mostly comments; one series whose name and value are long.
      const body = `# ${'padding '.repeat(125_000)}\nsome_long_metric_name_${i}{long_label_name="a long label value number ${i}"} 1\n`;
      const p = new TextParser(body, 'prometheus');
      while (p.next() !== 'eof') kept.push(p.labels(), detach(p.seriesKey));
    }
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(kept).toHaveLength(60);
    expect(grown).toBeLessThan(8_000_000); // retaining the bodies would be ~30 MB
  });
});

describe('content negotiation', () => {
  it('builds the Accept header Prometheus sends for the default protocols', () => {
    expect(acceptHeader(DEFAULT_SCRAPE_PROTOCOLS)).toBe(
      'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2',
    );
    expect(acceptHeader(['PrometheusText1_0_0', 'PrometheusText0_0_4'], 'allow-utf-8')).toBe('text/plain;version=1.0.0;escaping=allow-utf-8;q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4');
  });
  it('chooses the parser from Content-Type', () => {
    expect(formatForContentType('application/openmetrics-text; version=1.0.0; charset=utf-8')).toBe('openmetrics');
    expect(formatForContentType('text/plain; version=0.0.4')).toBe('prometheus');
    expect(formatForContentType(undefined)).toBe('prometheus');
    expect(formatForContentType('text/html', 'openmetrics')).toBe('openmetrics');
    expect(() => formatForContentType('application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily')).toThrow(/protobuf/);
  });
});

describe('real node_exporter output', () => {
  it('parses every sample line of a live prometheus-node-exporter scrape', async () => {
    const ne = await startNodeExporter();
    if (!ne) return;
    try {
      const res = await fetch(`http://${ne.address}/metrics`, { headers: { accept: acceptHeader(DEFAULT_SCRAPE_PROTOCOLS) } });
      const body = await res.text();
      const format = formatForContentType(res.headers.get('content-type') ?? undefined);
      const p = new TextParser(body, format);
      const series: Labels[] = [];
      const keys = new Set<string>();
      for (let k = p.next(); k !== 'eof'; k = p.next()) {
        if (k !== 'series') continue;
        series.push(p.labels());
        keys.add(p.seriesKey);
      }
      // Golden invariant: one series per non-comment line, all distinct.
      const sampleLines = body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
      expect(series.length).toBe(sampleLines.length);
      expect(keys.size).toBe(series.length);
      // Independent check of each line's name and label count with a simple regex.
      sampleLines.forEach((line, i) => {
        const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line)!;
        expect(m).not.toBeNull();
        const rec = labelsToRecord(series[i]!);
        expect(rec['__name__']).toBe(m[1]);
        const pairs = m[3] ? (m[3].match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? []) : [];
        const nonEmpty = pairs.filter((pr) => !pr.endsWith('=""'));
        expect(series[i]!.length).toBe(nonEmpty.length + 1);
      });
      const build = series.find((s) => s.some((l) => l.name === '__name__' && l.value === 'node_exporter_build_info'));
      expect(build?.map((l) => l.name)).toEqual(expect.arrayContaining(['version', 'goversion', 'revision']));
      expect(series.some((s) => s.some((l) => l.name === 'quantile'))).toBe(true);
    } finally {
      await ne.stop();
    }
  }, 20_000);
});

describe('label sharing', () => {
  it('gives the series of one metric family one shared __name__ label', () => {
    const p = new TextParser('fam_total{a="1"} 1\nfam_total{a="2"} 2\nother 3\n', 'prometheus');
    const sets: Labels[] = [];
    for (let k = p.next(); k !== 'eof'; k = p.next()) if (k === 'series') sets.push(p.labels());
    const name = (ls: Labels) => ls.find((l) => l.name === '__name__')!;
    expect(name(sets[0]!)).toBe(name(sets[1]!));
    expect(name(sets[0]!).value).toBe('fam_total');
    expect(name(sets[2]!).value).toBe('other');
  });
});
