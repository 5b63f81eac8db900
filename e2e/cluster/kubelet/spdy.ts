/**
 * SPDY/3.1 framing, as spoken on an HTTP/1.1 connection after `Upgrade: SPDY/3.1` between the
 * kube-apiserver (moby/spdystream, Go) and the kubelet's streaming endpoints (exec, attach,
 * port-forward). Wire format: draft-mbelshe-httpbis-spdy-00 version 3 frames; header blocks are
 * compressed with one zlib stream per direction, primed with the SPDY/3 dictionary and flushed
 * (Z_SYNC_FLUSH) after each block.
 *
 * Contracts:
 * - One `SpdySession` per upgraded socket, either role (`server` streams are even, `client` odd).
 * - Peer streams are announced through `onStream` after their SYN_STREAM; the session answers
 *   each with an empty SYN_REPLY before any DATA of that stream leaves (spdystream drops DATA
 *   on a stream it has no reply for).
 * - A `SpdyStream` is a Duplex: readable = the peer's DATA (ends on its FIN), writable = our DATA
 *   (`end()` sends FIN). Both FINs (or a RST_STREAM either way) close it.
 * - No flow control is enforced: spdystream neither sends nor honours WINDOW_UPDATE, so windows
 *   are ignored both ways (WINDOW_UPDATE and SETTINGS frames are read and dropped).
 * - PINGs from the peer are echoed; GOAWAY ends the session once its streams are closed.
 * - Nothing here throws into the caller: a malformed frame ends the session (`close` event
 *   with the error).
 */
import { EventEmitter } from 'node:events';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';

const VERSION = 3;
const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9 } as const;
const FLAG_FIN = 0x01;
/** RST_STREAM status codes used here. */
export const RST = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6, STREAM_IN_USE: 8 } as const;
/** DATA frames are cut at this size (the 24-bit length allows more; peers buffer per frame). */
const MAX_DATA = 32 * 1024;

/** The SPDY/3 header compression dictionary (draft section 2.6.10.1), 1423 bytes. */
export const SPDY3_DICTIONARY: Buffer = (() => {
  const words = [
    'options', 'head', 'post', 'put', 'delete', 'trace', 'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'accept-ranges',
    'age', 'allow', 'authorization', 'cache-control', 'connection', 'content-base', 'content-encoding', 'content-language', 'content-length',
    'content-location', 'content-md5', 'content-range', 'content-type', 'date', 'etag', 'expect', 'expires', 'from', 'host', 'if-match',
    'if-modified-since', 'if-none-match', 'if-range', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'pragma',
    'proxy-authenticate', 'proxy-authorization', 'range', 'referer', 'retry-after', 'server', 'te', 'trailer', 'transfer-encoding', 'upgrade',
    'user-agent', 'vary', 'via', 'warning', 'www-authenticate', 'method', 'get', 'status', '200 OK', 'version', 'HTTP/1.1', 'url', 'public',
    'set-cookie', 'keep-alive', 'origin',
  ];
  const tail =
    '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
    '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not Found' +
    '500 Internal Server Error501 Not Implemented503 Service Unavailable' +
    'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
    'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,public' +
    'privatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';
  const parts: Buffer[] = [];
  for (const w of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(w.length);
    parts.push(len, Buffer.from(w, 'latin1'));
  }
  parts.push(Buffer.from(tail, 'latin1'));
  return Buffer.concat(parts);
})();

/** Header names are lower case; a name may carry several values. */
export type SpdyHeaders = Readonly<Record<string, readonly string[]>>;

/** Encodes a header block (before compression): count, then length-prefixed names and NUL-joined values. */
export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(headers);
  parts.push(u32(entries.length));
  for (const [name, values] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(values.join('\0'), 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Decodes an uncompressed header block. @throws when it is truncated. */
export function decodeHeaderBlock(block: Buffer): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > block.length) throw new Error('SPDY header block truncated');
    const v = block.readUInt32BE(off);
    off += 4;
    return v;
  };
  const bytes = (n: number): string => {
    if (off + n > block.length) throw new Error('SPDY header block truncated');
    const s = block.subarray(off, off + n).toString('utf8');
    off += n;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = bytes(u32()).toLowerCase();
    const values = bytes(u32()).split('\0');
    (out[name] ??= []).push(...values);
  }
  return out;
}

/** A zlib stream fed one header block at a time, each flushed with Z_SYNC_FLUSH; calls are serialised by the session. */
class HeaderCodec {
  #z: zlib.Deflate | zlib.Inflate;
  #chunks: Buffer[] = [];
  #error: Error | undefined;

  constructor(kind: 'deflate' | 'inflate') {
    this.#z = kind === 'deflate' ? zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }) : zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
    this.#z.on('data', (c: Buffer) => this.#chunks.push(c));
    this.#z.on('error', (e: Error) => (this.#error = e));
  }

  run(input: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (this.#error) return reject(this.#error);
      this.#z.write(input);
      this.#z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.#error) return reject(this.#error);
        const out = Buffer.concat(this.#chunks);
        this.#chunks = [];
        resolve(out);
      });
    });
  }

  close(): void {
    this.#z.close();
  }
}

/** Thrown by an `onStream` handler to refuse a stream: it is answered with RST_STREAM `status` instead of SYN_REPLY. */
export class StreamRefused extends Error {
  constructor(
    message: string,
    readonly status: number = RST.CANCEL,
  ) {
    super(message);
  }
}

export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: Readonly<Record<string, string[]>>;
  #session: SpdySession;
  #remoteFin = false;
  #localFin = false;
  #reset = false;

  constructor(session: SpdySession, id: number, headers: Record<string, string[]>) {
    super({ allowHalfOpen: true });
    this.#session = session;
    this.id = id;
    this.headers = headers;
    // A write after the session or stream ended fails that write; it is not an error of the process.
    this.on('error', () => undefined);
  }

  /** The first value of header `name` (lower case), or undefined. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  override _read(): void {
    // Data is pushed as frames arrive; SPDY/3.1 windows are not used by the peer (see the module contract).
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#reset) return cb(new Error(`SPDY stream ${this.id} was reset`));
    this.#session._sendData(this.id, chunk, false).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.#reset) return cb();
    this.#localFin = true;
    this.#session
      ._sendData(this.id, Buffer.alloc(0), true)
      .then(() => {
        this.#maybeDone();
        cb();
      }, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroying a stream that is still open on either side cancels it toward the peer.
    if (!this.#reset && !(this.#localFin && this.#remoteFin)) {
      this.#reset = true;
      this.#session._sendReset(this.id, RST.CANCEL);
    }
    this.#session._forget(this.id);
    cb(err);
  }

  /** Sends RST_STREAM with `status` and closes the stream at once. */
  reset(status: number = RST.CANCEL): void {
    if (this.#reset) return;
    this.#reset = true;
    this.#session._sendReset(this.id, status);
    this.destroy();
  }

  /** @internal DATA from the peer. */
  _onData(data: Buffer, fin: boolean): void {
    if (data.length > 0 && !this.#remoteFin) this.push(data);
    if (fin) this._onFin();
  }

  /** @internal The peer finished sending. */
  _onFin(): void {
    if (this.#remoteFin) return;
    this.#remoteFin = true;
    this.push(null);
    this.#maybeDone();
  }

  /** @internal RST_STREAM from the peer (or the session ended). */
  _onReset(): void {
    if (this.#reset) return;
    this.#reset = true;
    if (!this.#remoteFin) {
      this.push(null);
      this.destroy();
      return;
    }
    // The peer had finished: let data already received reach a flowing reader before closing.
    setImmediate(() => this.destroy());
  }

  #maybeDone(): void {
    if (this.#localFin && this.#remoteFin) this.#session._forget(this.id);
  }
}

export interface SpdySessionOptions {
  readonly role: 'server' | 'client';
  /**
   * Called for each stream the peer opens; it may write at once (the SYN_REPLY leaves first).
   * Throwing (e.g. `StreamRefused`) refuses the stream with RST_STREAM, as spdystream does when
   * the kubelet's handler returns an error; the session emits `refused` (stream, error).
   */
  readonly onStream?: (stream: SpdyStream) => void;
  /** Bytes already read from the socket after the upgrade response. */
  readonly head?: Buffer;
}

/**
 * One SPDY/3.1 session over `socket`. Emits `close` (with an Error when the session failed) once,
 * when the socket ends, a GOAWAY drained the streams, or `close()` was called.
 */
export class SpdySession extends EventEmitter {
  #socket: Duplex;
  #role: 'server' | 'client';
  #onStream: ((stream: SpdyStream) => void) | undefined;
  #streams = new Map<number, SpdyStream>();
  #deflate = new HeaderCodec('deflate');
  #inflate = new HeaderCodec('inflate');
  #buf: Buffer = Buffer.alloc(0);
  /** Incoming frames are handled one after the other (header inflation is asynchronous). */
  #inQueue: Promise<void> = Promise.resolve();
  /** Outgoing frames leave in call order (header deflation is asynchronous). */
  #outQueue: Promise<void> = Promise.resolve();
  #nextId: number;
  #lastPeerId = 0;
  #goingAway = false;
  #closed = false;

  constructor(socket: Duplex, opts: SpdySessionOptions) {
    super();
    this.#socket = socket;
    this.#role = opts.role;
    this.#onStream = opts.onStream;
    this.#nextId = opts.role === 'server' ? 2 : 1;
    socket.on('data', (c: Buffer) => this.#onBytes(c));
    // The end of the socket is handled after the frames read before it (header inflation is asynchronous).
    const ended = (): void => void (this.#inQueue = this.#inQueue.then(() => this.#finish()));
    socket.on('end', ended);
    socket.on('close', ended);
    socket.on('error', (e: Error) => this.#finish(e));
    if (opts.head && opts.head.length > 0) this.#onBytes(opts.head);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Opens a stream with `headers` (client side of a test, or server push). */
  async openStream(headers: SpdyHeaders, fin = false): Promise<SpdyStream> {
    const id = this.#nextId;
    this.#nextId += 2;
    const stream = new SpdyStream(this, id, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), [...v]])));
    this.#streams.set(id, stream);
    await this.#enqueue(async () => {
      const block = await this.#deflate.run(encodeHeaderBlock(headers));
      const body = Buffer.alloc(10);
      body.writeUInt32BE(id & 0x7fffffff, 0);
      body.writeUInt32BE(0, 4);
      body.writeUInt16BE(0, 8);
      return control(TYPE.SYN_STREAM, fin ? FLAG_FIN : 0, Buffer.concat([body, block]));
    });
    return stream;
  }

  /** Sends PING `id` (client ids are odd, server ids even). */
  ping(id: number): Promise<void> {
    const body = Buffer.alloc(4);
    body.writeUInt32BE(id >>> 0);
    return this.#enqueue(async () => control(TYPE.PING, 0, body));
  }

  /** Sends GOAWAY and ends the socket after the frames queued so far. Idempotent. */
  close(): void {
    if (this.#closed) return;
    const body = Buffer.alloc(8);
    body.writeUInt32BE(this.#lastPeerId & 0x7fffffff, 0);
    body.writeUInt32BE(0, 4);
    const done = (): void => {
      this.#socket.end();
      this.#finish();
    };
    this.#enqueue(async () => control(TYPE.GOAWAY, 0, body)).then(done, done);
  }

  /** @internal */
  _sendData(id: number, data: Buffer, fin: boolean): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('SPDY session closed'));
    const frames: Buffer[] = [];
    for (let off = 0; off < data.length || (off === 0 && data.length === 0); off += MAX_DATA) {
      const part = data.subarray(off, off + MAX_DATA);
      const last = off + MAX_DATA >= data.length;
      const head = Buffer.alloc(8);
      head.writeUInt32BE(id & 0x7fffffff, 0);
      head.writeUInt32BE((((fin && last ? FLAG_FIN : 0) << 24) | part.length) >>> 0, 4);
      frames.push(head, part);
      if (data.length === 0) break;
    }
    return this.#enqueue(async () => Buffer.concat(frames));
  }

  /** @internal */
  _sendReset(id: number, status: number): void {
    if (this.#closed) return;
    const body = Buffer.alloc(8);
    body.writeUInt32BE(id & 0x7fffffff, 0);
    body.writeUInt32BE(status, 4);
    void this.#enqueue(async () => control(TYPE.RST_STREAM, 0, body)).catch(() => undefined);
  }

  /** @internal A stream is fully closed. */
  _forget(id: number): void {
    this.#streams.delete(id);
    if (this.#goingAway && this.#streams.size === 0) this.close();
  }

  #enqueue(make: () => Promise<Buffer>): Promise<void> {
    const p = this.#outQueue.then(async () => {
      if (this.#closed) throw new Error('SPDY session closed');
      const frame = await make();
      await new Promise<void>((resolve, reject) => this.#socket.write(frame, (e) => (e ? reject(e) : resolve())));
    });
    this.#outQueue = p.catch(() => undefined);
    return p;
  }

  #onBytes(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (this.#buf.length >= 8) {
      const len = this.#buf.readUInt32BE(4) & 0xffffff;
      if (this.#buf.length < 8 + len) break;
      const frame = this.#buf.subarray(0, 8 + len);
      this.#buf = this.#buf.subarray(8 + len);
      this.#inQueue = this.#inQueue.then(() => this.#handle(frame)).catch((e: unknown) => this.#fail(e));
    }
  }

  async #handle(frame: Buffer): Promise<void> {
    if (this.#closed) return;
    const first = frame.readUInt32BE(0);
    const flags = frame[4]!;
    const body = frame.subarray(8);
    if ((first & 0x80000000) === 0) {
      const stream = this.#streams.get(first & 0x7fffffff);
      // DATA for a stream we do not know (closed or reset) is dropped, as spdystream does.
      stream?._onData(Buffer.from(body), (flags & FLAG_FIN) !== 0);
      return;
    }
    const version = (first >>> 16) & 0x7fff;
    const type = first & 0xffff;
    if (version !== VERSION) throw new Error(`SPDY: unsupported version ${version} (want ${VERSION})`);
    switch (type) {
      case TYPE.SYN_STREAM: {
        if (body.length < 10) throw new Error('SPDY: short SYN_STREAM');
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.#inflate.run(body.subarray(10)));
        const peerOdd = this.#role === 'server';
        if (id === 0 || (id % 2 === 1) !== peerOdd || id <= this.#lastPeerId || this.#goingAway) {
          this._sendReset(id, id !== 0 && this.#streams.has(id) ? RST.STREAM_IN_USE : RST.PROTOCOL_ERROR);
          return;
        }
        this.#lastPeerId = id;
        const stream = new SpdyStream(this, id, headers);
        this.#streams.set(id, stream);
        // The reply (or the refusal) is queued before anything the handler writes on the stream;
        // its content is decided by the handler, which runs before the queue reaches it.
        let refused: number | undefined;
        const head = Buffer.alloc(8);
        head.writeUInt32BE(id, 0);
        void this.#enqueue(async () => {
          if (refused === undefined) return control(TYPE.SYN_REPLY, 0, Buffer.concat([head.subarray(0, 4), await this.#deflate.run(encodeHeaderBlock({}))]));
          head.writeUInt32BE(refused, 4);
          return control(TYPE.RST_STREAM, 0, head);
        }).catch(() => undefined);
        if ((flags & FLAG_FIN) !== 0) stream._onFin();
        try {
          if (!this.#onStream) throw new StreamRefused('no handler');
          this.#onStream(stream);
        } catch (e) {
          refused = e instanceof StreamRefused ? e.status : RST.REFUSED_STREAM;
          this.emit('refused', stream, e);
          stream._onReset();
        }
        return;
      }
      case TYPE.SYN_REPLY:
      case TYPE.HEADERS: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        // The block still has to pass through the inflater to keep its state in step.
        await this.#inflate.run(body.subarray(4));
        if ((flags & FLAG_FIN) !== 0) this.#streams.get(id)?._onFin();
        return;
      }
      case TYPE.RST_STREAM:
        this.#streams.get(body.readUInt32BE(0) & 0x7fffffff)?._onReset();
        return;
      case TYPE.PING: {
        const id = body.readUInt32BE(0);
        // Echo the peer's pings (their parity differs from ours); ours coming back need nothing.
        if ((id % 2 === 1) === (this.#role === 'server')) await this.#enqueue(async () => control(TYPE.PING, 0, Buffer.from(body)));
        else this.emit('pong', id);
        return;
      }
      case TYPE.GOAWAY:
        this.#goingAway = true;
        if (this.#streams.size === 0) this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown types: nothing to do (no flow control, see above).
        return;
    }
  }

  #fail(e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.#socket.destroy();
    this.#finish(err);
  }

  #finish(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams.values()]) s._onReset();
    this.#streams.clear();
    this.#deflate.close();
    this.#inflate.close();
    this.emit('close', err);
  }
}

function control(type: number, flags: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE((((0x8000 | VERSION) << 16) | type) >>> 0, 0);
  head.writeUInt32BE((((flags & 0xff) << 24) | body.length) >>> 0, 4);
  return Buffer.concat([head, body]);
}
