/**
 * Snappy compression off the calling thread: `compressOffThread` hands the input to a worker
 * thread (`compress-worker.ts`) and resolves to the same bytes `compress` returns.
 *
 * Contracts:
 * - Never rejects: with no worker configured, no compiled worker script (TypeScript sources under
 *   test), or a worker that failed, the input is compressed on the calling thread.
 * - The input is read before `compressOffThread` returns: the caller may reuse it at once (the
 *   remote_write shards share one encoder). A copy crosses, transferred, and another is kept to
 *   compress here if the worker stops. Results come back in the order they were asked for.
 * - The worker count is process-wide (`setCompressWorkers`, from the run flag
 *   `--prometheus.remote-write.compress-workers`, default 0: on 2 cores the worker adds ~0.5 µs
 *   of CPU per proxied sample on other threads for a main-thread gain within the runs' spread, see
 *   bench/README.md); `auto` is 1 when the process may use more than one CPU, else 0. The worker
 *   starts on first use and does not keep the process alive.
 */
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { compress } from './snappy.js';

export const COMPRESS_WORKERS_FLAG = 'prometheus.remote-write.compress-workers';

const WORKER_URL = new URL('./compress-worker.js', import.meta.url);

/** `auto`: one worker when this process may run on more than one CPU. */
export function autoCompressWorkers(): number {
  return os.availableParallelism() > 1 ? 1 : 0;
}

/** Parses the flag's value: `auto`, `0` or `1`; throws naming the fix. */
export function parseCompressWorkers(v: string): number {
  if (v === 'auto') return autoCompressWorkers();
  if (v !== '0' && v !== '1') throw new Error(`invalid value "${v}" for flag --${COMPRESS_WORKERS_FLAG}: expected auto, 0 or 1`);
  return Number(v);
}

let configured: number | undefined;

/** Sets the worker count (0 or 1) before the first compression. */
export function setCompressWorkers(n: number): void {
  configured = n;
}

export class CompressPool {
  readonly #url: URL;
  readonly #enabled: boolean;
  #worker: Worker | undefined;
  #failed = false;
  #seq = 0;
  readonly #pending = new Map<number, { input: Uint8Array; resolve: (b: Buffer) => void }>();

  constructor(workers: number, url: URL = WORKER_URL) {
    this.#url = url;
    this.#enabled = workers > 0 && existsSync(fileURLToPath(url));
  }

  /** Whether compression runs in a worker thread. */
  get offThread(): boolean {
    return this.#enabled && !this.#failed;
  }

  compress(input: Uint8Array): Promise<Buffer> {
    if (!this.offThread) return Promise.resolve(compress(input));
    const w = this.#start();
    // Structured-cloning the bytes costs the calling thread more than compressing them: copy once, transfer.
    const copy = new Uint8Array(input);
    const kept = new Uint8Array(input);
    const seq = this.#seq++;
    return new Promise<Buffer>((resolve) => {
      this.#pending.set(seq, { input: kept, resolve });
      w.postMessage({ seq, data: copy }, [copy.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.#failed = true;
    const w = this.#worker;
    this.#worker = undefined;
    await w?.terminate();
    this.#drainInline();
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(this.#url);
    w.unref();
    this.#worker = w;
    w.on('message', (msg: { seq: number; out: Uint8Array }) => {
      const p = this.#pending.get(msg.seq);
      if (!p) return;
      this.#pending.delete(msg.seq);
      p.resolve(Buffer.from(msg.out.buffer, msg.out.byteOffset, msg.out.byteLength));
    });
    const gone = (): void => {
      if (this.#worker !== w) return;
      this.#worker = undefined;
      this.#failed = true;
      this.#drainInline();
    };
    w.on('error', gone);
    w.on('exit', gone);
    return w;
  }

  /** What a stopped worker still held is compressed here, from the callers' inputs. */
  #drainInline(): void {
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.resolve(compress(p.input));
  }
}

let shared: CompressPool | undefined;

/** `compress` on the process-wide pool. */
export function compressOffThread(input: Uint8Array): Promise<Buffer> {
  shared ??= new CompressPool(configured ?? 0);
  return shared.compress(input);
}
