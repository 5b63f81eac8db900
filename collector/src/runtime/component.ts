/**
 * The contract between the runtime and every component. A component lives in
 * `collector/src/component/<namespace>/<name>/` and exports one `ComponentDefinition`; the hand-kept
 * list in `collector/src/component/all.ts` registers them.
 *
 * Contracts:
 * - `build` runs once per component id. Before it returns, the component publishes its initial
 *   exports with `onStateChange` when it has any (e.g. a `receiver`), so dependents can evaluate.
 * - `run(signal)` is started once after build and resolves after `signal` is aborted and the
 *   component has stopped its work (flushed, closed listeners). It must not reject for runtime
 *   failures: those are reported with `setHealth` and the loop keeps going.
 * - `update(args)` is called concurrently with `run` whenever the evaluated arguments change
 *   (deep-compared by the runtime; unchanged arguments never cause a call). If it throws, the
 *   component keeps its previous arguments and exports and the runtime marks it unhealthy.
 * - Arguments arrive already decoded and validated by the definition's zod schema, defaults applied.
 * - A reload builds new components before it stops removed ones (so a failed reload changes
 *   nothing). A component renamed in a reload is built while the old one still runs: if `build`
 *   binds a port the old instance holds, the reload fails with that error. Components that must
 *   survive renames bind in `run` (reporting failures with `setHealth`) instead.
 */
import type { ZodType } from 'zod';
import type { Logger } from 'winston';
import type { Registry } from 'prom-client';

export type Stability = 'experimental' | 'public-preview' | 'generally-available';

/** Ordered from least to most stable; `--stability.level` admits components at or above it. */
export const STABILITY_ORDER: readonly Stability[] = ['experimental', 'public-preview', 'generally-available'];

export type HealthState = 'healthy' | 'unhealthy' | 'unknown' | 'exited';

export interface Health {
  readonly state: HealthState;
  readonly message: string;
  readonly updatedAt: Date;
}

/** Names of runtime-provided services a component may ask for. */
export type ServiceName = 'http' | 'cluster' | 'livedebugging';

export interface ComponentOptions<E extends object = object> {
  /** Full component id, e.g. `prometheus.remote_write.to_proxy`. */
  readonly id: string;
  readonly logger: Logger;
  /** Metrics registry; the runtime adds a `component_id` label when it exposes them. */
  readonly registry: Registry;
  /** `<--storage.path>/<id>`; the component creates it when it needs it. */
  readonly dataPath: string;
  /** Publish new exports. Dependents are re-evaluated when the exports changed. */
  onStateChange(exports: E): void;
  /** Report health; background loops call this instead of throwing. */
  setHealth(state: HealthState, message: string): void;
  /**
   * A runtime service; throws if the service does not exist. Types live in `runtime/services.ts`:
   * `getService<HttpService>('http')` (mount handlers under `/api/v0/component/<id>/`, the main
   * server's address, `dialAddress` for `alloy.internal:12345`), `getService<ClusterService>('cluster')`.
   */
  getService<T>(name: ServiceName): T;
}

export interface Component<A> {
  run(signal: AbortSignal): Promise<void>;
  update(args: A): Promise<void> | void;
}

/** Optional extension: components that compute their own health (checked by `/-/healthy`). */
export interface HealthComponent {
  currentHealth(): Health;
}

/** Optional extension: extra debug data for the UI/API (`/api/v0/web/components/{id}`). */
export interface DebugComponent {
  debugInfo(): unknown;
}

export interface ComponentDefinition<A = unknown, E extends object = object> {
  /** Config name, e.g. `prometheus.remote_write`. */
  readonly name: string;
  readonly stability: Stability;
  /** Schema of the decoded block body; use the helpers in `syntax/vm/schema.ts` for blocks, durations, secrets. */
  readonly args: ZodType<A>;
  /** Names of the exported fields, so `alloy validate` can check references without running anything. */
  readonly exports: readonly (keyof E & string)[];
  build(opts: ComponentOptions<E>, args: A): Component<A> | Promise<Component<A>>;
  /** Set for an upstream name this runtime cannot provide: why (every block of it is refused with this). */
  readonly unavailable?: string;
  /**
   * Whether the component publishes the data passing through it to the `livedebugging` service
   * (upstream's `component.LiveDebugging`); the UI offers its Live debugging page only then.
   */
  readonly liveDebugging?: boolean;
}
