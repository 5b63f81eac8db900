import net from 'node:net';
import zlib from 'node:zlib';
import { Duplex } from 'node:stream';
import { readAll } from './test-support.js';
import { SPDY3_DICTIONARY, SpdySession, StreamRefused, RST, decodeHeaderBlock, encodeHeaderBlock, type SpdyStream } from './spdy.js';

/** Two sessions on the ends of a loopback TCP connection. */
async function pair(onServerStream: (s: SpdyStream) => void): Promise<{ client: SpdySession; server: SpdySession; close(): void }> {
  const srv = net.createServer();
  const accepted = new Promise<net.Socket>((resolve) =>
    srv.once('connection', (sock) => {
      srv.close();
      resolve(sock);
    }),
  );
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  const clientSock = net.connect({ host: '127.0.0.1', port });
  const serverSock = await accepted;
  const server = new SpdySession(serverSock, { role: 'server', onStream: onServerStream });
  const client = new SpdySession(clientSock, { role: 'client' });
  return {
    client,
    server,
    close: () => {
      clientSock.destroy();
      serverSock.destroy();
    },
  };
}

/** A socket whose writes are captured and whose reads are what the test pushes. */
function fakeSocket(): { sock: Duplex; written: Buffer[] } {
  const written: Buffer[] = [];
  const sock = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written.push(chunk);
      cb();
    },
  });
  return { sock, written };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SPDY/3.1 framing', () => {
  it('the header dictionary is the draft\'s 1423 bytes', () => {
    expect(SPDY3_DICTIONARY.length).toBe(1423);
    expect(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1')).toBe('\0\0\0\x07options');
    expect(SPDY3_DICTIONARY.subarray(-15).toString('latin1')).toBe('1,utf-,*,enq=0.');
  });

  it('header blocks carry lower-case names and NUL-separated values', () => {
    const block = encodeHeaderBlock({ StreamType: ['stdout'], multi: ['a', 'b'] });
    expect(block.readUInt32BE(0)).toBe(2);
    expect(decodeHeaderBlock(block)).toEqual({ streamtype: ['stdout'], multi: ['a', 'b'] });
    expect(() => decodeHeaderBlock(block.subarray(0, block.length - 1))).toThrow('SPDY header block truncated');
  });

  it('a SYN_STREAM header block is a zlib stream primed with the dictionary (as Go\'s framer writes it)', async () => {
    const { sock, written } = fakeSocket();
    const capture = new SpdySession(sock, { role: 'client' });
    await capture.openStream({ streamtype: ['error'] });
    const frame = Buffer.concat(written);
    expect(frame.readUInt16BE(0)).toBe(0x8003); // control bit + version 3
    expect(frame.readUInt16BE(2)).toBe(1); // SYN_STREAM
    expect(frame.readUInt32BE(8) & 0x7fffffff).toBe(1); // first client stream id
    const inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
    const out: Buffer[] = [];
    inflate.on('data', (c: Buffer) => out.push(c));
    await new Promise<void>((resolve) => {
      inflate.write(frame.subarray(18));
      inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
    });
    expect(decodeHeaderBlock(Buffer.concat(out))).toEqual({ streamtype: ['error'] });
    capture.close();
  });

  it('streams carry data both ways, headers stay in step across many blocks, FIN half-closes', async () => {
    const seen: SpdyStream[] = [];
    const { client, close } = await pair((s) => {
      seen.push(s);
      // Echo upper-cased, then finish when the client finishes.
      s.on('data', (c: Buffer) => s.write(c.toString().toUpperCase()));
      s.once('end', () => s.end('!'));
    });
    try {
      const streams = await Promise.all([1, 2, 3, 4, 5].map((i) => client.openStream({ streamtype: [`data-${i}`], port: [String(8000 + i)] })));
      const results = streams.map(readAll);
      streams.forEach((s, i) => s.end(`hello ${i}`));
      expect(await Promise.all(results)).toEqual(['HELLO 0!', 'HELLO 1!', 'HELLO 2!', 'HELLO 3!', 'HELLO 4!']);
      expect(seen.map((s) => [s.id, s.header('streamType'), s.header('port')])).toEqual([1, 2, 3, 4, 5].map((i) => [2 * i - 1, `data-${i}`, String(8000 + i)]));
    } finally {
      close();
    }
  });

  it('large writes are cut into frames and arrive whole; frames split across TCP reads are reassembled', async () => {
    const { client, close } = await pair((s) => {
      let n = 0;
      s.on('data', (c: Buffer) => (n += c.length));
      s.once('end', () => s.end(String(n)));
    });
    try {
      const s = await client.openStream({ streamtype: ['data'] });
      const reply = readAll(s);
      const big = Buffer.alloc(5 * 1024 * 1024 + 3, 1);
      s.end(big);
      expect(await reply).toBe(String(big.length));
    } finally {
      close();
    }
  });

  it('a refused stream gets RST_STREAM instead of a reply; the session goes on', async () => {
    const { client, server, close } = await pair((s) => {
      if (s.header('streamtype') === 'bad') throw new StreamRefused('invalid stream type "bad"');
      s.end('ok');
    });
    const refused: string[] = [];
    server.on('refused', (_s: SpdyStream, e: Error) => refused.push(e.message));
    try {
      const bad = await client.openStream({ streamtype: ['bad'] });
      const closed = new Promise<void>((resolve) => bad.once('close', () => resolve()));
      await closed;
      expect(refused).toEqual(['invalid stream type "bad"']);
      const good = await client.openStream({ streamtype: ['good'] });
      good.end();
      expect(await readAll(good)).toBe('ok');
    } finally {
      close();
    }
  });

  it('reset() cancels a stream on the other side', async () => {
    let serverSide!: SpdyStream;
    const got = deferred();
    const { client, close } = await pair((s) => {
      serverSide = s;
      got.resolve();
    });
    try {
      const s = await client.openStream({ streamtype: ['data'] });
      await got.promise;
      const closed = new Promise<void>((resolve) => serverSide.once('close', () => resolve()));
      s.reset(RST.CANCEL);
      await closed;
      expect(serverSide.destroyed).toBe(true);
    } finally {
      close();
    }
  });

  it("the server echoes the client's PING", async () => {
    const { client, close } = await pair(() => undefined);
    try {
      const pong = new Promise<number>((resolve) => client.once('pong', resolve));
      await client.ping(7);
      expect(await pong).toBe(7);
    } finally {
      close();
    }
  });

  it('GOAWAY, or the socket ending, closes the session and resets its open streams', async () => {
    let serverSide!: SpdyStream;
    const got = deferred();
    const { client, server } = await pair((s) => {
      serverSide = s;
      got.resolve();
    });
    const s = await client.openStream({ streamtype: ['data'] });
    await got.promise;
    const serverClosed = new Promise<Error | undefined>((resolve) => server.once('close', resolve));
    const streamClosed = new Promise<void>((resolve) => serverSide.once('close', () => resolve()));
    client.close();
    expect(await serverClosed).toBeUndefined();
    await streamClosed;
    expect(s.destroyed).toBe(true);
    expect(server.closed).toBe(true);
  });

  it('a frame of another SPDY version ends the session with an error naming it', async () => {
    const { sock } = fakeSocket();
    const session = new SpdySession(sock, { role: 'server', onStream: () => undefined });
    const closed = new Promise<Error | undefined>((resolve) => session.once('close', resolve));
    const frame = Buffer.alloc(8);
    frame.writeUInt32BE(0x80020006, 0); // version 2 PING
    sock.push(Buffer.concat([frame.subarray(0, 4), Buffer.from([0, 0, 0, 4]), Buffer.alloc(4)]));
    expect((await closed)?.message).toBe('SPDY: unsupported version 2 (want 3)');
  });
});
