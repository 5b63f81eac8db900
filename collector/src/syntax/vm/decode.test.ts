import { z } from 'zod';
import { parseFile } from '../parser/parser.js';
import { decodeBody, decodeBodyOrThrow } from './decode.js';
import { block, blocks, capsule, duration, enumBlocks, formatDuration, labelledBlocks, optionalSecret, parseDuration, secret } from './schema.js';
import { stdlibScope } from './stdlib.js';
import { Secret, asCapsule } from './value.js';
import { DiagnosticsError } from '../diag/diag.js';
import type * as ast from '../ast/ast.js';

interface Receiver {
  append(): Promise<void>;
}
const receiver = asCapsule<Receiver>({ append: async () => undefined }, 'MetricsReceiver');
const scope = stdlibScope().child({ prometheus: { remote_write: { default: { receiver } } }, not_receiver: { x: 1 } });

const BasicAuth = z.object({ username: z.string(), password: secret() });
const Endpoint = z.object({
  url: z.string(),
  remote_timeout: duration().default(30_000),
  headers: z.record(z.string(), z.string()).default({}),
  basic_auth: block(BasicAuth).optional(),
});
const Args = z.object({
  forward_to: z.array(capsule<Receiver>('MetricsReceiver', (v) => typeof (v as Partial<Receiver>).append === 'function')),
  scrape_interval: duration().default(60_000),
  honor_labels: z.boolean().default(false),
  job_name: z.string().optional(),
  endpoint: blocks(Endpoint),
  wal: block(z.object({ truncate_frequency: duration().default(7_200_000), min_keepalive_time: duration().default(300_000) })).optional(),
});

function body(src: string): ast.Body {
  const { file, diags } = parseFile('args.alloy', src);
  expect(diags).toEqual([]);
  return file.body;
}

function diagsOf(src: string, schema: z.ZodType = Args): string[] {
  const r = decodeBody(body(src), schema, scope, { start: { file: 'args.alloy', line: 1, column: 1, offset: 0 }, end: { file: 'args.alloy', line: 1, column: 2, offset: 1 } });
  expect(r.value).toBeUndefined();
  return r.diags.map((d) => `${d.start.line}:${d.start.column}: ${d.message}`);
}

describe('decodeBody', () => {
  it('decodes attributes, durations, secrets, capsules, optional and repeated blocks with defaults', () => {
    const src = `
forward_to      = [prometheus.remote_write.default.receiver]
scrape_interval = "1m30s"
endpoint {
  url = "http://a"
  basic_auth {
    username = "u"
    password = "p"
  }
}
endpoint {
  url            = "http://b"
  remote_timeout = "500ms"
  headers        = { "X-Scope-OrgID" = "tenant" }
}
`;
    const r = decodeBody(body(src), Args, scope);
    expect(r.diags).toEqual([]);
    const v = r.value as z.output<typeof Args>;
    expect(v.forward_to[0]).toBe(receiver);
    expect(v.scrape_interval).toBe(90_000);
    expect(v.honor_labels).toBe(false);
    expect(v.wal).toBeUndefined();
    expect(v.endpoint).toHaveLength(2);
    expect(v.endpoint[0]!.url).toBe('http://a');
    expect(v.endpoint[0]!.remote_timeout).toBe(30_000);
    expect(v.endpoint[0]!.basic_auth!.password).toBeInstanceOf(Secret);
    expect(v.endpoint[0]!.basic_auth!.password.reveal()).toBe('p');
    expect(v.endpoint[1]).toEqual({ url: 'http://b', remote_timeout: 500, headers: { 'X-Scope-OrgID': 'tenant' } });
  });

  it('applies defaults inside an optional block that is present but empty', () => {
    const v = decodeBodyOrThrow(body('forward_to = []\nwal { }\n'), Args, scope);
    expect(v.wal).toEqual({ truncate_frequency: 7_200_000, min_keepalive_time: 300_000 });
    expect(v.endpoint).toEqual([]);
  });

  it('collects every problem with its position', () => {
    const src = `forward_to = [not_receiver]
unknown_attr = 1
scrape_interval = "5 minutes"
honor_labels = "yes"
honor_labels = true
endpoint = "x"
forward_to {
}
endpoint {
  remote_timeout = 10
  basic_auth {
    username = "u"
  }
}
wal { }
wal { }
mystery { }
job_name = nope.x
`;
    expect(diagsOf(src)).toEqual([
      '1:15: forward_to[0] should be capsule(MetricsReceiver), got object',
      '2:1: unrecognized attribute name "unknown_attr"',
      '3:19: scrape_interval: invalid duration "5 minutes": expected a Go duration such as "500ms", "15s", "1m30s" or "1h"',
      '4:16: "yes" should be bool, got string',
      '5:1: attribute "honor_labels" may only be provided once',
      '6:1: "endpoint" must be a block, but is used as an attribute',
      '7:1: "forward_to" must be an attribute, but is used as a block',
      '9:1: missing required attribute "url"',
      '10:20: endpoint[0].remote_timeout: invalid duration "10": expected a Go duration such as "500ms", "15s", "1m30s" or "1h"',
      '11:3: missing required attribute "password"',
      '16:1: block "wal" may only be specified once',
      '17:1: unrecognized block name "mystery"',
      '18:12: identifier "nope" does not exist',
    ]);
  });

  it('reports a missing required attribute at the owning block', () => {
    expect(diagsOf('endpoint {\n  url = "x"\n}\n')).toEqual(['1:1: missing required attribute "forward_to"']);
  });

  it('reports missing required blocks as blocks', () => {
    const S = z.object({ client: block(z.object({ url: z.string() })) });
    expect(diagsOf('', S)).toEqual(['1:1: missing required block "client"']);
  });

  it('rejects labels on nested blocks and decodes labelled blocks', () => {
    expect(diagsOf('forward_to = []\nwal "x" { }\n')).toEqual(['2:5: block "wal" does not support specifying labels']);
    const S = z.object({ argument: labelledBlocks(z.object({ optional: z.boolean().default(false) })) });
    const v = decodeBodyOrThrow(body('argument "a" { optional = true }\nargument "b" { }\n'), S, scope);
    expect(v.argument).toEqual([
      { label: 'a', body: { optional: true } },
      { label: 'b', body: { optional: false } },
    ]);
  });

  it('keeps source order across differently named blocks with enumBlocks', () => {
    const S = z.object({
      stages: enumBlocks({
        'stage.json': z.object({ expressions: z.record(z.string(), z.string()) }),
        'stage.labels': z.object({ values: z.record(z.string(), z.string()) }),
      }),
    });
    const src = 'stage.labels { values = { a = "" } }\nstage.json { expressions = { b = "c" } }\nstage.labels { values = {} }\n';
    expect(decodeBodyOrThrow(body(src), S, scope).stages).toEqual([
      { type: 'stage.labels', body: { values: { a: '' } } },
      { type: 'stage.json', body: { expressions: { b: 'c' } } },
      { type: 'stage.labels', body: { values: {} } },
    ]);
    expect(diagsOf('stage.json { expressions = 1 }\n', S)).toEqual(['1:28: 1 should be object, got number']);
  });

  it('decodeBodyOrThrow throws a DiagnosticsError', () => {
    expect(() => decodeBodyOrThrow(body('x = 1\n'), Args, scope)).toThrow(DiagnosticsError);
  });

  it('descends into literal values to position nested type errors', () => {
    const S = z.object({ targets: z.array(z.record(z.string(), z.string())) });
    expect(diagsOf('targets = [\n  { a = "x" },\n  { b = true },\n]\n', S)).toEqual(['3:9: true should be string, got bool']);
  });
});

describe('decodeBody: Alloy conversions', () => {
  const S = z.object({
    port: z.number(),
    name: z.string().default('none'),
    labels: z.record(z.string(), z.string()).default({}),
    ratios: z.array(z.number()).default([]),
    client: block(z.object({ timeout_ms: z.number().default(5) })).optional(),
  });

  it('converts numbers to strings and numeric strings to numbers where the schema asks', () => {
    const v = decodeBodyOrThrow(body('port = "12345"\nname = 7\nlabels = { replica = 1, zone = "a" }\nratios = ["0.5", 2, "1e3"]\nclient {\n  timeout_ms = "250"\n}\n'), S, scope);
    expect(v).toEqual({ port: 12345, name: '7', labels: { replica: '1', zone: 'a' }, ratios: [0.5, 2, 1000], client: { timeout_ms: 250 } });
  });

  it('treats null as unset so defaults apply', () => {
    const v = decodeBodyOrThrow(body('port = 1\nname = null\n'), S, scope);
    expect(v.name).toBe('none');
  });

  it('still rejects non-numeric strings for numbers', () => {
    expect(diagsOf('port = "http"\n', S)).toEqual(['1:8: "http" should be number, got string']);
  });

  it('does not mutate evaluated values shared through the scope', () => {
    const shared = { replica: 1 };
    const s2 = stdlibScope().child({ shared });
    const { file } = parseFile('s', 'port = 1\nlabels = shared\n');
    const r = decodeBody(file.body, S, s2);
    expect((r.value as { labels: unknown }).labels).toEqual({ replica: '1' });
    expect(shared).toEqual({ replica: 1 });
  });
});

describe('optionalSecret', () => {
  it('keeps strings plain and secrets secret, and rejects other types', () => {
    const S = z.object({ headers: z.record(z.string(), optionalSecret()).default({}) });
    const s2 = stdlibScope().child({ token: new Secret('t') });
    const { file } = parseFile('h', 'headers = { plain = "v", hidden = token }\n');
    const r = decodeBody(file.body, S, s2);
    const h = (r.value as { headers: Record<string, unknown> }).headers;
    expect(h['plain']).toBe('v');
    expect(h['hidden']).toBeInstanceOf(Secret);
    expect(diagsOf('headers = { x = true }\n', S)).toEqual(['1:17: headers.x should be string or secret, got bool']);
  });
});

describe('durations', () => {
  it.each<[string, number | undefined]>([
    ['0', 0],
    ['1m', 60_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['15s', 15_000],
    ['1.5h', 5_400_000],
    ['-2s', -2000],
    ['100us', 0.1],
    ['1µs', 0.001],
    ['10ns', 0.00001],
    ['', undefined],
    ['1', undefined],
    ['1d', undefined],
    ['m', undefined],
    ['1..5s', undefined],
  ])('parseDuration(%j)', (s, want) => {
    const got = parseDuration(s);
    if (want === undefined) expect(got).toBeUndefined();
    else expect(got).toBeCloseTo(want, 9);
  });

  it.each<[number, string]>([
    [0, '0s'],
    [500, '500ms'],
    [15_000, '15s'],
    [5_400_000, '1h30m0s'],
    [61_500, '1m1.5s'],
  ])('formatDuration(%d)', (ms, want) => expect(formatDuration(ms)).toBe(want));
});
