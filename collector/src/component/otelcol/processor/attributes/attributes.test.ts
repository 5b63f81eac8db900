import { createHash } from 'node:crypto';
import { decodeJson } from '../../../../otlp/json.js';
import type { Telemetry } from '../../../../otlp/data.js';
import { officialDecode } from '../../otelcol.test-support.js';
import { argumentsSchema, processAttributes } from './attributes.js';

type Obj = Record<string, unknown>;
const kv = (key: string, v: Obj) => ({ key, value: v });
function traces(service: string, attrs: Obj[]): Telemetry {
  return decodeJson('traces', JSON.stringify({ resourceSpans: [{ resource: { attributes: [kv('service.name', { stringValue: service })] }, scopeSpans: [{ scope: { name: 'lib', version: '1' }, spans: [{ traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060708', name: 'GET /doc', attributes: attrs }, { traceId: '0102030405060708090a0b0c0d0e0f10', spanId: '0102030405060709', name: 'bare' }] }] }] }));
}
const attrsOf = (t: Telemetry, i = 0): Record<string, unknown> =>
  Object.fromEntries(((((officialDecode('traces', t.encode())['resourceSpans'] as Obj[])[0]!['scopeSpans'] as Obj[])[0]!['spans'] as Obj[])[i]!['attributes'] as Obj[] | undefined ?? []).map((a) => [a['key'], a['value']]));

describe('otelcol.processor.attributes', () => {
  it('applies insert, update, upsert, delete, hash, extract and convert in order without touching the input', () => {
    const input = traces('svc', [kv('env', { stringValue: 'dev' }), kv('user.email', { stringValue: 'a@b.c' }), kv('path', { stringValue: '/api/v1/document/123/update/v2' }), kv('code', { stringValue: '404' }), kv('credit_card', { stringValue: '4111' }), kv('tmp.a', { intValue: '1' })]);
    const before = Buffer.from(input.encode());
    const args = argumentsSchema.parse({
      action: [
        { key: 'env', value: 'prod', action: 'insert' },
        { key: 'region', value: 'eu', action: 'insert' },
        { key: 'env', value: 'staging', action: 'update' },
        { key: 'missing', value: 1, action: 'update' },
        { key: 'copy', from_attribute: 'env', action: 'upsert' },
        { key: 'tenant', from_context: 'metadata.x-tenant', action: 'upsert' },
        { key: 'user.email', action: 'hash' },
        { key: 'path', pattern: '^/api/v1/document/(?P<doc_id>.*)/update/(?P<version>.*)$', action: 'extract' },
        { key: 'code', converted_type: 'int', action: 'convert' },
        { key: 'credit_card', action: 'delete' },
        { pattern: '^tmp\\.', action: 'delete' },
      ],
      output: {},
    });
    const out = processAttributes(args, input.withMetadata(new Map([['x-tenant', ['acme', 'beta']]])));
    expect(Buffer.from(input.encode()).equals(before)).toBe(true);
    expect(attrsOf(out)).toEqual({
      env: { stringValue: 'staging' },
      'user.email': { stringValue: createHash('sha1').update('a@b.c').digest('hex') },
      path: { stringValue: '/api/v1/document/123/update/v2' },
      code: { intValue: '404' },
      region: { stringValue: 'eu' },
      copy: { stringValue: 'staging' },
      tenant: { stringValue: 'acme;beta' },
      doc_id: { stringValue: '123' },
      version: { stringValue: 'v2' },
    });
    expect(attrsOf(out, 1)).toMatchObject({ region: { stringValue: 'eu' }, env: { stringValue: 'staging' } }); // inserted, then updated
  });

  it('acts only on items matched by include and not by exclude', () => {
    const args = argumentsSchema.parse({ include: { match_type: 'strict', services: ['svc'] }, exclude: { match_type: 'regexp', span_names: ['^bare$'] }, action: [{ key: 'seen', value: true, action: 'insert' }], output: {} });
    const out = processAttributes(args, traces('svc', []));
    expect(attrsOf(out, 0)).toEqual({ seen: { boolValue: true } });
    expect(attrsOf(out, 1)).toEqual({});
    expect(attrsOf(processAttributes(args, traces('other', [])), 0)).toEqual({});
  });

  it('rejects actions missing what they need, naming it', () => {
    const bad = argumentsSchema.safeParse({ action: [{ key: 'x', action: 'insert' }], output: {} });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toMatch(/needs exactly one of value, from_attribute or from_context/);
  });
});
