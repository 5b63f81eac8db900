/**
 * Go `time.Parse` / `time.ParseInLocation` for `stage.timestamp`: layouts written with Go's
 * reference time (`Mon Jan 2 15:04:05 MST 2006`), the named layouts (RFC3339, ANSIC, ...) and
 * Loki's Unix formats (Unix, UnixMs, UnixUs, UnixNs). Results keep nanosecond precision as
 * (`timestampMs`, `timestampNanos`).
 *
 * Semantics kept from Go: month/day names match case-insensitively; `_2` allows a leading space;
 * fractional seconds after a seconds field are accepted even when the layout has none; `Z07:00`
 * accepts `Z` for UTC; a zone abbreviation other than UTC/GMT takes the location's offset when a
 * location is given, else UTC; text left over after the layout is an error. A layout without a
 * year gets the current year (as Alloy's timestamp stage).
 */

export interface Timestamp {
  readonly timestampMs: number;
  readonly timestampNanos: number;
}

export const NAMED_LAYOUTS: Readonly<Record<string, string>> = {
  ANSIC: 'Mon Jan _2 15:04:05 2006',
  UnixDate: 'Mon Jan _2 15:04:05 MST 2006',
  RubyDate: 'Mon Jan 02 15:04:05 -0700 2006',
  RFC822: '02 Jan 06 15:04 MST',
  RFC822Z: '02 Jan 06 15:04 -0700',
  RFC850: 'Monday, 02-Jan-06 15:04:05 MST',
  RFC1123: 'Mon, 02 Jan 2006 15:04:05 MST',
  RFC1123Z: 'Mon, 02 Jan 2006 15:04:05 -0700',
  RFC3339: '2006-01-02T15:04:05Z07:00',
  RFC3339Nano: '2006-01-02T15:04:05.999999999Z07:00',
  Kitchen: '3:04PM',
  Stamp: 'Jan _2 15:04:05',
  StampMilli: 'Jan _2 15:04:05.000',
  StampMicro: 'Jan _2 15:04:05.000000',
  StampNano: 'Jan _2 15:04:05.000000000',
  DateTime: '2006-01-02 15:04:05',
  DateOnly: '2006-01-02',
  TimeOnly: '15:04:05',
};

export const UNIX_FORMATS = ['Unix', 'UnixMs', 'UnixUs', 'UnixNs'] as const;

type Std =
  | 'LongMonth' | 'Month' | 'NumMonth' | 'ZeroMonth' | 'LongWeekDay' | 'WeekDay' | 'Day' | 'UnderDay' | 'ZeroDay'
  | 'UnderYearDay' | 'ZeroYearDay' | 'Hour' | 'Hour12' | 'ZeroHour12' | 'Minute' | 'ZeroMinute' | 'Second' | 'ZeroSecond'
  | 'LongYear' | 'Year' | 'PM' | 'pm' | 'TZ' | 'ISO8601TZ' | 'ISO8601SecondsTZ' | 'ISO8601ShortTZ' | 'ISO8601ColonTZ'
  | 'ISO8601ColonSecondsTZ' | 'NumTZ' | 'NumSecondsTz' | 'NumShortTZ' | 'NumColonTZ' | 'NumColonSecondsTZ' | 'Frac0' | 'Frac9';

type Chunk = { lit: string } | { std: Std; digits?: number; sep?: string };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const isDigit = (s: string, i: number): boolean => i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57;

/** Splits a layout into literal text and reference-time elements (Go's `nextStdChunk`). */
export function parseLayout(layout: string): Chunk[] {
  const out: Chunk[] = [];
  let lit = '';
  const push = (c: Chunk, len: number, i: number): number => {
    if (lit) out.push({ lit });
    lit = '';
    out.push(c);
    return i + len;
  };
  let i = 0;
  while (i < layout.length) {
    const rest = layout.slice(i);
    const c = layout[i]!;
    let n: number | undefined;
    switch (c) {
      case 'J':
        if (rest.startsWith('January')) n = push({ std: 'LongMonth' }, 7, i);
        else if (rest.startsWith('Jan')) n = push({ std: 'Month' }, 3, i);
        break;
      case 'M':
        if (rest.startsWith('Monday')) n = push({ std: 'LongWeekDay' }, 6, i);
        else if (rest.startsWith('Mon')) n = push({ std: 'WeekDay' }, 3, i);
        else if (rest.startsWith('MST')) n = push({ std: 'TZ' }, 3, i);
        break;
      case '0':
        if (rest.startsWith('002')) n = push({ std: 'ZeroYearDay' }, 3, i);
        else if (rest[1] && '123456'.includes(rest[1])) {
          const m: Record<string, Std> = { '1': 'ZeroMonth', '2': 'ZeroDay', '3': 'ZeroHour12', '4': 'ZeroMinute', '5': 'ZeroSecond', '6': 'Year' };
          n = push({ std: m[rest[1]]! }, 2, i);
        }
        break;
      case '1':
        n = rest.startsWith('15') ? push({ std: 'Hour' }, 2, i) : push({ std: 'NumMonth' }, 1, i);
        break;
      case '2':
        n = rest.startsWith('2006') ? push({ std: 'LongYear' }, 4, i) : push({ std: 'Day' }, 1, i);
        break;
      case '_':
        if (rest.startsWith('_2')) {
          if (rest.startsWith('_2006')) {
            lit += '_';
            n = push({ std: 'LongYear' }, 5, i);
          } else n = push({ std: 'UnderDay' }, 2, i);
        } else if (rest.startsWith('__2')) n = push({ std: 'UnderYearDay' }, 3, i);
        break;
      case '3':
        n = push({ std: 'Hour12' }, 1, i);
        break;
      case '4':
        n = push({ std: 'Minute' }, 1, i);
        break;
      case '5':
        n = push({ std: 'Second' }, 1, i);
        break;
      case 'P':
        if (rest.startsWith('PM')) n = push({ std: 'PM' }, 2, i);
        break;
      case 'p':
        if (rest.startsWith('pm')) n = push({ std: 'pm' }, 2, i);
        break;
      case '-':
        for (const [p, s] of [['-070000', 'NumSecondsTz'], ['-07:00:00', 'NumColonSecondsTZ'], ['-0700', 'NumTZ'], ['-07:00', 'NumColonTZ'], ['-07', 'NumShortTZ']] as const) {
          if (rest.startsWith(p)) {
            n = push({ std: s }, p.length, i);
            break;
          }
        }
        break;
      case 'Z':
        for (const [p, s] of [['Z070000', 'ISO8601SecondsTZ'], ['Z07:00:00', 'ISO8601ColonSecondsTZ'], ['Z0700', 'ISO8601TZ'], ['Z07:00', 'ISO8601ColonTZ'], ['Z07', 'ISO8601ShortTZ']] as const) {
          if (rest.startsWith(p)) {
            n = push({ std: s }, p.length, i);
            break;
          }
        }
        break;
      case '.':
      case ',':
        if (rest[1] === '0' || rest[1] === '9') {
          const ch = rest[1];
          let j = 1;
          while (j < rest.length && rest[j] === ch) j++;
          if (!isDigit(rest, j)) {
            n = push({ std: ch === '0' ? 'Frac0' : 'Frac9', digits: j - 1, sep: c }, j, i);
          }
        }
        break;
    }
    if (n === undefined) {
      lit += c;
      i++;
    } else i = n;
  }
  if (lit) out.push({ lit });
  return out;
}

/** Does the layout contain any reference-time element? (A layout without one cannot parse a time.) */
export function layoutHasElements(layout: string): boolean {
  return parseLayout(layout).some((c) => 'std' in c);
}

export class TimeParseError extends Error {}

const fail = (value: string, layout: string, why: string): never => {
  throw new TimeParseError(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: ${why}`);
};

const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** Checks an IANA location name; throws with a clear message when unknown. */
export function checkLocation(name: string): void {
  zoneFormatter(name);
}

function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = zoneFormatters.get(zone);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', era: 'short' });
    } catch {
      throw new Error(`unknown time zone location ${JSON.stringify(zone)}; use an IANA name such as "America/New_York" or "UTC"`);
    }
    zoneFormatters.set(zone, f);
  }
  return f;
}

/** Offset (ms) of `zone` from UTC at the instant `utcMs`. */
function zoneOffsetMs(zone: string, utcMs: number): number {
  const parts = zoneFormatter(zone).formatToParts(new Date(utcMs));
  const get = (t: string): number => Number(parts.find((p) => p.type === t)?.value ?? 0);
  let year = get('year');
  if (parts.find((p) => p.type === 'era')?.value === 'BC') year = 1 - year;
  const wall = utcFromFields(year, get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(utcMs / 1000) * 1000;
}

function utcFromFields(y: number, mon: number, d: number, h: number, mi: number, s: number): number {
  if (y >= 100) return Date.UTC(y, mon, d, h, mi, s);
  const dt = new Date(0);
  dt.setUTCFullYear(y, mon, d);
  dt.setUTCHours(h, mi, s, 0);
  return dt.getTime();
}

function getNum(v: string, i: number, fixed: boolean, layout: string, value: string): [number, number] {
  if (!isDigit(v, i)) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))}`);
  if (!isDigit(v, i + 1)) {
    if (fixed) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))}`);
    return [v.charCodeAt(i) - 48, i + 1];
  }
  return [(v.charCodeAt(i) - 48) * 10 + v.charCodeAt(i + 1) - 48, i + 2];
}

function lookupName(names: readonly string[], v: string, i: number, short: boolean): [number, number] | undefined {
  for (let k = 0; k < names.length; k++) {
    const n = short ? names[k]!.slice(0, 3) : names[k]!;
    if (v.slice(i, i + n.length).toLowerCase() === n.toLowerCase()) return [k, i + n.length];
  }
  return undefined;
}

/**
 * Parses `value` with a Go layout. `location` (IANA name) is the zone for values without an
 * offset; `now` supplies the year for layouts without one.
 */
export function parseGoTime(layout: string, value: string, location?: string, now: Date | (() => Date) = new Date()): Timestamp {
  if (layout === RFC3339 || layout === RFC3339_NANO) {
    const fast = parseRfc3339(value);
    if (fast !== undefined) return fast;
  }
  return parseWithLayout(layout, value, location, now);
}

/** `parseGoTime` without the RFC3339 fast path (the general layout walk). */
export function parseWithLayout(layout: string, value: string, location?: string, now: Date | (() => Date) = new Date()): Timestamp {
  let chunks = layoutCache.get(layout);
  if (chunks === undefined) {
    chunks = parseLayout(layout);
    if (layoutCache.size > 1000) layoutCache.clear();
    layoutCache.set(layout, chunks);
  }
  let year: number | undefined;
  let month = 1;
  let day = 1;
  let yday = -1;
  let hour = 0;
  let min = 0;
  let sec = 0;
  let nanos = 0;
  let pmSet = false;
  let amSet = false;
  let offsetSec: number | undefined;
  let abbrev: string | undefined;
  let i = 0;
  const v = value;
  for (let ci = 0; ci < chunks.length; ci++) {
    const ch = chunks[ci]!;
    if ('lit' in ch) {
      // Go skips leading spaces of the value where the layout has spaces, then matches exactly.
      if (v.slice(i, i + ch.lit.length) !== ch.lit) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as ${JSON.stringify(ch.lit)}`);
      i += ch.lit.length;
      continue;
    }
    switch (ch.std) {
      case 'Year': {
        if (!isDigit(v, i) || !isDigit(v, i + 1)) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as "06"`);
        const y = Number(v.slice(i, i + 2));
        year = y >= 69 ? 1900 + y : 2000 + y;
        i += 2;
        break;
      }
      case 'LongYear': {
        if (!/^\d{4}$/.test(v.slice(i, i + 4))) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as "2006"`);
        year = Number(v.slice(i, i + 4));
        i += 4;
        break;
      }
      case 'Month':
      case 'LongMonth': {
        const r = lookupName(MONTHS, v, i, ch.std === 'Month') ?? fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as month name`);
        month = r[0] + 1;
        i = r[1];
        break;
      }
      case 'NumMonth':
      case 'ZeroMonth': {
        [month, i] = getNum(v, i, ch.std === 'ZeroMonth', layout, value);
        if (month < 1 || month > 12) fail(value, layout, 'month out of range');
        break;
      }
      case 'WeekDay':
      case 'LongWeekDay': {
        const r = lookupName(DAYS, v, i, ch.std === 'WeekDay') ?? fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as weekday name`);
        i = r[1];
        break;
      }
      case 'Day':
      case 'UnderDay':
      case 'ZeroDay': {
        if (ch.std === 'UnderDay' && v[i] === ' ') i++;
        [day, i] = getNum(v, i, ch.std === 'ZeroDay', layout, value);
        break;
      }
      case 'UnderYearDay':
      case 'ZeroYearDay': {
        let j = i;
        if (ch.std === 'UnderYearDay') while (v[j] === ' ' && j < i + 2) j++;
        const m = /^\d{1,3}/.exec(v.slice(j));
        if (!m || (ch.std === 'ZeroYearDay' && m[0].length !== 3)) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as day of year`);
        yday = Number(m![0]);
        i = j + m![0].length;
        break;
      }
      case 'Hour':
        [hour, i] = getNum(v, i, false, layout, value);
        if (hour > 23) fail(value, layout, 'hour out of range');
        break;
      case 'Hour12':
      case 'ZeroHour12':
        [hour, i] = getNum(v, i, ch.std === 'ZeroHour12', layout, value);
        if (hour > 12) fail(value, layout, 'hour out of range');
        break;
      case 'Minute':
      case 'ZeroMinute':
        [min, i] = getNum(v, i, ch.std === 'ZeroMinute', layout, value);
        if (min > 59) fail(value, layout, 'minute out of range');
        break;
      case 'Second':
      case 'ZeroSecond': {
        [sec, i] = getNum(v, i, ch.std === 'ZeroSecond', layout, value);
        if (sec > 59) fail(value, layout, 'second out of range');
        // Fractional seconds are accepted after seconds even when the layout has none.
        const next = chunks[ci + 1];
        const nextIsFrac = next !== undefined && 'std' in next && (next.std === 'Frac0' || next.std === 'Frac9');
        if (!nextIsFrac && (v[i] === '.' || v[i] === ',') && isDigit(v, i + 1)) {
          let j = i + 1;
          while (isDigit(v, j)) j++;
          nanos = fracNanos(v.slice(i + 1, j));
          i = j;
        }
        break;
      }
      case 'PM':
      case 'pm': {
        const s = v.slice(i, i + 2).toUpperCase();
        if (s === 'PM') pmSet = true;
        else if (s === 'AM') amSet = true;
        else fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as "PM"`);
        i += 2;
        break;
      }
      case 'ISO8601TZ':
      case 'ISO8601ColonTZ':
      case 'ISO8601SecondsTZ':
      case 'ISO8601ShortTZ':
      case 'ISO8601ColonSecondsTZ':
      case 'NumTZ':
      case 'NumShortTZ':
      case 'NumColonTZ':
      case 'NumSecondsTz':
      case 'NumColonSecondsTZ': {
        if (ch.std.startsWith('ISO') && v[i] === 'Z') {
          offsetSec = 0;
          i++;
          break;
        }
        const shape: Record<string, RegExp> = {
          ISO8601TZ: /^[+-]\d{4}/,
          NumTZ: /^[+-]\d{4}/,
          ISO8601ColonTZ: /^[+-]\d\d:\d\d/,
          NumColonTZ: /^[+-]\d\d:\d\d/,
          ISO8601SecondsTZ: /^[+-]\d{6}/,
          NumSecondsTz: /^[+-]\d{6}/,
          ISO8601ShortTZ: /^[+-]\d\d/,
          NumShortTZ: /^[+-]\d\d/,
          ISO8601ColonSecondsTZ: /^[+-]\d\d:\d\d:\d\d/,
          NumColonSecondsTZ: /^[+-]\d\d:\d\d:\d\d/,
        };
        const m = shape[ch.std]!.exec(v.slice(i));
        if (!m) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as zone offset`);
        const digits = m![0].slice(1).replace(/:/g, '');
        const h = Number(digits.slice(0, 2));
        const mm = Number(digits.slice(2, 4) || '0');
        const ss = Number(digits.slice(4, 6) || '0');
        offsetSec = (v[i] === '-' ? -1 : 1) * (h * 3600 + mm * 60 + ss);
        i += m![0].length;
        break;
      }
      case 'TZ': {
        if (v.startsWith('UTC', i)) {
          abbrev = 'UTC';
          i += 3;
          break;
        }
        const m = /^(?:GMT[+-]\d{1,2}|[A-Z]{3,5}|[A-Z]{2,4}T)/.exec(v.slice(i));
        if (!m) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as "MST"`);
        abbrev = m![0];
        i += abbrev.length;
        break;
      }
      case 'Frac0': {
        const n = ch.digits!;
        if (v[i] !== ch.sep) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as ${JSON.stringify(ch.sep + '0'.repeat(n))}`);
        i++;
        const digits = v.slice(i, i + n);
        if (!/^\d+$/.test(digits) || digits.length !== n) fail(value, layout, `cannot parse ${JSON.stringify(v.slice(i))} as fractional seconds`);
        nanos = fracNanos(digits);
        i += n;
        break;
      }
      case 'Frac9': {
        // Optional: a separator ('.' or ',') and digits, or nothing at all.
        if ((v[i] !== '.' && v[i] !== ',') || !isDigit(v, i + 1)) break;
        let j = i + 1;
        while (isDigit(v, j)) j++;
        nanos = fracNanos(v.slice(i + 1, j));
        i = j;
        break;
      }
    }
  }
  if (i !== v.length) fail(value, layout, `extra text: ${JSON.stringify(v.slice(i))}`);
  if (pmSet && hour < 12) hour += 12;
  else if (amSet && hour === 12) hour = 0;
  const y = year ?? (typeof now === 'function' ? now() : now).getUTCFullYear();
  if (yday >= 0) {
    const base = utcFromFields(y, 0, 1, 0, 0, 0);
    const d = new Date(base + (yday - 1) * 86_400_000);
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  const dim = new Date(utcFromFields(y, month, 0, 0, 0, 0)).getUTCDate();
  if (day < 1 || day > dim) fail(value, layout, 'day out of range');
  const wall = utcFromFields(y, month - 1, day, hour, min, sec);
  let utc: number;
  if (offsetSec !== undefined) utc = wall - offsetSec * 1000;
  else if (abbrev !== undefined && abbrev !== 'UTC' && abbrev !== 'GMT' && location) utc = inZone(wall, location);
  else if (abbrev !== undefined && abbrev.startsWith('GMT') && abbrev.length > 3) utc = wall - Number(abbrev.slice(3)) * 3_600_000;
  else if (abbrev === undefined && location) utc = inZone(wall, location);
  else utc = wall;
  return { timestampMs: utc + Math.floor(nanos / 1e6), timestampNanos: nanos % 1e6 };
}

const RFC3339 = NAMED_LAYOUTS['RFC3339']!;
const RFC3339_NANO = NAMED_LAYOUTS['RFC3339Nano']!;
const layoutCache = new Map<string, Chunk[]>();

/** Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits at `i` as a number, or -1. */
function d2(v: string, i: number): number {
  const a = v.charCodeAt(i) - 48;
  const b = v.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common RFC3339(Nano) shape (`2006-01-02T15:04:05[.frac](Z|±07:00)`) without the general
 * layout walk; undefined (fall back to it, for its checks and error wording) on anything else.
 */
function parseRfc3339(v: string): Timestamp | undefined {
  const n = v.length;
  if (n < 20 || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return undefined;
  const y1 = d2(v, 0);
  const y2 = d2(v, 2);
  const mon = d2(v, 5);
  const day = d2(v, 8);
  const h = d2(v, 11);
  const mi = d2(v, 14);
  const sec = d2(v, 17);
  if (y1 < 0 || y2 < 0 || mon < 1 || mon > 12 || day < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59) return undefined;
  const y = y1 * 100 + y2;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (day > DAYS_IN_MONTH[mon - 1]! + (mon === 2 && leap ? 1 : 0)) return undefined;
  let i = 19;
  let nanos = 0;
  const c = v.charCodeAt(i);
  if (c === 46 || c === 44) {
    let digits = 0;
    i++;
    for (; i < n; i++) {
      const x = v.charCodeAt(i) - 48;
      if (x < 0 || x > 9) break;
      if (digits < 9) nanos = nanos * 10 + x;
      digits++;
    }
    if (digits === 0) return undefined;
    for (let k = digits; k < 9; k++) nanos *= 10;
  }
  let offsetMin = 0;
  if (i === n - 1 && v.charCodeAt(i) === 90) i++;
  else if (i === n - 6 && (v.charCodeAt(i) === 43 || v.charCodeAt(i) === 45) && v.charCodeAt(i + 3) === 58) {
    const oh = d2(v, i + 1);
    const om = d2(v, i + 4);
    if (oh < 0 || om < 0) return undefined;
    offsetMin = (v.charCodeAt(i) === 45 ? -1 : 1) * (oh * 60 + om);
    i += 6;
  } else return undefined;
  const ms = ((daysFromCivil(y, mon, day) * 24 + h) * 60 + mi - offsetMin) * 60_000 + sec * 1000;
  return { timestampMs: ms + Math.floor(nanos / 1e6), timestampNanos: nanos % 1e6 };
}

function inZone(wall: number, zone: string): number {
  let guess = wall - zoneOffsetMs(zone, wall);
  guess = wall - zoneOffsetMs(zone, guess);
  return guess;
}

function fracNanos(digits: string): number {
  return Number((digits + '000000000').slice(0, 9));
}

/** Loki's Unix formats; throws `TimeParseError` for values that are not numbers. */
export function parseUnixTime(format: (typeof UNIX_FORMATS)[number], value: string): Timestamp {
  if (format === 'Unix') {
    const m = /^(-?\d+)(?:\.(\d+))?$/.exec(value);
    if (!m) throw new TimeParseError(`parsing time ${JSON.stringify(value)} as Unix seconds: not a number`);
    const nanos = m[2] ? fracNanos(m[2]) : 0;
    return { timestampMs: Number(m[1]) * 1000 + Math.floor(nanos / 1e6), timestampNanos: nanos % 1e6 };
  }
  if (!/^-?\d+$/.test(value)) throw new TimeParseError(`parsing time ${JSON.stringify(value)} as ${format}: not an integer`);
  const n = BigInt(value);
  const perMs = format === 'UnixMs' ? 1n : format === 'UnixUs' ? 1000n : 1_000_000n;
  const ms = n / perMs;
  const rest = n % perMs;
  return { timestampMs: Number(ms), timestampNanos: Number(rest * (1_000_000n / perMs)) };
}
