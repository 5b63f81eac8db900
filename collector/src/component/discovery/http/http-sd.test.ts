import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpDiscovery, parseTargetGroups, type LabelSet } from './http-sd.js';

interface Answer {
  status?: number;
  contentType?: string;
  body: string;
}

let server: http.Server;
let base: string;
let answer: Answer;
const requests: http.IncomingHttpHeaders[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests.push(req.headers);
    if (req.url === '/private' && req.headers.authorization !== `Basic ${Buffer.from('sd:pw').toString('base64')}`) {
      res.statusCode = 401;
      return void res.end('no');
    }
    res.statusCode = answer.status ?? 200;
    res.setHeader('content-type', answer.contentType ?? 'application/json');
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  requests.length = 0;
  answer = { body: '[]' };
});

async function until<T>(f: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('parseTargetGroups (Prometheus targetgroup.Group JSON)', () => {
  it('flattens groups to one label set per target with the group labels and __meta_url', () => {
    const body = JSON.stringify([
      { targets: ['a:1', 'b:2'], labels: { env: 'prod', __meta_x: 'y' } },
      { targets: ['c:3'] },
      { labels: { lonely: 'yes' } },
      { targets: ['d:4'], labels: { __address__: 'ignored:0' } },
    ]);
    expect(parseTargetGroups(body, 'http://sd/x')).toEqual([
      { env: 'prod', __meta_x: 'y', __meta_url: 'http://sd/x', __address__: 'a:1' },
      { env: 'prod', __meta_x: 'y', __meta_url: 'http://sd/x', __address__: 'b:2' },
      { __meta_url: 'http://sd/x', __address__: 'c:3' },
      { __meta_url: 'http://sd/x', __address__: 'd:4' },
    ]);
  });

  it.each([
    ['not JSON', '{', 'not valid JSON'],
    ['an object', '{"targets":[]}', 'not a JSON array'],
    ['a null group', '[null]', 'nil target group item found'],
    ['an unknown field', '[{"targets":[],"lables":{}}]', 'unknown field "lables"'],
    ['an invalid label name', '[{"targets":["a:1"],"labels":{"bad-name":"x"}}]', '"bad-name" is not a valid label name'],
    ['a non-string label value', '[{"targets":["a:1"],"labels":{"n":1}}]', 'the value of label "n" is not a string'],
    ['non-string targets', '[{"targets":[1]}]', 'targets must be a list of strings'],
  ])('refuses %s', (_what, body, message) => {
    expect(() => parseTargetGroups(body, 'http://sd/')).toThrow(message);
  });
});

describe('HttpDiscovery', () => {
  it('asks as Prometheus does and follows changes at every refresh', async () => {
    answer = { body: JSON.stringify([{ targets: ['a:1'], labels: { v: '1' } }]) };
    let last: readonly LabelSet[] | undefined;
    let updates = 0;
    const ac = new AbortController();
    const sd = new HttpDiscovery({ url: `${base}/sd`, refreshIntervalMs: 100, http: { follow_redirects: true }, userAgent: 'test-agent', onTargets: (t) => ((last = t), updates++), onError: () => undefined });
    const done = sd.run(ac.signal);
    try {
      await until(() => (last?.length === 1 ? true : undefined), 'first targets');
      expect(last).toEqual([{ v: '1', __meta_url: `${base}/sd`, __address__: 'a:1' }]);
      expect(requests[0]).toMatchObject({ accept: 'application/json', 'user-agent': 'test-agent', 'x-prometheus-refresh-interval-seconds': '0.1' });
      answer = { contentType: 'application/json; charset=utf-8', body: JSON.stringify([{ targets: ['a:1', 'b:1'], labels: { v: '2' } }]) };
      await until(() => (last?.length === 2 ? true : undefined), 'changed targets');
      expect(last!.map((t) => t['v'])).toEqual(['2', '2']);
      expect(updates).toBeGreaterThanOrEqual(2);
    } finally {
      ac.abort();
      await done;
    }
  });

  it('keeps the last targets and reports the reason while the server fails, and recovers', async () => {
    answer = { body: JSON.stringify([{ targets: ['a:1'] }]) };
    let last: readonly LabelSet[] | undefined;
    let error: string | undefined;
    const ac = new AbortController();
    const sd = new HttpDiscovery({ url: `${base}/sd`, refreshIntervalMs: 50, http: { follow_redirects: true }, userAgent: 'x', onTargets: (t) => (last = t), onError: (e) => (error = e) });
    const done = sd.run(ac.signal);
    try {
      await until(() => last, 'first targets');
      answer = { status: 503, body: 'down' };
      await until(() => error, 'an error');
      expect(error).toBe(`HTTP service discovery from ${base}/sd: server returned HTTP status 503`);
      answer = { contentType: 'text/plain', body: '[]' };
      await until(() => (error?.includes('unsupported content type "text/plain"') ? true : undefined), 'content type error');
      expect(last).toEqual([{ __meta_url: `${base}/sd`, __address__: 'a:1' }]);
      answer = { body: '[]' };
      await until(() => (error === undefined ? true : undefined), 'recovery');
      expect(last).toEqual([]);
    } finally {
      ac.abort();
      await done;
    }
  });

  it('sends the configured credentials', async () => {
    answer = { body: JSON.stringify([{ targets: ['p:1'] }]) };
    const sd = new HttpDiscovery({ url: `${base}/private`, refreshIntervalMs: 1000, http: { follow_redirects: true, basic_auth: { username: 'sd', password: { reveal: () => 'pw' } } }, userAgent: 'x', onTargets: () => undefined, onError: () => undefined });
    await expect(sd.refresh()).resolves.toEqual([{ __meta_url: `${base}/private`, __address__: 'p:1' }]);
    const anonymous = new HttpDiscovery({ url: `${base}/private`, refreshIntervalMs: 1000, http: { follow_redirects: true }, userAgent: 'x', onTargets: () => undefined, onError: () => undefined });
    await expect(anonymous.refresh()).rejects.toThrow('server returned HTTP status 401');
    sd.close();
    anonymous.close();
  });
});
