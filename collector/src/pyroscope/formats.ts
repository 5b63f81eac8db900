/**
 * Checks of profile payloads before they are forwarded: bounded gzip decompression, a structural
 * walk of pprof (`perftools.profiles.Profile`), and the `/ingest` body formats.
 *
 * Every check throws `PayloadError` with the HTTP status to answer (400 malformed or truncated,
 * 413 over a size limit, 415 a format this collector does not accept) and a message naming the
 * problem. Nothing here keeps more than the payload being checked.
 */
import { gunzipSync } from 'node:zlib';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

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

// perftools.profiles.Profile field numbers and the wire type each must have.
const PROFILE_FIELDS: ReadonlyMap<number, readonly WireType[]> = new Map([
  [1, [WireType.LengthDelimited]], // sample_type
  [2, [WireType.LengthDelimited]], // sample
  [3, [WireType.LengthDelimited]], // mapping
  [4, [WireType.LengthDelimited]], // location
  [5, [WireType.LengthDelimited]], // function
  [6, [WireType.LengthDelimited]], // string_table
  [7, [WireType.Varint]], // drop_frames
  [8, [WireType.Varint]], // keep_frames
  [9, [WireType.Varint]], // time_nanos
  [10, [WireType.Varint]], // duration_nanos
  [11, [WireType.LengthDelimited]], // period_type
  [12, [WireType.Varint]], // period
  [13, [WireType.Varint, WireType.LengthDelimited]], // comment (packed or not)
  [14, [WireType.Varint]], // default_sample_type
  [15, [WireType.Varint]], // doc_url
]);

/** Reads one occurrence of a `repeated uint64` field (packed or not) into `out`. */
function readVarints(r: BinaryReader, wt: WireType, out: (v: number) => void): void {
  if (wt === WireType.Varint) return out(Number(r.uint64()));
  if (wt !== WireType.LengthDelimited) throw new Error(`unexpected wire type ${wt} for a repeated integer`);
  const end = r.uint32() + r.pos;
  if (end > r.len) throw new Error('premature end of packed field');
  while (r.pos < end) out(Number(r.uint64()));
  if (r.pos !== end) throw new Error('packed field overruns its length');
}

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
  const valueCounts: number[] = [];
  const locations = new Set<number>();
  const functions = new Set<number>();
  const usedLocations = new Set<number>();
  const usedFunctions = new Set<number>();
  const str = (v: number): void => {
    if (v > maxString) maxString = v;
  };
  try {
    const r = new BinaryReader(raw);
    while (r.pos < r.len) {
      const [field, wt] = r.tag();
      const want = PROFILE_FIELDS.get(field);
      if (want && !want.includes(wt)) throw new Error(`field ${field} has wire type ${wt}, expected ${want.join(' or ')}`);
      if (field === 6) {
        const s = r.bytes();
        if (strings === 0 && s.length !== 0) throw new Error('string_table[0] must be the empty string');
        strings++;
        continue;
      }
      if (wt !== WireType.LengthDelimited || (field !== 1 && field !== 2 && field !== 4 && field !== 5 && field !== 11)) {
        r.skip(wt, field);
        continue;
      }
      const m = new BinaryReader(r.bytes());
      if (field === 2) {
        let values = 0;
        while (m.pos < m.len) {
          const [f, w] = m.tag();
          if (f === 1) readVarints(m, w, (v) => usedLocations.add(v));
          else if (f === 2) readVarints(m, w, () => values++);
          else m.skip(w, f);
        }
        valueCounts.push(values);
        samples++;
        continue;
      }
      if (field === 1) sampleTypes++;
      let id = 0;
      while (m.pos < m.len) {
        const [f, w] = m.tag();
        if (field === 4 && f === 4 && w === WireType.LengthDelimited) {
          const line = new BinaryReader(m.bytes());
          while (line.pos < line.len) {
            const [lf, lw] = line.tag();
            if (lf === 1 && lw === WireType.Varint) usedFunctions.add(Number(line.uint64()));
            else line.skip(lw, lf);
          }
        } else if (w === WireType.Varint && f === 1 && (field === 4 || field === 5)) id = Number(m.uint64());
        else if (w === WireType.Varint && (((field === 1 || field === 11) && f <= 2) || (field === 5 && f >= 2 && f <= 4))) str(Number(m.uint64()));
        else m.skip(w, f);
      }
      if (field === 4) locations.add(id);
      if (field === 5) functions.add(id);
    }
  } catch (err: unknown) {
    if (err instanceof PayloadError) throw err;
    throw new PayloadError(400, `${what}: malformed or truncated pprof: ${err instanceof Error ? err.message : String(err)}`);
  }
  const bad = (m: string): PayloadError => new PayloadError(400, `${what}: malformed or truncated pprof: ${m}`);
  if (strings === 0) throw bad('no string_table (not a pprof profile?)');
  if (maxString >= strings) throw bad(`string index ${maxString} outside the string table of ${strings} entries`);
  if (sampleTypes === 0 && samples > 0) throw bad('samples without sample_type');
  for (let i = 0; i < valueCounts.length; i++) {
    if (valueCounts[i] !== sampleTypes) throw bad(`sample ${i} has ${valueCounts[i]} values for ${sampleTypes} sample types`);
  }
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
