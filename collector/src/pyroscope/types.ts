/**
 * Data that flows between `pyroscope.*` components: the `receiver` export of `pyroscope.write`
 * (and `pyroscope.relabel`) is a `ProfilesReceiver`; `forward_to` arguments are lists of them.
 *
 * Contracts:
 * - `append` and `appendIngest` resolve only after every downstream consumer accepted the
 *   profiles (for `pyroscope.write`: every endpoint answered 2xx). They reject with a
 *   `ProfilesWriteError` when a consumer gave up; callers answer their own client with its
 *   `status` (receive_http) or record it as the target's error (scrape).
 * - Consumers never mutate the `Labels`, samples or bodies they are handed.
 * - `signal` is the caller's deadline or cancellation (e.g. a push's `Connect-Timeout-Ms`, a
 *   client that hung up): consumers stop retrying once it aborts and reject.
 */
import type { Labels } from '../prom/types.js';

export type { Label, Labels } from '../prom/types.js';

/** One profile: its bytes (pprof, gzip-compressed or not) and an optional id. */
export interface RawSample {
  readonly rawProfile: Uint8Array;
  readonly id?: string;
}

/**
 * A request to Pyroscope's legacy `/ingest` API, forwarded as received: the body is not
 * re-encoded (its format is named by `query.format` and `contentType`).
 */
export interface IncomingProfile {
  readonly body: Buffer;
  /** Every `Content-Type` header value of the request (multipart bodies carry their boundary). */
  readonly contentType: readonly string[];
  /** Request path, `/ingest`. */
  readonly path: string;
  /** Query parameters (`from`, `until`, `format`, `sampleRate`, `spyName`, `units`, `aggregationType`, `name`). */
  readonly query: URLSearchParams;
  /** Labels parsed from `name` (`__name__` is the application name), `service_name` ensured. */
  readonly labels: Labels;
}

export interface ProfilesReceiver {
  append(labels: Labels, samples: readonly RawSample[], signal?: AbortSignal): Promise<void>;
  appendIngest(profile: IncomingProfile, signal?: AbortSignal): Promise<void>;
}

/** A downstream refused or could not take profiles; `status` is the HTTP status to answer with. */
export class ProfilesWriteError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** Connect code of the push API error (`internal`, `invalid_argument`, ...). */
    readonly code: string,
  ) {
    super(message);
    this.name = 'ProfilesWriteError';
  }
}

export function isProfilesReceiver(v: object): boolean {
  const r = v as ProfilesReceiver;
  return typeof r.append === 'function' && typeof r.appendIngest === 'function';
}

/** Label names with meaning to Pyroscope. */
export const LABEL_NAME = '__name__';
export const LABEL_DELTA = '__delta__';
export const LABEL_SERVICE_NAME = 'service_name';
