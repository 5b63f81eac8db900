/**
 * Bounded memory for request bodies of receiving components: the one `readBody` of
 * `prometheus.receive_http`, `loki.source.api`, `pyroscope.receive_http` (its own budget) and
 * `otelcol.receiver.otlp` (bounded by its size limit only). Bodies are read and decompressed as streams against a per-request limit on
 * the *decompressed* size, and every byte held (compressed body, decompressed output) is counted
 * against one process-wide budget (`receiveBudget`). A request that would take the budget past its
 * capacity is answered 503 with `Retry-After` (senders retry), never buffered: decompression bombs
 * and floods of large pushes cost at most the budget, not the process.
 *
 * Usage: `const lease = new BodyLease(receiveBudget)`; `readBody`, `inflate`, `snappyDecode` take
 * from it; `lease.release()` once the request is answered (also on errors). `BodyError` carries the
 * HTTP status (400 corrupt, 413 over the limit, 415 unknown encoding, 503 budget exhausted).
 * Depends on `prom/snappy` only.
 */
import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { SnappyError, uncompress, uncompressedLength } from '../../prom/snappy/snappy.js';

/** Capacity of the process-wide budget: bytes of request bodies held at once by all receivers. */
export const DEFAULT_RECEIVE_BUDGET_BYTES = 16 * 1024 * 1024;
/**
 * Budget charged per decoded entry or sample on top of its bytes: the objects a decoded entry
 * becomes cost far more than its few wire bytes (a 57 KiB gzip of 3 M tiny JSON entries otherwise
 * grows the heap by ~1 GB).
 */
export const ENTRY_COST_BYTES = 128;
/** `Retry-After` (seconds) of the 503 answered when the budget is exhausted. */
export const BUDGET_RETRY_AFTER_SECONDS = 1;

const MiB = 1024 * 1024;
const mib = (n: number): string => `${(n / MiB).toFixed(n % MiB === 0 ? 0 : 1)} MiB`;

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415 | 503,
    message: string,
  ) {
    super(message);
  }

  /** Seconds for `Retry-After` (503 only). */
  get retryAfter(): number | undefined {
    return this.status === 503 ? BUDGET_RETRY_AFTER_SECONDS : undefined;
  }
}

/** A counter of bytes held; `tryReserve` refuses what would exceed the capacity. */
export class BodyBudget {
  readonly capacity: number;
  #inFlight = 0;
  #peak = 0;
  #refused = 0;

  constructor(capacityBytes: number) {
    if (!(capacityBytes > 0)) throw new RangeError(`body budget capacity must be > 0 bytes, got ${capacityBytes}`);
    this.capacity = capacityBytes;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Highest `inFlight` seen. */
  get peak(): number {
    return this.#peak;
  }

  /** Reservations refused so far. */
  get refused(): number {
    return this.#refused;
  }

  tryReserve(n: number): boolean {
    if (this.#inFlight + n > this.capacity) {
      this.#refused++;
      return false;
    }
    this.#inFlight += n;
    if (this.#inFlight > this.#peak) this.#peak = this.#inFlight;
    return true;
  }

  release(n: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - n);
  }
}

/** The budget shared by every receiver in the process. */
export const receiveBudget = new BodyBudget(DEFAULT_RECEIVE_BUDGET_BYTES);

/** One request's share of a budget. */
export class BodyLease {
  readonly #budget: BodyBudget;
  #held = 0;

  constructor(budget: BodyBudget) {
    this.#budget = budget;
  }

  get held(): number {
    return this.#held;
  }

  /**
   * @throws BodyError 413 when this request alone could never fit in the budget (retrying cannot
   *   help), 503 when the budget cannot hold `n` more bytes now.
   */
  take(n: number): void {
    if (this.#budget.tryReserve(n)) {
      this.#held += n;
      return;
    }
    if (this.#held + n > this.#budget.capacity) {
      throw new BodyError(413, `request needs ${mib(this.#held + n)} to decode, more than the collector's in-flight budget of ${mib(this.#budget.capacity)}; send smaller batches`);
    }
    throw new BodyError(
      503,
      `too much request data is being decoded at once (budget ${mib(this.#budget.capacity)}, ${mib(this.#budget.inFlight)} in flight); retry in ${BUDGET_RETRY_AFTER_SECONDS}s`,
    );
  }

  /** Returns everything taken; idempotent. */
  release(): void {
    this.#budget.release(this.#held);
    this.#held = 0;
  }
}

/**
 * Reads the body, stopping at `limit` bytes (413) or when the lease cannot grow (503); without a
 * lease the body is bounded by `limit` only.
 * `limitName` names the limit in messages (e.g. `max_send_message_size`). `peek`, when given, sees
 * the first chunk and may throw a `BodyError` to refuse the body before the rest is read (e.g.
 * `snappyPreamble` refusing a block that announces too much data).
 */
export function readBody(req: IncomingMessage, limit: number, lease: BodyLease | undefined, limitName: string, peek?: (first: Buffer) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? -1);
    if (declared > limit) {
      req.pause();
      reject(new BodyError(413, `request body of ${declared} bytes exceeds ${limitName} (${limit} bytes)`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    // A declared length is taken up front: a body that cannot fit is refused before it is read.
    let prepaid = 0;
    if (declared > 0 && lease) {
      try {
        lease.take(declared);
        prepaid = declared;
      } catch (err: unknown) {
        req.pause();
        reject(err);
        return;
      }
    }
    const fail = (err: unknown): void => {
      failed = true;
      chunks.length = 0;
      req.removeListener('data', onData);
      // Stop reading: the rest of a refused body is not worth the allocations. The caller answers
      // with `Connection: close`, which ends the connection (and the unread upload) after the reply.
      req.pause();
      reject(err);
    };
    const onData = (c: Buffer): void => {
      if (failed) return;
      size += c.length;
      if (size > limit) return fail(new BodyError(413, `request body exceeds ${limitName} (${limit} bytes)`));
      try {
        if (peek && chunks.length === 0) peek(c);
        if (lease && size > prepaid) lease.take(size - Math.max(prepaid, size - c.length));
      } catch (err: unknown) {
        return fail(err);
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) fail(err);
    });
  });
}

/**
 * Decompresses a gzip or deflate body as a stream: each output chunk is counted against `limit`
 * (the decompressed size; 413 beyond it) and taken from the lease (503 when the budget is spent),
 * so a bomb is stopped after at most `limit` bytes, not after inflating completely.
 */
export function inflate(body: Buffer, encoding: 'gzip' | 'deflate', limit: number, lease: BodyLease, limitName: string): Promise<Buffer> {
  // A gzip member ends with its decompressed size (mod 2^32): an honest bomb is refused without
  // inflating a byte. A lying trailer is still caught by the streaming count below.
  // It is also taken from the budget up front, so a body that cannot fit now is refused before
  // anything is inflated.
  let prepaid = 0;
  if (encoding === 'gzip' && body.length >= 18 && body[0] === 0x1f && body[1] === 0x8b) {
    const declared = body.readUInt32LE(body.length - 4);
    if (declared > limit) return Promise.reject(new BodyError(413, `gzip body declares ${declared} decompressed bytes, more than ${limitName} (${limit} bytes)`));
    try {
      lease.take(declared);
    } catch (err: unknown) {
      return Promise.reject(err);
    }
    prepaid = declared;
  }
  return new Promise((resolve, reject) => {
    const z = encoding === 'gzip' ? zlib.createGunzip() : zlib.createInflate();
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: unknown): void => {
      if (done) return;
      done = true;
      chunks.length = 0;
      z.destroy();
      reject(err);
    };
    z.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) return fail(new BodyError(413, `decompressed body exceeds ${limitName} (${limit} bytes)`));
      try {
        if (size > prepaid) lease.take(size - Math.max(prepaid, size - c.length));
      } catch (err: unknown) {
        return fail(err);
      }
      chunks.push(c);
    });
    z.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks, size));
    });
    z.on('error', (err: Error) => fail(new BodyError(400, `${encoding} decode error: ${err.message}`)));
    z.end(body);
  });
}

/** Upper bound of the JSON arrays in `body` (every `[` byte): entries of a Loki JSON push are arrays. */
export function countJsonArrays(body: Buffer): number {
  let n = 0;
  for (let i = body.indexOf(0x5b); i >= 0; i = body.indexOf(0x5b, i + 1)) n++;
  return n;
}

/** Lines of a raw body (newlines + 1). */
export function countLines(body: Buffer): number {
  let n = 1;
  for (let i = body.indexOf(0x0a); i >= 0; i = body.indexOf(0x0a, i + 1)) n++;
  return n;
}

/**
 * A `readBody` peek for snappy block bodies: refuses (413) a block whose length preamble announces
 * more than `limit` decoded bytes, before the rest of the body is read. Preambles split across
 * chunks are left to `snappyDecode`.
 */
export function snappyPreamble(limit: number, limitName: string): (first: Buffer) => void {
  return (first) => {
    let len: number;
    try {
      len = uncompressedLength(first);
    } catch {
      return;
    }
    if (len > limit) throw new BodyError(413, `snappy body decodes to ${len} bytes, more than ${limitName} (${limit} bytes)`);
  };
}

/**
 * Checks a snappy block's declared decoded length against `limit` (413; 400 when there is no valid
 * preamble) and takes that many bytes from the lease (503); returns the length. For bodies that
 * are decoded elsewhere (a worker thread) but must be budgeted here.
 */
export function snappyReserve(body: Uint8Array, limit: number, lease: BodyLease, limitName: string): number {
  let len: number;
  try {
    len = uncompressedLength(body);
  } catch (err: unknown) {
    throw new BodyError(400, `snappy decode error: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (len > limit) throw new BodyError(413, `snappy body decodes to ${len} bytes, more than ${limitName} (${limit} bytes)`);
  lease.take(len);
  return len;
}

/**
 * Decodes a snappy block after checking its declared length against `limit` (413) and taking that
 * many bytes from the lease (503), before any output is allocated.
 */
export function snappyDecode(body: Buffer, limit: number, lease: BodyLease, limitName: string): Buffer {
  snappyReserve(body, limit, lease, limitName);
  try {
    return uncompress(body, limit);
  } catch (err: unknown) {
    if (err instanceof SnappyError) throw new BodyError(400, `snappy decode error: ${err.message}`);
    throw err;
  }
}
