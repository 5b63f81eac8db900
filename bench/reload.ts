/**
 * Reload benchmark: a generated config of N timer-driven counter components (chains of ten,
 * each link referencing the previous one's export; every component ticks every 100 ms, one probe
 * every 1 ms) measured through the real loader, evaluator and controller:
 *   - initial load time,
 *   - no-op reload time (same text),
 *   - one-component-changed reload time,
 *   - the longest pause of running components' periodic work (1 ms timers) during reloads,
 *     next to the longest pause while idle.
 * There is no peer implementation to compare with, so figures are absolute.
 *
 *   npm run build:bench && node dist-bench/bench/reload.js [N]
 */
import os from 'node:os';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { z } from 'zod';
import { LogManager } from '../collector/src/logging/logger.js';
import type { ComponentDefinition } from '../collector/src/runtime/component.js';
import { syntaxEvaluator } from '../collector/src/runtime/evaluator.js';
import { ComponentRegistry } from '../collector/src/runtime/registry.js';
import { Runtime } from '../collector/src/runtime/runtime.js';

/** Largest gap between consecutive timer ticks of any counter, reset by `resetGaps()`. */
const ticks = { maxGapMs: 0, count: 0 };

interface CounterArgs {
  readonly step: number;
  readonly input?: number;
  /** Tick period; the probe component ticks every 1 ms, the others every 100 ms. */
  readonly period_ms: number;
}

const counter: ComponentDefinition<CounterArgs, { value: number }> = {
  name: 'bench.counter',
  stability: 'generally-available',
  args: z.object({ step: z.number(), input: z.number().optional(), period_ms: z.number().default(100) }),
  exports: ['value'],
  build(opts, args) {
    opts.onStateChange({ value: (args.input ?? 0) + args.step });
    return {
      run(signal) {
        let last = performance.now();
        const probe = args.period_ms === 1;
        const t = setInterval(() => {
          ticks.count++;
          if (!probe) return;
          const now = performance.now();
          if (now - last > ticks.maxGapMs) ticks.maxGapMs = now - last;
          last = now;
        }, args.period_ms);
        return new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            clearInterval(t);
            resolve();
          }),
        );
      },
      update(a) {
        opts.onStateChange({ value: (a.input ?? 0) + a.step });
      },
    };
  },
};

export function generateConfig(n: number, changed = -1): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const step = i === changed ? 2 : 1;
    const input = i % 10 === 0 ? '' : `\n  input = bench.counter.c${i - 1}.value`;
    const period = i === 0 ? '\n  period_ms = 1' : '';
    out.push(`bench.counter "c${i}" {\n  step = ${step}${input}${period}\n}\n`);
  }
  return out.join('\n');
}

export interface ReloadFigures {
  readonly components: number;
  readonly loadMs: number;
  readonly noopReloadMs: number;
  readonly oneChangedReloadMs: number;
  readonly idleMaxPauseMs: number;
  readonly reloadMaxPauseMs: number;
  /** True when the no-op reload kept every instance (identity). */
  readonly instancesKept: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ROUNDS = 15;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function runReloadBench(n: number): Promise<ReloadFigures> {
  const rt = new Runtime({
    configPath: '/nonexistent',
    storagePath: '/tmp/alloy-bench-reload',
    stabilityLevel: 'generally-available',
    logs: new LogManager({ stream: new PassThrough().resume() }),
    registry: new Registry(),
    services: new Map(),
    components: new ComponentRegistry([counter]),
    evaluator: syntaxEvaluator(),
    buildInfo: { version: 'bench', revision: '', branch: '' },
  });
  const src = (changed = -1): Map<string, string> => new Map([['bench.alloy', generateConfig(n, changed)]]);
  try {
    let t0 = performance.now();
    const first = await rt.loadSources(src());
    const loadMs = performance.now() - t0;
    if (!first.ok) throw new Error(first.message);
    await rt.controller.idle();

    await sleep(200);
    ticks.maxGapMs = 0;
    await sleep(300);
    const idleMaxPauseMs = ticks.maxGapMs;

    const before = rt.components().map((c) => c.instance);
    ticks.maxGapMs = 0;
    const noop: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      t0 = performance.now();
      await rt.loadSources(src());
      noop.push(performance.now() - t0);
      await sleep(10);
    }
    const instancesKept = rt.components().every((c, i) => c.instance === before[i]);

    const changed: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      t0 = performance.now();
      const r = await rt.loadSources(src(i % 2 === 0 ? Math.floor(n / 2) - 5 : -1));
      await rt.controller.idle();
      changed.push(performance.now() - t0);
      if (!r.ok) throw new Error(r.message);
      await sleep(10);
    }
    const reloadMaxPauseMs = ticks.maxGapMs;
    const noopReloadMs = median(noop);
    const oneChangedReloadMs = median(changed);
    return { components: n, loadMs, noopReloadMs, oneChangedReloadMs, idleMaxPauseMs, reloadMaxPauseMs, instancesKept };
  } finally {
    await rt.stop();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = Number(process.argv[2] ?? 1000);
  const f = await runReloadBench(n);
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  process.stdout.write(
    [
      `reload benchmark: ${f.components} components (chains of 10), absolute figures (no peer); load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`,
      `  initial load                 ${ms(f.loadMs)}`,
      `  no-op reload (median of ${ROUNDS})   ${ms(f.noopReloadMs)}  (instances kept: ${f.instancesKept})`,
      `  one-changed reload (median)  ${ms(f.oneChangedReloadMs)}`,
      `  longest probe (1 ms timer) pause ${ms(f.reloadMaxPauseMs)} during reloads vs ${ms(f.idleMaxPauseMs)} idle`,
      '',
    ].join('\n'),
  );
}
