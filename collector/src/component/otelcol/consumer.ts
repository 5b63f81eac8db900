/**
 * How otelcol.* components pass data: every component that accepts data exports `input`, a
 * `Consumer` capsule (Alloy's `otelcol.Consumer`), and every component that emits data has an
 * `output { traces = [...], metrics = [...], logs = [...] }` block listing consumers.
 *
 * Contracts:
 * - `consume` resolves once the consumer has taken responsibility for the data (exported it,
 *   queued it, or passed it on and the next consumer resolved). It rejects with a
 *   `ConsumerError` otherwise; nothing is acknowledged that is then dropped silently.
 * - The `Telemetry` passed in is immutable (see `otlp/data.ts`); consumers never change it.
 * - A consumer that does not handle a signal rejects with a permanent `ConsumerError`.
 */
import { z } from 'zod';
import { sleep } from '../../clock/clock.js';
import type { Component, ComponentOptions } from '../../runtime/component.js';
import { block, capsule } from '../../syntax/vm/schema.js';
import type { Signal, Telemetry } from '../../otlp/data.js';

export interface Consumer {
  consume(data: Telemetry): Promise<void>;
}

/**
 * Why data was not taken. `retryable` errors (memory limit, full queue, unavailable backend)
 * become HTTP 503 / gRPC UNAVAILABLE at a receiver, with `retryAfterMs` as the retry hint;
 * permanent ones (invalid data, unsupported signal) become HTTP 400 / gRPC INVALID_ARGUMENT.
 */
export class ConsumerError extends Error {
  override readonly name = 'ConsumerError';
  readonly retryable: boolean;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryable: boolean, retryAfterMs?: number) {
    super(message);
    this.retryable = retryable;
    this.retryAfterMs = retryAfterMs;
  }
}

/** True when `err` asks the sender to retry later. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ConsumerError && err.retryable;
}

const isConsumer = (v: object): boolean => typeof (v as { consume?: unknown }).consume === 'function';

/** The `otelcol.Consumer` capsule schema. */
export const consumerCapsule = (): z.ZodType<Consumer, Consumer> => capsule<Consumer>('otelcol.Consumer', isConsumer);

export const outputSchema = z.object({
  traces: z.array(consumerCapsule()).default([]),
  metrics: z.array(consumerCapsule()).default([]),
  logs: z.array(consumerCapsule()).default([]),
});

/** The `output` block; required where Alloy requires it. */
export const outputBlock = (): z.ZodType<Output, unknown> => block(outputSchema) as unknown as z.ZodType<Output, unknown>;

export type Output = z.output<typeof outputSchema>;

/** The `debug_metrics` block every otelcol component accepts (its settings change nothing here). */
export const debugMetricsBlock = block(
  z.object({
    disable_high_cardinality_metrics: z.boolean().default(true),
    level: z.enum(['none', 'basic', 'normal', 'detailed']).default('detailed'),
  }),
).optional();

/**
 * Sends `data` to every consumer of its signal in `output` and resolves when all took it.
 * With no consumer for the signal the data is dropped (as upstream does with an empty list).
 * Rejects with the first failure; the failure is retryable only if every failure is.
 */
export async function fanOut(output: Output, data: Telemetry): Promise<void> {
  const consumers = output[data.signal];
  if (consumers.length === 0) return;
  if (consumers.length === 1) return consumers[0]!.consume(data);
  const results = await Promise.allSettled(consumers.map((c) => c.consume(data)));
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length === 0) return;
  const retryable = failed.every((f) => isRetryable(f.reason));
  const first = failed[0]!.reason as unknown;
  throw new ConsumerError(first instanceof Error ? first.message : String(first), retryable, first instanceof ConsumerError ? first.retryAfterMs : undefined);
}

/** Rejects data of signals a component does not handle, naming the component. */
export function unsupported(component: string, signal: Signal): ConsumerError {
  return new ConsumerError(`${component} does not accept ${signal}`, false);
}

/**
 * Waits `ms` (forever when undefined), until `signal` aborts, or until the function handed to
 * `setWake` is called, whichever comes first; leaves no timer or listener behind.
 */
export async function pause(ms: number | undefined, signal: AbortSignal, setWake: (wake: () => void) => void): Promise<void> {
  await sleep(ms, signal, setWake);
}

/** Resolves once `signal` is aborted. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * A component whose whole behaviour is its exports, derived from its arguments: `make` runs on
 * build and on every update and its result is published; `run` reports healthy and waits.
 */
export function exportsOnly<A, E extends object>(opts: ComponentOptions<E>, args: A, make: (a: A) => E): Component<A> {
  opts.onStateChange(make(args));
  return {
    run: async (signal) => {
      opts.setHealth('healthy', 'ready');
      await untilAborted(signal);
    },
    update: (a) => opts.onStateChange(make(a)),
  };
}

/**
 * A component that exports a stable `input` consumer handing data to `handle` with the current
 * arguments; `update` only swaps the arguments.
 */
export function consumerComponent<A>(opts: ComponentOptions<{ readonly input: Consumer }>, args: A, handle: (a: A, data: Telemetry) => Promise<void>): Component<A> {
  let current = args;
  opts.onStateChange({ input: { consume: (data) => handle(current, data) } });
  return {
    run: async (signal) => {
      opts.setHealth('healthy', 'ready');
      await untilAborted(signal);
    },
    update: (a) => {
      current = a;
    },
  };
}
