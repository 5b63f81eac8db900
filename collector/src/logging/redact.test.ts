import { PassThrough } from 'node:stream';
import { LogManager } from './logger.js';
import { isSensitiveParam, redactDeep, redactText, redactTypedBody, redactUrl } from './redact.js';

describe('redactUrl', () => {
  it.each([
    ['https://user:pw@host/p', 'https://user:xxxxx@host/p'],
    ['https://user:p%40ss:w@host:9/p?q=1', 'https://user:xxxxx@host:9/p?q=1'],
    ['http://h/write?access_token=abc&tenant=t', 'http://h/write?access_token=xxxxx&tenant=t'],
    ['http://h/?token=a&api_key=b&apikey=c&password=d&secret=e&sig=f&signature=g', 'http://h/?token=xxxxx&api_key=xxxxx&apikey=xxxxx&password=xxxxx&secret=xxxxx&sig=xxxxx&signature=xxxxx'],
    [
      'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AK%2F2024&X-Amz-Signature=deadbeef&X-Amz-Security-Token=tt',
      'https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=xxxxx&X-Amz-Signature=xxxxx&X-Amz-Security-Token=xxxxx',
    ],
    ['https://h/cb#access_token=zz&state=s', 'https://h/cb#access_token=xxxxx&state=s'],
    ['http://h/?client_secret=x&Authorization=y&API-KEY=z', 'http://h/?client_secret=xxxxx&Authorization=xxxxx&API-KEY=xxxxx'],
  ])('%s → %s', (input, want) => {
    expect(redactUrl(input)).toBe(want);
  });

  it('returns URLs without credentials unchanged, byte for byte', () => {
    for (const u of ['http://h', 'http://user@h:1/x?a=1&b', 'https://h/p?tokens_used=1&q=token', 'not a url', 'http://h/?token=']) {
      expect(redactUrl(u)).toBe(u);
    }
  });

  it('is idempotent', () => {
    const once = redactUrl('https://u:p@h/?token=t');
    expect(redactUrl(once)).toBe(once);
  });

  it('names credential-like parameters case- and punctuation-insensitively', () => {
    for (const n of ['token', 'access_token', 'ACCESS-TOKEN', 'refresh_token', 'api_key', 'apikey', 'x-api-key', 'password', 'passwd', 'secret', 'sig', 'X-Amz-Signature', 'x-goog-credential', 'sas']) {
      expect([n, isSensitiveParam(n)]).toEqual([n, true]);
    }
    for (const n of ['tenant', 'query', 'start', 'tokens_used', 'page', 'match[]', 'keyword']) {
      expect([n, isSensitiveParam(n)]).toEqual([n, false]);
    }
  });
});

describe('redactText and redactDeep', () => {
  it('redacts every URL inside free text, including JSON-quoted ones', () => {
    expect(redactText('Post "https://a:b@h/x?token=1": connection refused; retry http://h2/?sig=2')).toBe(
      'Post "https://a:xxxxx@h/x?token=xxxxx": connection refused; retry http://h2/?sig=xxxxx',
    );
    expect(redactText(JSON.stringify({ u: 'http://a:b@h' }))).toBe('{"u":"http://a:xxxxx@h"}');
    const plain = 'nothing to see';
    expect(redactText(plain)).toBe(plain);
  });

  it('redacts strings in trees and values under credential-like keys, keeping unchanged parts', () => {
    const clean = { a: [1, 'x'] };
    const tree = { clean, url: 'http://u:p@h', params: { token: ['t1', 't2'], job: ['j'] }, target: { __param_api_key: 'k', __address__: 'h:1' } };
    const out = redactDeep(tree);
    expect(out).toEqual({ clean, url: 'http://u:xxxxx@h', params: { token: ['xxxxx', 'xxxxx'], job: ['j'] }, target: { __param_api_key: 'xxxxx', __address__: 'h:1' } });
    expect(out.clean).toBe(clean);
    expect(tree.url).toBe('http://u:p@h');
    expect(redactDeep(clean)).toBe(clean);
  });
});

describe('log lines', () => {
  it.each(['logfmt', 'json'] as const)('never carry URL credentials (%s)', (format) => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString('utf8')));
    const logs = new LogManager({ stream: out, format });
    const log = logs.component('prometheus.remote_write.x');
    log.warn('failed to send to http://u:hunter2@h/api?access_token=tok1', {
      url: 'http://u:hunter2@h/api',
      err: new Error('Post "http://h/?api_key=key1": EOF'),
      nested: { endpoints: ['http://h/?sig=sig1'] },
    });
    for (const s of ['hunter2', 'tok1', 'key1', 'sig1']) expect(text).not.toContain(s);
    expect(text).toContain('u:xxxxx@h');
    expect(text).toContain('api_key=xxxxx');
  });
});

describe('redactTypedBody (typed bodies of the components API)', () => {
  it('hides credential keys and URL passwords, never the encoding\'s own fields', () => {
    const body = [
      { name: 'url', type: 'attr', value: { type: 'string', value: 'https://u:pw@host/x?token=abc&a=1' } },
      {
        name: 'targets',
        type: 'attr',
        value: { type: 'array', value: [{ type: 'object', value: [{ key: 'job', value: { type: 'string', value: 'j' } }, { key: 'key', value: { type: 'string', value: 'not-a-secret-name-here' } }] }] },
      },
      { name: 'params', type: 'attr', value: { type: 'object', value: [{ key: 'token', value: { type: 'array', value: [{ type: 'string', value: 't1' }] } }, { key: '__param_access_token', value: { type: 'string', value: 't2' } }] } },
      { name: 'endpoint', type: 'block', body: [{ name: 'name', type: 'attr', value: { type: 'string', value: 'e' } }] },
    ];
    expect(redactTypedBody(body)).toEqual([
      { name: 'url', type: 'attr', value: { type: 'string', value: 'https://u:xxxxx@host/x?token=xxxxx&a=1' } },
      {
        name: 'targets',
        type: 'attr',
        value: { type: 'array', value: [{ type: 'object', value: [{ key: 'job', value: { type: 'string', value: 'j' } }, { key: 'key', value: { type: 'string', value: 'xxxxx' } }] }] },
      },
      { name: 'params', type: 'attr', value: { type: 'object', value: [{ key: 'token', value: { type: 'array', value: [{ type: 'string', value: 'xxxxx' }] } }, { key: '__param_access_token', value: { type: 'string', value: 'xxxxx' } }] } },
      { name: 'endpoint', type: 'block', body: [{ name: 'name', type: 'attr', value: { type: 'string', value: 'e' } }] },
    ]);
  });
});
