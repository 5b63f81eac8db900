/**
 * Pyroscope's push API, `push.v1.PusherService/Push`, over the Connect protocol (unary, HTTP/1.1
 * POST): messages are the generated `@bufbuild/protobuf` types in `gen/` (from `proto/`, see the
 * README); errors use `@connectrpc/connect`'s code names and JSON error bodies.
 */
import { create, fromBinary, fromJsonString, toBinary } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { codeFromHttpStatus, codeToHttpStatus, codeToString, errorToJsonBytes } from '@connectrpc/connect/protocol-connect';
import { PushRequestSchema, type PushRequest } from './gen/push/v1/push_pb.js';
import type { Labels, RawSample } from './types.js';

export const PUSH_PATH = '/push.v1.PusherService/Push';
export const CONTENT_TYPE_PROTO = 'application/proto';
export const CONTENT_TYPE_JSON = 'application/json';

export type { PushRequest };

/** One series with its samples, encoded as a PushRequest. */
export function encodePush(series: ReadonlyArray<{ readonly labels: Labels; readonly samples: readonly RawSample[] }>): Uint8Array {
  const msg = create(PushRequestSchema, {
    series: series.map((s) => ({
      labels: s.labels.map((l) => ({ name: l.name, value: l.value })),
      samples: s.samples.map((x) => ({ rawProfile: x.rawProfile, ID: x.id ?? '' })),
    })),
  });
  return toBinary(PushRequestSchema, msg);
}

/** @throws Error when `body` is not a PushRequest in the given encoding. */
export function decodePush(body: Uint8Array, json: boolean): PushRequest {
  if (json) return fromJsonString(PushRequestSchema, Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  return fromBinary(PushRequestSchema, body);
}

/** The Connect codes `pyroscope.write` retries (as upstream's `shouldRetry`). */
const RETRYABLE = new Set<Code>([Code.DeadlineExceeded, Code.Unknown, Code.ResourceExhausted, Code.Internal, Code.Unavailable, Code.DataLoss, Code.Aborted]);

export function isRetryableCode(code: Code): boolean {
  return RETRYABLE.has(code);
}

/**
 * The Connect code of an error response: from its JSON body (`fromBody` true), else from its
 * HTTP status as the Connect protocol maps it.
 */
export function responseCode(status: number, text: string | undefined): { code: Code; message: string; fromBody: boolean } {
  if (text) {
    try {
      const j = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof j.code === 'string') {
        const c = codeFromName(j.code);
        if (c !== undefined) return { code: c, message: typeof j.message === 'string' ? j.message : '', fromBody: true };
      }
    } catch {
      // Not a Connect error body (e.g. a proxy's HTML page): fall back to the status.
    }
  }
  return { code: codeFromHttpStatus(status), message: text ?? '', fromBody: false };
}

function codeFromName(name: string): Code | undefined {
  for (const v of Object.values(Code)) if (typeof v === 'number' && codeToString(v) === name) return v;
  return undefined;
}

export function codeName(code: Code): string {
  return codeToString(code);
}

/** A Connect error response: HTTP status (the protocol's, unless `status` is given) and JSON body. */
export function connectErrorResponse(code: Code, message: string, status?: number): { status: number; body: Buffer } {
  return { status: status ?? codeToHttpStatus(code), body: Buffer.from(errorToJsonBytes(new ConnectError(message, code), {})) };
}

export { Code };
