/**
 * `foreach` (experimental, as in Alloy): runs the `template` block once per item of `collection`,
 * with the item bound to the name given by `var`. Template components may use the exports of
 * components outside the block; nothing outside can use theirs.
 *
 *   foreach "targets" {
 *     collection = discovery.relabel.pods.output
 *     var        = "each"
 *     template {
 *       prometheus.scrape "one" { targets = [each]  forward_to = [...] }
 *     }
 *   }
 *
 * Each item runs in its own nested `Controller`, keyed by the item (or its `id` field; hashed
 * with `hash_string_id`): when the collection changes, items that stay keep their components
 * (updated only if their arguments changed), removed items stop, new items start. Inner metrics
 * are exposed only with `enable_metrics = true`, labelled `<foreach id>/<item key>/<inner id>`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Component, ComponentDefinition, ComponentOptions, DebugComponent, Health, HealthComponent, ServiceName } from './component.js';
import { Controller, leastHealthy } from './controller.js';
import type { Diagnostic } from './diagnostics.js';
import { loadModule, where, type ForeachSupport, type ForeachTemplate } from './module-loader.js';
import type { AnyDefinition } from './registry.js';

const schema = z.object({
  collection: z.array(z.unknown()),
  var: z.string(),
  id: z.string().default(''),
  enable_metrics: z.boolean().default(false),
  hash_string_id: z.boolean().default(false),
});

/** The template an instance runs; arguments compare it by content key, not identity. */
export class ForeachBody {
  constructor(readonly template: ForeachTemplate) {}
  equals(other: unknown): boolean {
    return other instanceof ForeachBody && other.template.key === this.template.key;
  }
}

interface ForeachArgs {
  readonly collection: readonly unknown[];
  readonly var: string;
  readonly id: string;
  readonly enable_metrics: boolean;
  readonly hash_string_id: boolean;
  readonly __template: ForeachBody;
  /** Exports and variables visible at the foreach block (plain data; compared by content). */
  readonly __vars: Readonly<Record<string, unknown>>;
}

const definition: ComponentDefinition<ForeachArgs, object> = {
  name: 'foreach',
  stability: 'experimental',
  args: z.custom<ForeachArgs>(() => true),
  exports: [],
  build: (opts, args) => ForeachInstance.create(opts, args),
};

export const foreachSupport: ForeachSupport = {
  definition: definition as unknown as AnyDefinition,
  schema: schema as unknown as ForeachSupport['schema'],
  wrapArgs: (decoded, template, vars) => ({ ...decoded, __template: new ForeachBody(template), __vars: vars }),
};

/** A key usable in ids and data paths: the item (or its id field) when safe and short, else a hash. */
export function itemKey(item: unknown, idField: string, hash: boolean): string {
  let raw: string;
  if (idField !== '' && typeof item === 'object' && item !== null && idField in item) raw = String((item as Record<string, unknown>)[idField]);
  else if (typeof item === 'string') raw = item;
  else raw = JSON.stringify(item) ?? String(item);
  const safe = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(raw);
  if (hash || !safe) return createHash('sha256').update(raw).digest('hex').slice(0, 16);
  return raw;
}

interface Item {
  value: unknown;
  readonly controller: Controller;
}

class ForeachInstance implements Component<ForeachArgs>, HealthComponent, DebugComponent {
  readonly #opts: ComponentOptions<object>;
  readonly #services = new Map<ServiceName, unknown>();
  readonly #items = new Map<string, Item>();
  #args: ForeachArgs;

  private constructor(opts: ComponentOptions<object>, args: ForeachArgs) {
    this.#opts = opts;
    this.#args = args;
    for (const s of ['http', 'cluster'] as const) {
      try {
        this.#services.set(s, opts.getService(s));
      } catch {
        // Not provided by this runtime.
      }
    }
  }

  static async create(opts: ComponentOptions<object>, args: ForeachArgs): Promise<ForeachInstance> {
    const inst = new ForeachInstance(opts, args);
    const err = await inst.#sync();
    if (err) {
      await inst.#stopAll();
      throw new Error(err);
    }
    return inst;
  }

  async #sync(): Promise<string | undefined> {
    const a = this.#args;
    const wanted = new Map<string, unknown>();
    a.collection.forEach((item, i) => {
      let key = itemKey(item, a.id, a.hash_string_id);
      if (wanted.has(key)) key = `${key}_${i}`;
      wanted.set(key, item);
    });
    await Promise.all(
      [...this.#items].filter(([k]) => !wanted.has(k)).map(async ([k, it]) => {
        this.#items.delete(k);
        await it.controller.stop();
      }),
    );
    const errors: string[] = [];
    const { template } = a.__template;
    for (const [key, value] of wanted) {
      let it = this.#items.get(key);
      if (!it) {
        it = {
          value,
          controller: new Controller({
            logger: this.#opts.logger,
            componentLogger: (id) => this.#opts.logger.child({ component_id: `${this.#opts.id}/${key}/${id}` }),
            storagePath: `${this.#opts.dataPath}/${key}`,
            services: this.#services,
            idPrefix: `${this.#opts.id}/${key}/`,
          }),
        };
        this.#items.set(key, it);
      }
      it.value = value;
      const diags: Diagnostic[] = [];
      const vars = a.__vars;
      const specs = loadModule(template.stmts, { ...template.scope, extraVars: () => ({ ...vars, [template.varName]: value }) }, diags);
      const bad = diags.filter((d) => d.severity === 'error');
      if (bad.length === 0) {
        const r = await it.controller.apply(specs);
        bad.push(...r.diags.filter((d) => d.severity === 'error'));
      }
      for (const d of bad) errors.push(`item ${key}: ${where(d)}: ${d.message}`);
    }
    return errors.length > 0 ? errors.join('; ') : undefined;
  }

  async #stopAll(): Promise<void> {
    const all = [...this.#items.values()];
    this.#items.clear();
    await Promise.all(all.map((it) => it.controller.stop()));
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!signal.aborted) await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
    await this.#stopAll();
  }

  async update(args: ForeachArgs): Promise<void> {
    this.#args = args;
    const err = await this.#sync();
    if (err) throw new Error(err);
  }

  currentHealth(): Health {
    const hs = [...this.#items.values()].flatMap((it) => it.controller.components().map((c) => c.health));
    return hs.length > 0 ? leastHealthy(...hs) : { state: 'healthy', message: 'no items', updatedAt: new Date() };
  }

  debugInfo(): unknown {
    return {
      items: [...this.#items].map(([key, it]) => ({
        key,
        components: it.controller.components().map((c) => ({ id: c.id, health: c.health.state, message: c.health.message })),
      })),
    };
  }

  childRegistries(): ReturnType<Controller['registries']> {
    if (!this.#args.enable_metrics) return [];
    return [...this.#items.values()].flatMap((it) => it.controller.registries());
  }
}
