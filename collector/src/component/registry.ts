/**
 * The registry of every component this collector ships (`all.ts`). Only entry points import it
 * (`cli`, the operator's config validator, tests); the runtime takes a registry as a parameter.
 * Components are imported when a configuration first names them (`ComponentRegistry.ensure`).
 */
import { ComponentRegistry } from '../runtime/registry.js';
import { COMPONENTS } from './all.js';

let defaultReg: ComponentRegistry | undefined;

/** Every component listed in `component/all.ts` (built once, shared; modules load on use). */
export function defaultRegistry(): ComponentRegistry {
  defaultReg ??= new ComponentRegistry(COMPONENTS);
  return defaultReg;
}
