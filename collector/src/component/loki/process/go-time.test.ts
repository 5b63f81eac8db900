import { NAMED_LAYOUTS, parseGoTime, parseWithLayout, TimeParseError } from './go-time.js';

describe('Go time layouts', () => {
  it('the RFC3339 fast path agrees with the general layout walk on generated timestamps', () => {
    let seed = 42;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let k = 0; k < 5000; k++) {
      const ms = rnd(2 ** 31) * 2000 - 2 ** 31;
      const d = new Date(ms);
      const frac = ['', '.5', '.123', '.123456', '.000000001', ',25'][rnd(6)]!;
      const off = ['Z', '+02:00', '-07:30', '+00:00'][rnd(4)]!;
      const v = d.toISOString().slice(0, 19) + frac + off;
      for (const layout of [NAMED_LAYOUTS['RFC3339']!, NAMED_LAYOUTS['RFC3339Nano']!]) {
        let general: unknown;
        try {
          general = parseWithLayout(layout, v);
        } catch (e: unknown) {
          general = (e as Error).constructor.name;
        }
        let fast: unknown;
        try {
          fast = parseGoTime(layout, v);
        } catch (e: unknown) {
          fast = (e as Error).constructor.name;
        }
        expect([v, fast]).toStrictEqual([v, general]);
      }
    }
  });

  it('rejects impossible dates and extra text with Go-style messages', () => {
    expect(() => parseGoTime(NAMED_LAYOUTS['RFC3339']!, '2023-02-29T00:00:00Z')).toThrow(/day out of range/);
    expect(() => parseGoTime(NAMED_LAYOUTS['RFC3339']!, '2024-02-29T00:00:00Zx')).toThrow(TimeParseError);
    expect(parseGoTime(NAMED_LAYOUTS['RFC3339']!, '2024-02-29T00:00:00Z').timestampMs).toBe(Date.parse('2024-02-29T00:00:00Z'));
    expect(() => parseGoTime('2006-01-02', '2024-13-01')).toThrow(/month out of range/);
    expect(() => parseGoTime('Jan _2', 'Foo  2')).toThrow(/cannot parse "Foo  2" as month name/);
  });

  it('12-hour clocks, weekday names, day of year, zone abbreviations with a location', () => {
    const now = new Date(Date.UTC(2024, 5, 1));
    expect(parseGoTime('Monday, 02-Jan-06 03:04:05 PM', 'Tuesday, 05-Mar-24 11:30:00 PM', undefined, now).timestampMs).toBe(Date.UTC(2024, 2, 5, 23, 30));
    expect(parseGoTime('2006 002', '2024 060', undefined, now).timestampMs).toBe(Date.UTC(2024, 1, 29));
    expect(parseGoTime('2006-01-02 15:04 MST', '2024-01-15 10:00 EST', 'America/New_York', now).timestampMs).toBe(Date.UTC(2024, 0, 15, 15));
    expect(parseGoTime('2006-01-02 15:04 MST', '2024-01-15 10:00 UTC', 'America/New_York', now).timestampMs).toBe(Date.UTC(2024, 0, 15, 10));
  });
});
