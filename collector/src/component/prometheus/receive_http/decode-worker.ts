/**
 * Entry of a remote-write decode worker thread (started by `decode-pool.ts`). Each message is
 * `{ seq, body }` (the snappy body, transferred); the answer is `{ seq, result }` with the
 * batch's typed arrays transferred back. One `CompactDecoder` per worker, so series ids are
 * per worker. Never throws: a failure becomes a 400 result.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CompactDecoder, transferables, type DecodeResult } from './compact-batch.js';

interface Init {
  readonly maxDecodedBytes: number;
  readonly limitName: string;
}

const port = parentPort;
if (port) {
  const init = workerData as Init;
  const decoder = new CompactDecoder({ maxDecodedBytes: init.maxDecodedBytes, limitName: init.limitName });
  port.on('message', (msg: { seq: number; body: Uint8Array }) => {
    let result: DecodeResult;
    try {
      result = decoder.decode(msg.body);
    } catch (err: unknown) {
      result = { error: { status: 400, message: `decode failed: ${err instanceof Error ? err.message : String(err)}` } };
    }
    port.postMessage({ seq: msg.seq, result }, 'batch' in result ? transferables(result.batch) : []);
  });
}
