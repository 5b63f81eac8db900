/**
 * Client-side deltas of cumulative Go profiles (memory `alloc_*`, mutex and block
 * `contentions`/`delay`), as upstream's scrape delta appender: each profile is turned into the
 * difference from the previous one of the same target, so Pyroscope can store it as is
 * (`__delta__="false"`). The first profile only primes the state. Samples are matched by stack
 * (location address and function/line of every frame) and labels, never by location ids, which
 * differ between profiles. Value types other than the cumulative ones (e.g. `inuse_*`) are kept.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { isGzip } from './formats.js';

/** Cumulative value types per profile type, as upstream's `deltaProfiles`. */
export const CUMULATIVE_TYPES: Readonly<Record<string, ReadonlyArray<readonly [string, string]>>> = {
  memory: [
    ['alloc_objects', 'count'],
    ['alloc_space', 'bytes'],
  ],
  mutex: [
    ['contentions', 'count'],
    ['delay', 'nanoseconds'],
  ],
  block: [
    ['contentions', 'count'],
    ['delay', 'nanoseconds'],
  ],
};

export class DeltaComputer {
  readonly #types: ReadonlyArray<readonly [string, string]>;
  #prev: Map<string, number[]> | undefined;

  constructor(types: ReadonlyArray<readonly [string, string]>) {
    this.#types = types;
  }

  /**
   * The delta of `data` (pprof, gzip or not) from the previous call, gzip-compressed; undefined
   * for the first profile. A profile without the cumulative types is returned unchanged.
   * @throws Error when `data` is not a decodable pprof (the state is kept).
   */
  delta(data: Uint8Array, maxBytes: number): Uint8Array | undefined {
    const p = Profile.decode(isGzip(data) ? gunzipSync(data, { maxOutputLength: maxBytes }) : data);
    const s = p.stringTable.strings;
    const idx = p.sampleType.map((t, i) => (this.#types.some(([ty, un]) => s[Number(t.type)] === ty && s[Number(t.unit)] === un) ? i : -1)).filter((i) => i >= 0);
    if (idx.length === 0) return data;
    const fnName = new Map(p.function.map((f) => [Number(f.id), s[Number(f.name)] ?? '']));
    const locKey = new Map(p.location.map((l) => [Number(l.id), `${Number(l.address)}:${l.line.map((ln) => `${fnName.get(Number(ln.functionId)) ?? ''}@${Number(ln.line)}`).join(',')}`]));
    const next = new Map<string, number[]>();
    const kept = [];
    for (const sample of p.sample) {
      const labels = sample.label.map((l) => `${s[Number(l.key)]}=${l.str ? s[Number(l.str)] : String(l.num)}`).sort().join(',');
      let key = sample.locationId.map((id) => locKey.get(Number(id)) ?? '?').join(';') + '|' + labels;
      // Equal stacks within one profile stay apart, in order.
      for (let n = 1; next.has(key); n++) key = `${key}#${n}`;
      const cur = idx.map((i) => Number(sample.value[i]));
      next.set(key, cur);
      const prev = this.#prev?.get(key);
      let nonZero = false;
      sample.value = sample.value.map((v, i) => {
        const k = idx.indexOf(i);
        const out = k < 0 ? Number(v) : cur[k]! - (prev?.[k] ?? 0);
        if (out !== 0) nonZero = true;
        return out;
      });
      if (nonZero) kept.push(sample);
    }
    const first = this.#prev === undefined;
    this.#prev = next;
    if (first) return undefined;
    p.sample = kept;
    return gzipSync(p.encode());
  }
}
