/**
 * Decoding of the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) for
 * the kinds kubectl's typed generators send that way (`kubectl create configmap|secret|namespace|
 * serviceaccount`, and the access reviews of `kubectl auth`). Other kinds get a 415 naming the JSON alternative. Responses are always JSON,
 * which clients accept.
 */
import { ApiError } from './errors.js';
import type { JsonObject } from './types.js';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

interface Field {
  readonly no: number;
  readonly wire: number;
  readonly int?: number;
  readonly bytes?: Buffer;
}

function readVarint(b: Buffer, pos: { i: number }): number {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = b[pos.i++];
    if (byte === undefined) throw new ApiError(400, 'BadRequest', 'protobuf body is truncated');
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7;
  }
}

function fields(b: Buffer): Field[] {
  const out: Field[] = [];
  const pos = { i: 0 };
  while (pos.i < b.length) {
    const tag = readVarint(b, pos);
    const no = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) out.push({ no, wire, int: readVarint(b, pos) });
    else if (wire === 2) {
      const len = readVarint(b, pos);
      out.push({ no, wire, bytes: b.subarray(pos.i, pos.i + len) });
      pos.i += len;
    } else if (wire === 1) pos.i += 8;
    else if (wire === 5) pos.i += 4;
    else throw new ApiError(400, 'BadRequest', `protobuf body has unsupported wire type ${wire}`);
  }
  return out;
}

function str(f: Field): string {
  return (f.bytes ?? Buffer.alloc(0)).toString('utf8');
}

function mapEntry(f: Field, valueAsBase64: boolean): [string, string] {
  let k = '';
  let v = '';
  for (const e of fields(f.bytes ?? Buffer.alloc(0))) {
    if (e.no === 1) k = str(e);
    if (e.no === 2) v = valueAsBase64 ? (e.bytes ?? Buffer.alloc(0)).toString('base64') : str(e);
  }
  return [k, v];
}

function objectMeta(b: Buffer): JsonObject {
  const md: JsonObject = {};
  for (const f of fields(b)) {
    if (f.no === 1) md['name'] = str(f);
    else if (f.no === 2) md['generateName'] = str(f);
    else if (f.no === 3) md['namespace'] = str(f);
    else if (f.no === 11 || f.no === 12) {
      const key = f.no === 11 ? 'labels' : 'annotations';
      const m = (md[key] as JsonObject | undefined) ?? {};
      const [k, v] = mapEntry(f, false);
      m[k] = v;
      md[key] = m;
    } else if (f.no === 14) {
      md['finalizers'] = [...((md['finalizers'] as string[] | undefined) ?? []), str(f)];
    }
  }
  return md;
}

function addMap(o: JsonObject, key: string, f: Field, base64: boolean): void {
  const m = (o[key] as JsonObject | undefined) ?? {};
  const [k, v] = mapEntry(f, base64);
  m[k] = v;
  o[key] = m;
}

export function decodeProtobuf(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) throw new ApiError(400, 'BadRequest', 'protobuf body does not start with the "k8s\\0" envelope');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const f of fields(body.subarray(4))) {
    if (f.no === 1) {
      for (const t of fields(f.bytes!)) {
        if (t.no === 1) apiVersion = str(t);
        if (t.no === 2) kind = str(t);
      }
    } else if (f.no === 2) raw = f.bytes!;
  }
  const o: JsonObject = { apiVersion, kind, metadata: {} };
  const fs = fields(raw);
  switch (`${apiVersion}/${kind}`) {
    case 'v1/ConfigMap':
      for (const f of fs) {
        if (f.no === 1) o['metadata'] = objectMeta(f.bytes!);
        else if (f.no === 2) addMap(o, 'data', f, false);
        else if (f.no === 3) addMap(o, 'binaryData', f, true);
        else if (f.no === 4) o['immutable'] = f.int === 1;
      }
      return o;
    case 'v1/Secret':
      for (const f of fs) {
        if (f.no === 1) o['metadata'] = objectMeta(f.bytes!);
        else if (f.no === 2) addMap(o, 'data', f, true);
        else if (f.no === 3) o['type'] = str(f);
        else if (f.no === 4) addMap(o, 'stringData', f, false);
        else if (f.no === 5) o['immutable'] = f.int === 1;
      }
      return o;
    case 'v1/Namespace':
    case 'v1/ServiceAccount':
      for (const f of fs) if (f.no === 1) o['metadata'] = objectMeta(f.bytes!);
      return o;
    default:
      // Reviews are answered from their kind alone (this server allows everything).
      if (kind.endsWith('Review')) return o;
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (protobuf for ${apiVersion}/${kind} is not supported by this test server) - accepted media types include: application/json, application/yaml`);
  }
}
