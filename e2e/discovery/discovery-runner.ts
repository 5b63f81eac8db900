/**
 * Runs a `discovery.kubernetes` component in the test process, as the controller would: its
 * exports and health are kept as they arrive, `update` and `stop` reach the running instance
 * (`update` rejects when the arguments do not parse, as the controller reports a bad update).
 * The discovery journeys drive it against the dev cluster's API server; `callApi` is their one
 * JSON request to that server.
 */
import winston from 'winston';
import { Registry } from 'prom-client';
import { argumentsSchema, component, type Exports } from '../../collector/src/component/discovery/kubernetes/kubernetes.js';
import type { HealthState } from '../../collector/src/runtime/component.js';

export type Target = Readonly<Record<string, string>>;

export interface RunningDiscovery {
  targets(): readonly Target[];
  health(): { state: HealthState; message: string };
  update(args: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** Starts component `id` with `base` merged under `args` (and under every later `update`). */
export function runDiscovery(id: string, dataPath: string, args: Record<string, unknown>, base: Record<string, unknown> = {}): RunningDiscovery {
  let exports: Exports = { targets: [] };
  let health: { state: HealthState; message: string } = { state: 'unknown', message: '' };
  const c = component.build(
    {
      id,
      logger: winston.createLogger({ silent: true }),
      registry: new Registry(),
      dataPath,
      onStateChange: (e) => (exports = e),
      setHealth: (state, message) => (health = { state, message }),
      getService: () => {
        throw new Error('no services');
      },
    },
    argumentsSchema.parse({ ...base, ...args }),
  ) as ReturnType<typeof component.build> & { run(s: AbortSignal): Promise<void>; update(a: unknown): Promise<void> };
  const ac = new AbortController();
  const done = c.run(ac.signal);
  return {
    targets: () => exports.targets,
    health: () => health,
    update: async (a) => c.update(argumentsSchema.parse({ ...base, ...a })),
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

/** A JSON request to the API server at `base` (PATCH as a merge patch); throws on a status of 300 or more, naming it. */
export async function callApi(base: string, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(base + p, {
    method,
    headers: { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
