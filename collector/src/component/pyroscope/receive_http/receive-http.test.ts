import winston from 'winston';
import { Registry } from 'prom-client';
import { gzipSync } from 'node:zlib';
import { createClient, ConnectError, Code } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import type { ComponentOptions } from '../../../runtime/component.js';
import { PusherService } from '../../../pyroscope/gen/push/v1/push_pb.js';
import { encodePush } from '../../../pyroscope/push.js';
import { makePprof } from '../../../pyroscope/pyroscope.test-support.js';
import { ProfilesWriteError, type IncomingProfile, type Labels, type ProfilesReceiver, type RawSample } from '../../../pyroscope/types.js';
import { argumentsSchema, PyroscopeReceiveHttpComponent, type Exports } from './receive-http.js';

const log = winston.createLogger({ transports: [new winston.transports.Console({ silent: true })] });
/** 70 MiB of zeros in ~70 KB of gzip: past the 64 MiB decompression limit. Built once. */
let bombCache: Buffer | undefined;
const bomb = (): Buffer => (bombCache ??= gzipSync(Buffer.alloc(70 * 1024 * 1024)));
const rec = (l: Labels): Record<string, string> => Object.fromEntries(l.map((x) => [x.name, x.value]));

class Recorder implements ProfilesReceiver {
  readonly appended: Array<{ labels: Record<string, string>; samples: readonly RawSample[] }> = [];
  readonly ingested: IncomingProfile[] = [];
  fail: ProfilesWriteError | undefined;
  gate: Promise<void> | undefined;
  async append(labels: Labels, samples: readonly RawSample[]): Promise<void> {
    await this.gate;
    if (this.fail) throw this.fail;
    this.appended.push({ labels: rec(labels), samples });
  }
  async appendIngest(p: IncomingProfile): Promise<void> {
    await this.gate;
    if (this.fail) throw this.fail;
    this.ingested.push(p);
  }
}

describe('pyroscope.receive_http', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  async function start(receivers: ProfilesReceiver[]): Promise<string> {
    const opts: ComponentOptions<Exports> = {
      id: 'pyroscope.receive_http.test',
      logger: log,
      registry: new Registry(),
      dataPath: '/nonexistent',
      onStateChange: () => undefined,
      setHealth: () => undefined,
      getService: () => {
        throw new Error('no services');
      },
    };
    const c = await PyroscopeReceiveHttpComponent.create(opts, argumentsSchema.parse({ http: { listen_address: '127.0.0.1', listen_port: 0 }, forward_to: receivers }));
    const ac = new AbortController();
    const running = c.run(ac.signal);
    stops.push(async () => {
      ac.abort();
      await running;
    });
    return `http://127.0.0.1:${c.address!.port}`;
  }

  it('takes pushes from a connect-node client (binary and JSON) and ensures service_name', async () => {
    const r = new Recorder();
    const url = await start([r]);
    const profile = makePprof({ seed: 3 });
    for (const useBinaryFormat of [true, false]) {
      const client = createClient(PusherService, createConnectTransport({ baseUrl: url, httpVersion: '1.1', useBinaryFormat }));
      await client.push({ series: [{ labels: [{ name: '__name__', value: 'process_cpu' }, { name: 'job', value: 'j' }], samples: [{ rawProfile: profile, ID: 'id-1' }] }] });
    }
    expect(r.appended).toHaveLength(2);
    for (const a of r.appended) {
      expect(a.labels).toEqual({ __name__: 'process_cpu', job: 'j', service_name: 'process_cpu' });
      expect(Buffer.from(a.samples[0]!.rawProfile)).toEqual(profile);
      expect(a.samples[0]!.id).toBe('id-1');
    }
  });

  it('answers only after the downstream accepted, and 500 (internal) when it gave up', async () => {
    const r = new Recorder();
    const url = await start([r]);
    let open!: () => void;
    r.gate = new Promise((res) => (open = res));
    const client = createClient(PusherService, createConnectTransport({ baseUrl: url, httpVersion: '1.1' }));
    let answered = false;
    const p = client.push({ series: [{ labels: [{ name: 'service_name', value: 's' }], samples: [{ rawProfile: makePprof() }] }] }).then(() => (answered = true));
    // Window, not synchronisation: proves the push is not answered before the append completes.
    await new Promise((res) => setTimeout(res, 100));
    expect(answered).toBe(false);
    open();
    await p;
    expect(answered).toBe(true);
    r.gate = undefined;
    r.fail = new ProfilesWriteError('sink down', 503, 'unavailable');
    const err = await client.push({ series: [{ labels: [{ name: 'service_name', value: 's' }], samples: [{ rawProfile: makePprof() }] }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Internal);
    expect((err as ConnectError).rawMessage).toMatch(/retry later: sink down/);
  });

  it('rejects bad pushes with the status and a message naming the problem, forwarding nothing', async () => {
    const r = new Recorder();
    const url = await start([r]);
    const post = (body: Uint8Array, headers: Record<string, string>): Promise<Response> => fetch(`${url}/push.v1.PusherService/Push`, { method: 'POST', body, headers: { 'content-type': 'application/proto', ...headers } });
    const good = encodePush([{ labels: [{ name: 'service_name', value: 's' }], samples: [{ rawProfile: makePprof() }] }]);
    const cases: Array<[string, Uint8Array, Record<string, string>, number, RegExp]> = [
      ['truncated protobuf', good.subarray(0, good.length - 7), {}, 400, /malformed or truncated PushRequest/],
      ['garbage pprof', encodePush([{ labels: [{ name: 'service_name', value: 's' }], samples: [{ rawProfile: Buffer.from('hello world, not pprof') }] }]), {}, 400, /series 0 sample 0: malformed or truncated pprof/],
      ['gzip bomb in a sample', encodePush([{ labels: [{ name: 'service_name', value: 's' }], samples: [{ rawProfile: bomb() }] }]), {}, 413, /exceeds the limit/],
      ['gzip bomb as body', bomb(), { 'content-encoding': 'gzip' }, 413, /push request: decompressed size exceeds/],
      ['unknown content type', good, { 'content-type': 'application/x-protobuf' }, 415, /application\/proto or application\/json/],
      ['unknown encoding', good, { 'content-encoding': 'br' }, 415, /Content-Encoding "br"/],
    ];
    for (const [what, body, headers, status, msg] of cases) {
      const res = await post(body, headers);
      const text = await res.text();
      expect({ what, status: res.status }).toEqual({ what, status });
      expect((JSON.parse(text) as { message: string }).message).toMatch(msg);
    }
    expect(r.appended).toHaveLength(0);
  }, 30_000);

  it('forwards /ingest pprof (raw and multipart) unchanged and rejects bad ingests', async () => {
    const r = new Recorder();
    const url = await start([r]);
    const profile = makePprof();
    let res = await fetch(`${url}/ingest?name=my.app.cpu%7Benv%3Dprod%7D&format=pprof&from=1&until=2&spyName=nodespy`, { method: 'POST', body: profile, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.status).toBe(200);
    const form = new FormData();
    form.append('profile', new Blob([profile]), 'profile.pprof');
    res = await fetch(`${url}/ingest?name=my.app.cpu&format=pprof`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    expect(r.ingested).toHaveLength(2);
    expect(r.ingested[0]!.body).toEqual(profile);
    expect(rec(r.ingested[0]!.labels)).toEqual({ __name__: 'my.app.cpu', env: 'prod', service_name: 'my.app.cpu' });
    expect(r.ingested[0]!.query.get('spyName')).toBe('nodespy');
    expect(r.ingested[1]!.contentType[0]).toMatch(/^multipart\/form-data; boundary=/);

    const bad: Array<[string, string, string | Buffer | FormData, Record<string, string>, number, RegExp]> = [
      ['no name', 'format=pprof', profile, {}, 400, /name query parameter is required/],
      ['bad name', 'name=app%7Benv&format=pprof', profile, {}, 400, /missing closing/],
      ['truncated pprof', 'name=a&format=pprof', profile.subarray(0, profile.length / 2), {}, 400, /invalid gzip data|truncated/],
      ['trie format', 'name=a&format=trie', 'x', {}, 415, /pre-1.0 Pyroscope SDK/],
      ['unknown format', 'name=a&format=png', 'x', {}, 415, /unknown format "png"/],
      ['folded garbage', 'name=a', 'main;work lots\n', {}, 400, /not "stack count"/],
      ['multipart without profile', 'name=a&format=pprof', (() => { const f = new FormData(); f.append('other', 'x'); return f; })(), {}, 400, /no "profile" part/],
      ['gzip bomb', 'name=a&format=pprof', bomb(), {}, 413, /exceeds the limit/],
    ];
    for (const [what, q, body, headers, status, msg] of bad) {
      const res2 = await fetch(`${url}/ingest?${q}`, { method: 'POST', body, headers });
      const text = await res2.text();
      expect({ what, status: res2.status }).toEqual({ what, status });
      expect(text).toMatch(msg);
    }
    expect(r.ingested).toHaveLength(2);
    res = await fetch(`${url}/ingest?name=a`, { method: 'POST', body: 'main;work 10\n' });
    expect(res.status).toBe(200);
    res = await fetch(`${url}/other`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(404);
  }, 30_000);

  it('accepts Go-SDK style multipart pprof with prev_profile and JFR uploads, raw and multipart', async () => {
    const r = new Recorder();
    const url = await start([r]);
    const go = new FormData();
    go.append('profile', new Blob([makePprof({ seed: 1 })]), 'profile.pprof');
    go.append('prev_profile', new Blob([makePprof({ seed: 2 })]), 'profile.pprof');
    go.append('sample_type_config', new Blob([JSON.stringify({ alloc_space: { units: 'bytes', cumulative: true } })]), 'sample_type_config.json');
    expect((await fetch(`${url}/ingest?name=go.app&format=pprof&spyName=gospy`, { method: 'POST', body: go })).status).toBe(200);
    const jfr = Buffer.concat([Buffer.from('FLR\0'), Buffer.alloc(200, 1)]);
    expect((await fetch(`${url}/ingest?name=java.app&format=jfr`, { method: 'POST', body: jfr })).status).toBe(200);
    const jf = new FormData();
    jf.append('jfr', new Blob([jfr]), 'jfr');
    jf.append('labels', new Blob([Buffer.alloc(0)]), 'labels');
    expect((await fetch(`${url}/ingest?name=java.app&format=jfr`, { method: 'POST', body: jf })).status).toBe(200);
    const bad = await fetch(`${url}/ingest?name=java.app&format=jfr`, { method: 'POST', body: 'not a recording at all' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/not a JFR recording/);
    expect(r.ingested.map((i) => i.query.get('format'))).toStrictEqual(['pprof', 'jfr', 'jfr']);
    expect(r.ingested[2]!.body.includes(jfr)).toBe(true);
  });

  it('passes a downstream 4xx on /ingest through so the SDK does not retry it', async () => {
    const r = new Recorder();
    r.fail = new ProfilesWriteError('bad profile', 400, 'invalid_argument');
    const url = await start([r]);
    const res = await fetch(`${url}/ingest?name=a&format=pprof`, { method: 'POST', body: makePprof() });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/bad profile/);
  });
});
