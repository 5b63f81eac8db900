/**
 * Time slicing for long synchronous work (loading and applying large configs), so running
 * components' timers and I/O keep flowing while a reload is computed.
 *
 * Contracts:
 * - `Steps<T>` is work written as a generator: each bare `yield` marks a point where the event
 *   loop may run; the generator's return value is the result. Steps must not depend on whether
 *   or when they are resumed (same result either way).
 * - `runSync` runs steps to completion without pausing (for synchronous callers).
 * - `runSliced` runs steps and yields to the event loop (`setImmediate`, so pending I/O runs too)
 *   whenever `budgetMs` of synchronous work has passed since the last turn.
 */

/** Longest stretch of synchronous reload work before yielding to the event loop. */
export const SLICE_MS = 5;

/** Work that can pause at its `yield`s; see the file contract. */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end in one synchronous stretch. */
export function runSync<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Runs `steps`, yielding to the event loop every `budgetMs` of synchronous work. */
export async function runSliced<T>(steps: Steps<T>, budgetMs = SLICE_MS): Promise<T> {
  const slicer = new Slicer(budgetMs);
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (slicer.due()) await slicer.yield();
  }
}

/** Yields to the event loop once `budgetMs` of synchronous work has passed since the last turn. */
export class Slicer {
  #start = performance.now();
  constructor(readonly budgetMs: number = SLICE_MS) {}
  /** Cheap check callers make before awaiting `yield()`, so the common path stays synchronous. */
  due(): boolean {
    return performance.now() - this.#start >= this.budgetMs;
  }
  async yield(): Promise<void> {
    await new Promise<void>((r) => setImmediate(r));
    this.#start = performance.now();
  }
}
