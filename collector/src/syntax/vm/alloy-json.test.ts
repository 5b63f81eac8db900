import { z } from 'zod';
import { encodeBodyJSON, encodeTypedJSON, encodeValueJSON, plainOfBody } from './alloy-json.js';
import { block, blocks, capsule, duration, enumBlocks, labelledBlocks, secret } from './schema.js';
import { Secret, asCapsule } from './value.js';

describe('encodeValueJSON', () => {
  it('encodes every value type with Alloy type names', () => {
    const recv = asCapsule({ append: () => undefined }, 'MetricsReceiver');
    expect(encodeValueJSON({ b: [1, 'x', true, null], a: new Secret('s'), c: recv, f: () => null })).toEqual({
      type: 'object',
      value: [
        { key: 'a', value: { type: 'capsule', value: '(secret)' } },
        {
          key: 'b',
          value: {
            type: 'array',
            value: [
              { type: 'number', value: 1 },
              { type: 'string', value: 'x' },
              { type: 'bool', value: true },
              { type: 'null' },
            ],
          },
        },
        { key: 'c', value: { type: 'capsule', value: 'capsule("MetricsReceiver")' } },
        { key: 'f', value: { type: 'function', value: 'function' } },
      ],
    });
    expect(JSON.stringify(encodeValueJSON(null))).toBe('{"type":"null"}');
  });
});

describe('encodeBodyJSON', () => {
  const S = z.object({
    url: z.string(),
    timeout: duration().default(30_000),
    password: secret().optional(),
    endpoint: blocks(z.object({ name: z.string() })),
    tls: block(z.object({ insecure: z.boolean().default(false) })).optional(),
    arg: labelledBlocks(z.object({})),
    stages: enumBlocks({ 'stage.json': z.object({ source: z.string() }) }),
  });

  it('follows the schema: blocks as blocks, defaults omitted, secrets redacted', () => {
    const value = S.parse({
      url: 'http://x',
      password: 'p',
      endpoint: [{ name: 'a' }, { name: 'b' }],
      tls: {},
      arg: [{ label: 'l', body: {} }],
      stages: [{ type: 'stage.json', body: { source: 'msg' } }],
    });
    expect(encodeBodyJSON(value, S)).toEqual([
      { name: 'url', type: 'attr', value: { type: 'string', value: 'http://x' } },
      { name: 'password', type: 'attr', value: { type: 'capsule', value: '(secret)' } },
      { name: 'endpoint', type: 'block', body: [{ name: 'name', type: 'attr', value: { type: 'string', value: 'a' } }] },
      { name: 'endpoint', type: 'block', body: [{ name: 'name', type: 'attr', value: { type: 'string', value: 'b' } }] },
      { name: 'tls', type: 'block', body: [] },
      { name: 'arg', type: 'block', label: 'l', body: [] },
      { name: 'stage.json', type: 'block', body: [{ name: 'source', type: 'attr', value: { type: 'string', value: 'msg' } }] },
    ]);
  });

  it('treats every key as an attribute without a schema', () => {
    expect(encodeBodyJSON({ receiver: 1 })).toEqual([{ name: 'receiver', type: 'attr', value: { type: 'number', value: 1 } }]);
  });
});

describe('encodeTypedJSON', () => {
  it('gives values back the Alloy type their schema decoded: durations, capsules, nested arrays and records', () => {
    const S = z.object({
      interval: duration(),
      forward_to: z.array(capsule('MetricsReceiver')),
      timeouts: z.record(z.string(), duration()),
      n: z.number(),
    });
    const v = S.parse({ interval: '1h30m', forward_to: [{ append: () => undefined }], timeouts: { a: '500ms' }, n: 30_000 });
    expect(encodeBodyJSON(v, S)).toEqual([
      { name: 'interval', type: 'attr', value: { type: 'string', value: '1h30m0s' } },
      { name: 'forward_to', type: 'attr', value: { type: 'array', value: [{ type: 'capsule', value: 'capsule("MetricsReceiver")' }] } },
      { name: 'timeouts', type: 'attr', value: { type: 'object', value: [{ key: 'a', value: { type: 'string', value: '500ms' } }] } },
      // A plain number stays a number: only schema-declared durations are formatted.
      { name: 'n', type: 'attr', value: { type: 'number', value: 30_000 } },
    ]);
    expect(encodeTypedJSON(30_000, duration().default(60_000))).toEqual({ type: 'string', value: '30s' });
  });

  it('leaves out a defaulted block whose fields are all at their defaults, keeps a present block without default', () => {
    const S = z.object({
      queue: block(z.object({ capacity: z.number().default(10) })).prefault({}),
      tls: block(z.object({ insecure: z.boolean().default(false) })).optional(),
    });
    expect(encodeBodyJSON(S.parse({ tls: {} }), S)).toEqual([{ name: 'tls', type: 'block', body: [] }]);
    expect(encodeBodyJSON(S.parse({ queue: { capacity: 5 } }), S)).toEqual([{ name: 'queue', type: 'block', body: [{ name: 'capacity', type: 'attr', value: { type: 'number', value: 5 } }] }]);
  });

  it('reads back as plain JSON for scripts', () => {
    const body = encodeBodyJSON({ a: 1, b: { c: ['x'] } });
    expect(plainOfBody(body)).toEqual({ a: 1, b: { c: ['x'] } });
    expect(plainOfBody([{ name: 'e', type: 'block', label: 'l', body: [{ name: 'x', type: 'attr', value: { type: 'null' } }] }])).toEqual({ e: [{ label: 'l', x: null }] });
  });
});
