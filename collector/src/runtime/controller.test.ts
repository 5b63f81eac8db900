import winston from 'winston';
import { z } from 'zod';
import { Registry } from 'prom-client';
import { Controller, type ComponentSpec } from './controller.js';
import type { ComponentDefinition, ComponentOptions } from './component.js';
import { eventually } from '../clock/eventually.test-support.js';

const silent = winston.createLogger({ silent: true });

interface CounterArgs {
  readonly step: number;
  readonly input?: number;
}

/** Test-only component: counts ticks, exports `value = input*10 + step`, records calls. */
class Counter {
  static instances: Counter[] = [];
  ticks = 0;
  updates: CounterArgs[] = [];
  stopped = false;
  #timer: NodeJS.Timeout | undefined;
  constructor(
    readonly opts: ComponentOptions<{ value: number }>,
    public args: CounterArgs,
  ) {
    Counter.instances.push(this);
    opts.onStateChange({ value: (args.input ?? 0) * 10 + args.step });
  }
  async run(signal: AbortSignal): Promise<void> {
    this.#timer = setInterval(() => this.ticks++, 1);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    clearInterval(this.#timer);
    this.stopped = true;
  }
  update(args: CounterArgs): void {
    if (args.step < 0) throw new Error('step must be >= 0');
    this.updates.push(args);
    this.args = args;
    this.opts.onStateChange({ value: (args.input ?? 0) * 10 + args.step });
  }
}

const counterDef: ComponentDefinition<CounterArgs, { value: number }> = {
  name: 'test.counter',
  stability: 'generally-available',
  args: z.object({ step: z.number(), input: z.number().optional() }),
  exports: ['value'],
  build: (opts, args) => new Counter(opts, args),
};

const pos = (line: number) => ({ file: 'test.alloy', line, column: 1, offset: 0 });

/** A spec whose `input` is the `value` export of `dep` (if any). */
function spec(label: string, step: number, dep?: string, line = 1): ComponentSpec {
  const id = `test.counter.${label}`;
  return {
    id,
    name: 'test.counter',
    label,
    definition: counterDef as unknown as ComponentDefinition<unknown, object>,
    dependencies: dep ? [`test.counter.${dep}`] : [],
    range: { start: pos(line), end: pos(line) },
    evaluate(exportsOf) {
      if (step === 999) return { diags: [{ severity: 'error', message: 'bad step', start: pos(line), end: pos(line) }] };
      const input = dep ? (exportsOf(`test.counter.${dep}`) as { value: number } | undefined)?.value : undefined;
      return { value: input === undefined ? { step } : { step, input }, diags: [] };
    },
  };
}

function newController(): Controller {
  return new Controller({
    componentLogger: () => silent,
    logger: silent,
    storagePath: '/tmp/unused',
    registry: new Registry(),
    shutdownTimeoutMs: 1000,
  });
}

const counter = (c: Controller, label: string): Counter => c.component(`test.counter.${label}`)!.instance as unknown as Counter;

beforeEach(() => {
  Counter.instances = [];
});

describe('Controller.apply', () => {
  it('keeps the SAME instance for an unchanged component across reloads, with its internal counter', async () => {
    const c = newController();
    expect((await c.apply([spec('a', 1), spec('b', 2)])).diags).toEqual([]);
    const a = counter(c, 'a');
    await eventually(() => a.ticks > 0, 5_000, 'the first tick of test.counter.a');
    const ticksBefore = a.ticks;
    expect(ticksBefore).toBeGreaterThan(0);
    expect((await c.apply([spec('a', 1), spec('b', 3)])).diags).toEqual([]);
    expect(counter(c, 'a')).toBe(a);
    expect(a.updates).toEqual([]);
    expect(a.ticks).toBeGreaterThanOrEqual(ticksBefore);
    expect(a.stopped).toBe(false);
    await c.stop();
  });

  it('calls update with the new arguments for a changed component', async () => {
    const c = newController();
    await c.apply([spec('a', 1)]);
    const a = counter(c, 'a');
    await c.apply([spec('a', 5)]);
    expect(counter(c, 'a')).toBe(a);
    expect(a.updates).toEqual([{ step: 5 }]);
    expect(c.component('test.counter.a')!.arguments).toEqual({ step: 5 });
    await c.stop();
  });

  it('aborts and awaits a removed component, and starts a new one', async () => {
    const c = newController();
    await c.apply([spec('a', 1), spec('b', 1)]);
    const b = counter(c, 'b');
    await c.apply([spec('a', 1), spec('c', 1)]);
    expect(b.stopped).toBe(true);
    expect(c.ids()).toEqual(['test.counter.a', 'test.counter.c']);
    expect(c.component('test.counter.c')!.health.state).toBe('healthy');
    await c.stop();
  });

  it('leaves the running graph exactly as it was when evaluation fails', async () => {
    const c = newController();
    await c.apply([spec('a', 1), spec('b', 1)]);
    const a = counter(c, 'a');
    const b = counter(c, 'b');
    const { diags, committed } = await c.apply([spec('a', 2), spec('new', 1), spec('b', 999, undefined, 7)]);
    expect(committed).toBe(false);
    expect(diags).toEqual([expect.objectContaining({ message: 'bad step', start: pos(7) })]);
    expect(c.ids()).toEqual(['test.counter.a', 'test.counter.b']);
    expect(counter(c, 'a')).toBe(a);
    expect(a.updates).toEqual([]);
    expect(b.stopped).toBe(false);
    // The built-but-discarded instance never ran.
    const discarded = Counter.instances.find((i) => i.opts.id === 'test.counter.new')!;
    expect(discarded.ticks).toBe(0);
    await c.stop();
  });

  it('keeps old arguments and marks unhealthy when update throws, reporting the error', async () => {
    const c = newController();
    await c.apply([spec('a', 1)]);
    const { diags } = await c.apply([spec('a', -1, undefined, 3)]);
    expect(diags).toEqual([expect.objectContaining({ start: pos(3), message: expect.stringContaining('step must be >= 0') })]);
    const info = c.component('test.counter.a')!;
    expect(info.arguments).toEqual({ step: 1 });
    expect(info.health.state).toBe('unhealthy');
    // A later good config heals it.
    expect((await c.apply([spec('a', 2)])).diags).toEqual([]);
    expect(c.component('test.counter.a')!.health.state).toBe('healthy');
    await c.stop();
  });

  it('reports cycles and references to unknown components with the block position', async () => {
    const c = newController();
    const { diags } = await c.apply([spec('a', 1, 'b', 1), spec('b', 1, 'a', 2), spec('c', 1, 'missing', 3)]);
    expect(diags.map((d) => [d.start.line, d.message])).toEqual([
      [3, 'component "test.counter.c" references "test.counter.missing", which does not exist'],
      [1, 'cycle detected: test.counter.a, test.counter.b'],
    ]);
    expect(c.ids()).toEqual([]);
    await c.stop();
  });
});

describe('export propagation', () => {
  it('re-evaluates dependents in order when exports change and updates only changed arguments', async () => {
    const c = newController();
    // a -> b -> d ; a -> c(step ignores input? no: c depends on a too)
    await c.apply([spec('a', 1), spec('b', 0, 'a'), spec('d', 0, 'b')]);
    expect(c.component('test.counter.b')!.arguments).toEqual({ step: 0, input: 1 });
    expect(c.component('test.counter.d')!.arguments).toEqual({ step: 0, input: 10 });
    const a = counter(c, 'a');
    a.opts.onStateChange({ value: 2 });
    await c.idle();
    await c.idle();
    expect(counter(c, 'b').updates).toEqual([{ step: 0, input: 2 }]);
    expect(counter(c, 'd').updates).toEqual([{ step: 0, input: 20 }]);
    // Same exports again: nothing is re-evaluated into an update.
    a.opts.onStateChange({ value: 2 });
    await c.idle();
    expect(counter(c, 'b').updates).toHaveLength(1);
    await c.stop();
  });

  it('updates a dependent once, with the new export, when its dependency changes in the same reload', async () => {
    const c = newController();
    await c.apply([spec('a', 1), spec('b', 0, 'a')]);
    await c.apply([spec('a', 3), spec('b', 0, 'a')]);
    await c.idle();
    expect(counter(c, 'a').updates).toEqual([{ step: 3 }]);
    expect(counter(c, 'b').updates).toEqual([{ step: 0, input: 3 }]);
    await c.stop();
  });

  it('exposes running-components and evaluation metrics', async () => {
    const registry = new Registry();
    const c = new Controller({ componentLogger: () => silent, logger: silent, storagePath: '/tmp/x', registry });
    await c.apply([spec('a', 1), spec('b', 1)]);
    const text = await registry.metrics();
    expect(text).toContain('alloy_component_controller_running_components{health_type="healthy"} 2');
    expect(text).toMatch(/alloy_component_evaluation_seconds_count \d+/);
    await c.stop();
  });
});

describe('reloads that keep the dependency graph', () => {
  it('keeps the running arguments object when a reload evaluates them unchanged', async () => {
    const c = newController();
    await c.apply([spec('a', 1), spec('b', 0, 'a')]);
    const before = c.component('test.counter.b')!.arguments;
    expect((await c.apply([spec('a', 1), spec('b', 0, 'a')])).diags).toEqual([]);
    expect(c.component('test.counter.b')!.arguments).toBe(before);
    expect(counter(c, 'b').updates).toEqual([]);
    await c.stop();
  });

  it('follows changed dependencies among the same components (edges, order, propagation)', async () => {
    const c = newController();
    // a -> b, c standalone; then b reads c instead of a, and a reads c (c must now come first).
    await c.apply([spec('a', 1), spec('b', 0, 'a'), spec('c', 5)]);
    expect(c.ids()).toStrictEqual(['test.counter.a', 'test.counter.c', 'test.counter.b']);
    expect((await c.apply([spec('a', 1, 'c'), spec('b', 0, 'c'), spec('c', 5)])).diags).toEqual([]);
    expect(c.component('test.counter.b')!.referencesTo).toStrictEqual(['test.counter.c']);
    expect(c.component('test.counter.c')!.referencedBy).toStrictEqual(['test.counter.a', 'test.counter.b']);
    expect(c.ids().indexOf('test.counter.c')).toBeLessThan(c.ids().indexOf('test.counter.a'));
    expect(c.component('test.counter.a')!.arguments).toStrictEqual({ step: 1, input: 5 });
    // An export change of c reaches both of its new dependents, and a's change no longer reaches b.
    counter(c, 'c').opts.onStateChange({ value: 7 });
    await c.idle();
    expect(c.component('test.counter.b')!.arguments).toStrictEqual({ step: 0, input: 7 });
    expect(c.component('test.counter.a')!.arguments).toStrictEqual({ step: 1, input: 7 });
    counter(c, 'a').opts.onStateChange({ value: 100 });
    await c.idle();
    expect(c.component('test.counter.b')!.arguments).toStrictEqual({ step: 0, input: 7 });
    await c.stop();
  });

  it('still rejects a cycle made only by changed dependencies among the same components', async () => {
    const c = newController();
    await c.apply([spec('a', 1), spec('b', 0, 'a')]);
    const r = await c.apply([spec('a', 1, 'b'), spec('b', 0, 'a')]);
    expect(r.committed).toBe(false);
    expect(r.diags.map((d) => d.message)).toStrictEqual(['cycle detected: test.counter.a, test.counter.b']);
    expect(c.component('test.counter.a')!.referencesTo).toStrictEqual([]);
    await c.stop();
  });
});

describe('reloads skip evaluating specs whose inputs did not change (inputsOnly)', () => {
  /** `spec()` with `inputsOnly` and a count of its evaluations. */
  function counted(label: string, step: number, dep?: string): ComponentSpec & { calls: number } {
    const base = spec(label, step, dep);
    const s = {
      ...base,
      inputsOnly: true,
      calls: 0,
      evaluate(exportsOf: (id: string) => object | undefined) {
        s.calls++;
        return base.evaluate(exportsOf);
      },
    };
    return s;
  }

  it('keeps the running arguments of the same spec object while its dependencies export the same objects', async () => {
    const c = newController();
    const a = counted('a', 1);
    const b = counted('b', 0, 'a');
    await c.apply([a, b]);
    expect([a.calls, b.calls]).toStrictEqual([1, 1]);
    expect((await c.apply([a, b])).diags).toEqual([]);
    expect([a.calls, b.calls]).toStrictEqual([1, 1]);
    // a's exports change: b is evaluated (and updated) by propagation, then skipped again.
    counter(c, 'a').opts.onStateChange({ value: 4 });
    await c.idle();
    expect(c.component('test.counter.b')!.arguments).toStrictEqual({ step: 0, input: 4 });
    const callsAfter = b.calls;
    await c.apply([a, b]);
    expect(b.calls).toBe(callsAfter);
    // A new spec object for a (an edited block) is evaluated; b too once a's exports change.
    const a2 = counted('a', 2);
    await c.apply([a2, b]);
    expect(a2.calls).toBe(1);
    expect(c.component('test.counter.b')!.arguments).toStrictEqual({ step: 0, input: 2 });
    await c.stop();
  });

  it('evaluates specs without inputsOnly on every reload', async () => {
    const c = newController();
    const a = counted('a', 1);
    const plain = { ...spec('p', 1), calls: 0 };
    const ev = plain.evaluate.bind(plain);
    plain.evaluate = (x) => (plain.calls++, ev(x));
    await c.apply([a, plain]);
    await c.apply([a, plain]);
    expect(plain.calls).toBe(2);
    expect(a.calls).toBe(1);
    await c.stop();
  });

  it('evaluates again after a rejected update (the running arguments are not the evaluated ones)', async () => {
    const c = newController();
    const ok = counted('a', 1);
    await c.apply([ok]);
    const bad = counted('a', -1);
    const r = await c.apply([bad]);
    expect(r.diags.map((d) => d.message)).toStrictEqual(['test.counter.a: update failed, keeping previous arguments: step must be >= 0']);
    await c.apply([bad]);
    expect(bad.calls).toBe(2);
    expect(c.component('test.counter.a')!.health.state).toBe('unhealthy');
    await c.stop();
  });
});

