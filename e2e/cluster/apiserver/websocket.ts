/**
 * A minimal RFC 6455 WebSocket server side for the streaming pod subresources (`exec`), speaking
 * the Kubernetes channel protocol (`v5.channel.k8s.io` … `v4.channel.k8s.io`): every binary
 * message starts with a channel byte (0 stdin, 1 stdout, 2 stderr, 3 error Status, 4 resize,
 * 255 close-stream in v5).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const CHANNEL_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;

export interface ChannelSocket {
  readonly protocol: string;
  /** Sends `data` on a channel (1 stdout, 2 stderr, 3 error). */
  send(channel: number, data: Buffer | string): void;
  /** Data the client sends on a channel (0 stdin; 255 with [0] closes stdin in v5). */
  onMessage(fn: (channel: number, data: Buffer) => void): void;
  onClose(fn: () => void): void;
  close(): void;
}

/** Completes the upgrade, or answers 400 and returns undefined when it is not a usable request. */
export function acceptChannelSocket(req: IncomingMessage, socket: Duplex): ChannelSocket | undefined {
  const key = req.headers['sec-websocket-key'];
  const offered = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const protocol = CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
  if (typeof key !== 'string' || !protocol) {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nwebsocket upgrade needs Sec-WebSocket-Key and one of the protocols ' + CHANNEL_PROTOCOLS.join(', ') + '\r\n');
    return undefined;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: ${protocol}\r\n\r\n`);
  const listeners: ((c: number, d: Buffer) => void)[] = [];
  const closers: (() => void)[] = [];
  let buf = Buffer.alloc(0);
  let fragments: Buffer[] = [];
  let closed = false;
  const frame = (opcode: number, payload: Buffer): Buffer => {
    const len = payload.length;
    const head = len < 126 ? Buffer.from([0x80 | opcode, len]) : len < 65536 ? Buffer.from([0x80 | opcode, 126, len >> 8, len & 255]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
    return Buffer.concat([head, payload]);
  };
  const finish = (): void => {
    if (closed) return;
    closed = true;
    for (const c of closers) c();
  };
  socket.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      const fin = (buf[0]! & 0x80) !== 0;
      const opcode = buf[0]! & 0x0f;
      const masked = (buf[1]! & 0x80) !== 0;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const maskLen = masked ? 4 : 0;
      if (buf.length < off + maskLen + len) return;
      const mask = buf.subarray(off, off + maskLen);
      const payload = Buffer.from(buf.subarray(off + maskLen, off + maskLen + len));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i % 4]!;
      buf = buf.subarray(off + maskLen + len);
      if (opcode === 0x8) {
        if (!socket.destroyed) socket.end(frame(0x8, Buffer.alloc(0)));
        finish();
        return;
      }
      if (opcode === 0x9) {
        socket.write(frame(0xa, payload));
        continue;
      }
      if (opcode === 0x0 || opcode === 0x1 || opcode === 0x2) {
        fragments.push(payload);
        if (!fin) continue;
        const msg = Buffer.concat(fragments);
        fragments = [];
        if (msg.length > 0) for (const l of listeners) l(msg[0]!, msg.subarray(1));
      }
    }
  });
  socket.on('close', finish);
  socket.on('error', finish);
  return {
    protocol,
    send(channel, data) {
      if (closed || socket.destroyed) return;
      const body = typeof data === 'string' ? Buffer.from(data) : data;
      socket.write(frame(0x2, Buffer.concat([Buffer.from([channel]), body])));
    },
    onMessage(fn) {
      listeners.push(fn);
    },
    onClose(fn) {
      closers.push(fn);
    },
    close() {
      if (!socket.destroyed) socket.end(frame(0x8, Buffer.from([0x03, 0xe8])));
      finish();
    },
  };
}
