/**
 * Checks of profile payloads before they are forwarded: bounded gzip decompression, a structural
 * walk of pprof (`perftools.profiles.Profile`), and the `/ingest` body formats.
 *
 * Every check throws `PayloadError` with the HTTP status to answer (400 malformed or truncated,
 * 413 over a size limit, 415 a format this collector does not accept) and a message naming the
 * problem. Nothing here keeps more than the payload being checked.
 */
import { gunzipSync } from 'node:zlib';
import { ProtoReader, WIRE_LEN, WIRE_VARINT } from '../protobuf/wire.js';

export class PayloadError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'PayloadError';
  }
}

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/** Gunzips `b` when it is gzip (else returns it), never producing more than `limit` bytes. */
export function gunzipBounded(b: Uint8Array, limit: number, what: string): Uint8Array {
  if (!isGzip(b)) return b;
  try {
    return gunzipSync(b, { maxOutputLength: limit });
  } catch (err: unknown) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) throw new PayloadError(413, `${what}: decompressed size exceeds the limit of ${limit} bytes`);
    throw new PayloadError(400, `${what}: invalid gzip data: ${e.message ?? String(err)}`);
  }
}

const VARINT = WIRE_VARINT;
const LEN = WIRE_LEN;

// perftools.profiles.Profile field numbers and the wire types each may have.
const PROFILE_FIELDS: ReadonlyMap<number, readonly number[]> = new Map([
  [1, [LEN]], // sample_type
  [2, [LEN]], // sample
  [3, [LEN]], // mapping
  [4, [LEN]], // location
  [5, [LEN]], // function
  [6, [LEN]], // string_table
  [7, [VARINT]], // drop_frames
  [8, [VARINT]], // keep_frames
  [9, [VARINT]], // time_nanos
  [10, [VARINT]], // duration_nanos
  [11, [LEN]], // period_type
  [12, [VARINT]], // period
  [13, [VARINT, LEN]], // comment (packed or not)
  [14, [VARINT]], // default_sample_type
  [15, [VARINT]], // doc_url
]);

export interface PprofSummary {
  readonly sampleTypes: number;
  readonly samples: number;
  readonly strings: number;
}

/**
 * Walks an uncompressed pprof message: every field has the wire type the schema gives it, every
 * length fits, `string_table[0]` is empty, every sample has one value per sample type, and every
 * location, function and string a message refers to exists (so a profile cut at a field
 * boundary is caught too).
 * @throws PayloadError (400) naming the first problem.
 */
export function checkPprof(raw: Uint8Array, what = 'profile'): PprofSummary {
  if (raw.length === 0) throw new PayloadError(400, `${what}: empty pprof profile`);
  let sampleTypes = 0;
  let samples = 0;
  let strings = 0;
  let maxString = 0;
  let badValues = -1;
  let badValueCount = 0;
  const valueCounts: number[] = [];
  const locations = new Set<number>();
  const functions = new Set<number>();
  const usedLocations = new Set<number>();
  const usedFunctions = new Set<number>();
  const addLocation = (v: number): void => void usedLocations.add(v);
  try {
    const r = new ProtoReader(raw);
    while (r.pos < r.end) {
      const tag = r.varint();
      const field = Math.floor(tag / 8);
      const wt = tag & 7;
      const want = PROFILE_FIELDS.get(field);
      if (want && !want.includes(wt)) throw new Error(`field ${field} has wire type ${wt}, expected ${want.join(' or ')}`);
      if (wt !== LEN || (field !== 1 && field !== 2 && field !== 4 && field !== 5 && field !== 6 && field !== 11)) {
        r.skip(wt);
        continue;
      }
      const end = r.len();
      if (field === 6) {
        if (strings === 0 && end !== r.pos) throw new Error('string_table[0] must be the empty string');
        strings++;
        r.pos = end;
        continue;
      }
      const m = new ProtoReader(raw, r.pos, end);
      r.pos = end;
      if (field === 2) {
        let values = 0;
        const countValue = (): void => void values++;
        while (m.pos < m.end) {
          const t = m.varint();
          const f = Math.floor(t / 8);
          const w = t & 7;
          if (f === 1) m.repeatedVarint(w, addLocation);
          else if (f === 2) m.repeatedVarint(w, countValue);
          else m.skip(w);
        }
        valueCounts.push(values);
        samples++;
        continue;
      }
      if (field === 1) sampleTypes++;
      let id = 0;
      while (m.pos < m.end) {
        const t = m.varint();
        const f = Math.floor(t / 8);
        const w = t & 7;
        if (field === 4 && f === 4 && w === LEN) {
          const le = m.len();
          while (m.pos < le) {
            const lt = m.varint();
            if (lt === 8) usedFunctions.add(m.varint());
            else m.skip(lt & 7);
          }
          if (m.pos !== le) throw new Error('location line overruns its length');
        } else if (w === VARINT && f === 1 && (field === 4 || field === 5)) id = m.varint();
        else if (w === VARINT && (((field === 1 || field === 11) && f <= 2) || (field === 5 && f >= 2 && f <= 4))) {
          const v = m.varint();
          if (v > maxString) maxString = v;
        } else m.skip(w);
      }
      if (field === 4) locations.add(id);
      if (field === 5) functions.add(id);
    }
  } catch (err: unknown) {
    throw new PayloadError(400, `${what}: malformed or truncated pprof: ${err instanceof Error ? err.message : String(err)}`);
  }
  const bad = (m: string): PayloadError => new PayloadError(400, `${what}: malformed or truncated pprof: ${m}`);
  if (strings === 0) throw bad('no string_table (not a pprof profile?)');
  if (maxString >= strings) throw bad(`string index ${maxString} outside the string table of ${strings} entries`);
  if (sampleTypes === 0 && samples > 0) throw bad('samples without sample_type');
  for (let i = 0; i < valueCounts.length; i++) {
    if (valueCounts[i] !== sampleTypes) {
      badValues = i;
      badValueCount = valueCounts[i]!;
      break;
    }
  }
  if (badValues >= 0) throw bad(`sample ${badValues} has ${badValueCount} values for ${sampleTypes} sample types`);
  for (const l of usedLocations) if (!locations.has(l)) throw bad(`a sample refers to location ${l}, which is not defined`);
  for (const f of usedFunctions) if (!functions.has(f)) throw bad(`a location refers to function ${f}, which is not defined`);
  return { sampleTypes, samples, strings };
}

/** Gunzips (bounded) and checks one pprof profile. */
export function checkPprofPayload(b: Uint8Array, limit: number, what = 'profile'): PprofSummary {
  return checkPprof(gunzipBounded(b, limit, what), what);
}

const JFR_MAGIC = [0x46, 0x4c, 0x52, 0x00]; // "FLR\0"

/** A JFR recording (gzip or not) starts with the chunk magic `FLR\0`. */
export function checkJfr(b: Uint8Array, limit: number, what = 'jfr'): void {
  const raw = gunzipBounded(b, limit, what);
  if (raw.length < 68 || JFR_MAGIC.some((m, i) => raw[i] !== m)) throw new PayloadError(400, `${what}: not a JFR recording (missing "FLR" chunk header or truncated)`);
}

/**
 * Folded stacks (`format=folded`, the default): each non-empty line is `frame;frame;... <count>`.
 * `lines`: each non-empty line is one stack.
 */
export function checkText(b: Uint8Array, format: 'folded' | 'lines'): void {
  const text = Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
  if (text.includes('\uFFFD')) throw new PayloadError(400, `${format} profile: body is not valid UTF-8 text`);
  if (format === 'lines') return;
  let n = 0;
  for (const line of text.split('\n')) {
    n++;
    const l = line.trimEnd();
    if (l === '') continue;
    const sp = l.lastIndexOf(' ');
    if (sp <= 0 || !/^\d+$/.test(l.slice(sp + 1))) throw new PayloadError(400, `folded profile: line ${n} is not "stack count": ${JSON.stringify(l.slice(0, 80))}`);
  }
}
