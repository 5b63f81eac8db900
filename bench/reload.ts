/**
 * Reload benchmark: a generated config of N timer-driven counter components (chains of ten,
 * each link referencing the previous one's export; every component ticks every 100 ms, one probe
 * every 1 ms) measured through the real loader, evaluator and controller:
 *   - initial load time,
 *   - no-op reload time (same text),
 *   - one-component-changed reload time,
 *   - the pauses of running components' periodic work during reloads: every gap between two
 *     ticks of an unchanged component's 1 ms timer while reloads run back to back (longest and
 *     p99), next to the longest gap while idle. The bench's own identity check of every instance
 *     (between the no-op and the one-changed rounds) is not counted.
 * There is no peer implementation to compare with, so figures are absolute. Each run is its own
 * process; the figures printed are medians over the runs with min–max.
 *
 *   npm run build:bench && node dist-bench/bench/reload.js [--components=1000] [--runs=3]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
import { median, spread } from './stats.js';

/**
 * Probe ticks: the largest gap since reset, and while `recording` every gap with the CPU time the
 * main thread used within it. Wall gaps on a loaded machine include time the OS ran other
 * processes; the main thread's CPU time is the work that held the event loop (JavaScript and the
 * collector's pauses on that thread), whatever the load.
 */
const ticks = { maxGapMs: 0, count: 0, recording: false, gaps: [] as number[], cpuGaps: [] as number[] };

/** The main thread's on-CPU time (Linux schedstat, ns precision); elsewhere the process's CPU time. */
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
const hasSchedstat = ((): boolean => {
  try {
    return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) > 0;
  } catch {
    return false;
  }
})();
function cpuMs(): number {
  if (hasSchedstat) return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]) / 1e6;
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

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
        let lastCpu = cpuMs();
        const probe = args.period_ms === 1;
        const t = setInterval(() => {
          ticks.count++;
          if (!probe) return;
          const now = performance.now();
          if (now - last > ticks.maxGapMs) ticks.maxGapMs = now - last;
          const cpu = cpuMs();
          if (ticks.recording) {
            ticks.gaps.push(now - last);
            ticks.cpuGaps.push(cpu - lastCpu);
          }
          last = now;
          lastCpu = cpu;
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
  /** Main-thread CPU time per reload (median), the work whatever the load. */
  readonly noopReloadCpuMs: number;
  readonly oneChangedReloadCpuMs: number;
  readonly idleMaxPauseMs: number;
  readonly reloadMaxPauseMs: number;
  /** 99th percentile of the probe's tick gaps while reloads run. */
  readonly reloadP99PauseMs: number;
  /** Largest and 99th percentile CPU time the main thread used within one probe gap during reloads. */
  readonly reloadMaxPauseCpuMs: number;
  readonly reloadP99PauseCpuMs: number;
  /** True when the no-op reload kept every instance (identity). */
  readonly instancesKept: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const ROUNDS = 15;

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
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
    ticks.gaps = [];
    ticks.cpuGaps = [];
    ticks.recording = true;
    const noop: number[] = [];
    const noopCpu: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      t0 = performance.now();
      const c0 = cpuMs();
      await rt.loadSources(src());
      noop.push(performance.now() - t0);
      noopCpu.push(cpuMs() - c0);
      await sleep(10);
    }
    ticks.recording = false;
    const maxNoop = ticks.maxGapMs;
    const instancesKept = rt.components().every((c, i) => c.instance === before[i]);
    await sleep(10);
    ticks.maxGapMs = 0;
    ticks.recording = true;

    const changed: number[] = [];
    const changedCpu: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      t0 = performance.now();
      const c0 = cpuMs();
      const r = await rt.loadSources(src(i % 2 === 0 ? Math.floor(n / 2) - 5 : -1));
      await rt.controller.idle();
      changed.push(performance.now() - t0);
      changedCpu.push(cpuMs() - c0);
      if (!r.ok) throw new Error(r.message);
      await sleep(10);
    }
    ticks.recording = false;
    const reloadMaxPauseMs = Math.max(maxNoop, ticks.maxGapMs);
    const reloadP99PauseMs = quantile(ticks.gaps, 0.99);
    const reloadMaxPauseCpuMs = Math.max(...ticks.cpuGaps);
    const reloadP99PauseCpuMs = quantile(ticks.cpuGaps, 0.99);
    const noopReloadMs = median(noop);
    const oneChangedReloadMs = median(changed);
    return { components: n, loadMs, noopReloadMs, oneChangedReloadMs, noopReloadCpuMs: median(noopCpu), oneChangedReloadCpuMs: median(changedCpu), idleMaxPauseMs, reloadMaxPauseMs, reloadP99PauseMs, reloadMaxPauseCpuMs, reloadP99PauseCpuMs, instancesKept };
  } finally {
    await rt.stop();
  }
}

function flag(name: string, fallback: number): number {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : Number(arg.slice(name.length + 3));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = flag('components', 1000);
  if (process.argv.includes('--child')) {
    process.stdout.write(`${JSON.stringify(await runReloadBench(n))}\n`);
  } else {
    const runs = flag('runs', 3);
    const load0 = os.loadavg()[0]!;
    const all: ReloadFigures[] = [];
    for (let r = 0; r < runs; r++) {
      const out = execFileSync(process.execPath, [process.argv[1], '--child', `--components=${n}`], { encoding: 'utf8' });
      all.push(JSON.parse(out.trim().split('\n').pop()!) as ReloadFigures);
    }
    const col = (k: keyof ReloadFigures): string => `${spread(all.map((f) => Number(f[k])), 1)} ms`;
    process.stdout.write(
      [
        `reload benchmark: ${n} components (chains of 10), absolute figures (no peer); medians of ${runs} runs (min–max); load average ${load0.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`,
        `  initial load                       ${col('loadMs')}`,
        `  no-op reload (median of ${ROUNDS})       ${col('noopReloadMs')}  (instances kept: ${all.every((f) => f.instancesKept)})`,
        `  one-changed reload (median of ${ROUNDS}) ${col('oneChangedReloadMs')}`,
        `  main-thread CPU per reload: no-op ${col('noopReloadCpuMs')}, one-changed ${col('oneChangedReloadCpuMs')} (includes the running components' timers meanwhile)`,
        `  probe pause while idle (max)       ${col('idleMaxPauseMs')}`,
        `  probe pause during reloads, p99    ${col('reloadP99PauseMs')}`,
        `  probe pause during reloads, max    ${col('reloadMaxPauseMs')}  (aim ≤ 50 ms)`,
        `  main-thread CPU within one probe pause during reloads (the pause without other processes): p99 ${col('reloadP99PauseCpuMs')}, max ${col('reloadMaxPauseCpuMs')}`,
        '',
      ].join('\n'),
    );
  }
}
