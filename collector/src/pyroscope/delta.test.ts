import { gunzipSync, gzipSync } from 'node:zlib';
import { Function as PFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { CUMULATIVE_TYPES, DeltaComputer } from './delta.js';

/** A heap profile whose stacks get ids in the given order (ids differ between profiles). */
function heap(entries: Array<{ fn: string; alloc: number; inuse: number }>, idOffset: number): Buffer {
  const st = new StringTable();
  const fns = entries.map((e, i) => new PFunction({ id: idOffset + i, name: st.dedup(e.fn) }));
  const locs = entries.map((e, i) => new Location({ id: idOffset + i, address: 0x1000 + e.fn.charCodeAt(0), line: [new Line({ functionId: idOffset + i, line: 1 })] }));
  const p = new Profile({
    sampleType: [new ValueType({ type: st.dedup('alloc_space'), unit: st.dedup('bytes') }), new ValueType({ type: st.dedup('inuse_space'), unit: st.dedup('bytes') })],
    sample: entries.map((e, i) => new Sample({ locationId: [idOffset + i], value: [e.alloc, e.inuse] })),
    location: locs,
    function: fns,
    stringTable: st,
  });
  return gzipSync(p.encode());
}

function values(b: Uint8Array): Record<string, number[]> {
  const p = Profile.decode(gunzipSync(b));
  const s = p.stringTable.strings;
  const fn = new Map(p.function.map((f) => [Number(f.id), s[Number(f.name)]!]));
  const loc = new Map(p.location.map((l) => [Number(l.id), fn.get(Number(l.line[0]!.functionId))!]));
  return Object.fromEntries(p.sample.map((x) => [loc.get(Number(x.locationId[0]))!, x.value.map(Number)]));
}

describe('DeltaComputer', () => {
  it('primes on the first profile, then emits alloc deltas keyed by stack, inuse kept, unchanged stacks dropped', () => {
    const d = new DeltaComputer(CUMULATIVE_TYPES['memory']!);
    expect(d.delta(heap([{ fn: 'a', alloc: 100, inuse: 10 }, { fn: 'b', alloc: 50, inuse: 5 }], 1), 1 << 20)).toBeUndefined();
    const out = d.delta(heap([{ fn: 'b', alloc: 80, inuse: 7 }, { fn: 'a', alloc: 100, inuse: 0 }, { fn: 'c', alloc: 5, inuse: 5 }], 10), 1 << 20)!;
    expect(values(out)).toStrictEqual({ b: [30, 7], c: [5, 5] });
  });

  it('passes through profiles without the cumulative types and names a broken one', () => {
    const d = new DeltaComputer(CUMULATIVE_TYPES['mutex']!);
    const h = heap([{ fn: 'a', alloc: 1, inuse: 1 }], 1);
    expect(d.delta(h, 1 << 20)).toBe(h);
    expect(() => d.delta(Buffer.from('nope'), 1 << 20)).toThrow();
  });
});
