/** Where CLI commands read and write; main.ts passes the process streams, tests pass buffers. */
import type { Readable, Writable } from 'node:stream';

export interface CliIO {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
}
