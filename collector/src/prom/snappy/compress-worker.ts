/**
 * Entry of the snappy compression worker (`compress-pool.ts`): each `{ seq, data }` message is
 * answered with `{ seq, out }`, `out` transferred. `compress` does not throw on any input.
 */
import { parentPort } from 'node:worker_threads';
import { compress } from './snappy.js';

const port = parentPort;
if (port) {
  port.on('message', (msg: { seq: number; data: Uint8Array }) => {
    const out = compress(msg.data);
    const own = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength ? out : new Uint8Array(out);
    port.postMessage({ seq: msg.seq, out: own }, [own.buffer as ArrayBuffer]);
  });
}
