import { gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { checkJfr, checkPprof, checkPprofPayload, checkText, gunzipBounded, PayloadError } from './formats.js';
import { normalizeLabelSet, parseLabelSet } from './labelset.js';
import { makePprof } from './pyroscope.test-support.js';

function statusOf(f: () => unknown): number | undefined {
  try {
    f();
    return undefined;
  } catch (err: unknown) {
    if (err instanceof PayloadError) return err.status;
    throw err;
  }
}

describe('pprof checks', () => {
  const raw = makePprof({ gzip: false, stacks: 30 });

  it('accepts a real pprof (gzip or not) and counts what it saw', () => {
    expect(checkPprof(raw)).toEqual({ sampleTypes: 2, samples: 30, strings: expect.any(Number) as number });
    expect(Profile.decode(raw).sample).toHaveLength(30);
    expect(checkPprofPayload(gzipSync(raw), 1 << 20).samples).toBe(30);
  });

  it('rejects every truncation of a profile with 400', () => {
    let rejected = 0;
    for (let n = 1; n < raw.length; n += Math.max(1, Math.floor(raw.length / 200))) {
      if (statusOf(() => checkPprof(raw.subarray(0, n))) === 400) rejected++;
      else throw new Error(`truncation at ${n} of ${raw.length} bytes was accepted`);
    }
    expect(rejected).toBeGreaterThan(100);
  });

  it('rejects garbage, JSON and an empty body with 400 naming pprof', () => {
    expect(() => checkPprof(Buffer.from('{"not":"pprof"}'))).toThrow(/pprof/);
    expect(statusOf(() => checkPprof(Buffer.alloc(0)))).toBe(400);
    expect(statusOf(() => checkPprofPayload(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]), 1024))).toBe(400);
  });

  it('stops a gzip bomb at the limit with 413', () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100 * 1024);
    expect(() => gunzipBounded(bomb, 1024 * 1024, 'profile')).toThrow(/exceeds the limit of 1048576 bytes/);
    expect(statusOf(() => checkPprofPayload(bomb, 1024 * 1024))).toBe(413);
  });

  it('checks JFR magic and folded lines', () => {
    const jfr = Buffer.concat([Buffer.from('FLR\0'), Buffer.alloc(100)]);
    expect(() => checkJfr(jfr, 1 << 20)).not.toThrow();
    expect(statusOf(() => checkJfr(Buffer.from('PK\u0003\u0004 not jfr at all............................................................'), 1 << 20))).toBe(400);
    expect(() => checkText(Buffer.from('main;work 10\nmain;idle 3\n'), 'folded')).not.toThrow();
    expect(() => checkText(Buffer.from('main;work ten\n'), 'folded')).toThrow(/line 1 is not "stack count"/);
  });
});

describe('labelset', () => {
  it('parses and normalizes the ingest name parameter', () => {
    const ls = parseLabelSet('my.app.cpu{region=eu, env=prod}');
    expect(ls).toEqual([
      { name: '__name__', value: 'my.app.cpu' },
      { name: 'env', value: 'prod' },
      { name: 'region', value: 'eu' },
    ]);
    expect(normalizeLabelSet(ls)).toBe('my.app.cpu{env=prod,region=eu}');
    expect(parseLabelSet('plain')).toEqual([{ name: '__name__', value: 'plain' }]);
  });

  it('names what is wrong with a bad name', () => {
    expect(() => parseLabelSet('app{env=prod')).toThrow(/missing closing/);
    expect(() => parseLabelSet('app{env}')).toThrow(/has no "="/);
    expect(() => parseLabelSet('app{1x=y}')).toThrow(/not a valid label name/);
  });
});
