/**
 * The registry of every component this collector ships (`all.ts`). Only entry points import it
 * (`cli`, the operator's config validator, tests); the runtime takes a registry as a parameter.
 */
import { ComponentRegistry, isDefinition } from '../runtime/registry.js';
import * as all from './all.js';

let defaultReg: ComponentRegistry | undefined;

/** Every component listed in `component/all.ts` (built once, shared). */
export function defaultRegistry(): ComponentRegistry {
  defaultReg ??= new ComponentRegistry(Object.values(all as Record<string, unknown>).filter(isDefinition));
  return defaultReg;
}
