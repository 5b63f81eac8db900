/**
 * Admission of a written object, as kube-apiserver's create/update path does before storage:
 * defaulting of built-in kinds, structural checks of custom resources against their schema,
 * unknown-field handling by `fieldValidation`, and semantic and update validation.
 */
import { checkCustomResource, crdCauses } from './crd.js';
import { applyDefaults } from './defaults.js';
import { badRequest, invalid, type StatusCause } from './errors.js';
import { unknownFieldPaths } from './known-fields.js';
import { nameOf } from './objects.js';
import { schemaCauses, semanticCauses, updateCauses } from './validation.js';
import type { JsonObject, KubeObject, ResourceType } from './types.js';

export interface AdmitOptions {
  readonly fieldValidation: 'Ignore' | 'Warn' | 'Strict';
  /** Warnings for the response (`Warning` headers); admission appends to it. */
  readonly warnings: string[];
}

/**
 * Defaulting, pruning and validation shared by create and update; throws 400/422. `crdSchema` is
 * the served version's schema for a custom resource (undefined for built-in kinds).
 */
export function admit(t: ResourceType, o: KubeObject, old: KubeObject | undefined, opts: AdmitOptions, crdSchema: JsonObject | undefined): void {
  if (!t.crdName) applyDefaults(o);
  const causes: StatusCause[] = [];
  let unknown: string[] = [];
  if (t.crdName) {
    const check = checkCustomResource(crdSchema, o, old);
    causes.push(...check.causes);
    unknown = check.unknown;
    opts.warnings.push(...check.warnings);
  } else {
    unknown = unknownFieldPaths(t, o);
    causes.push(...schemaCauses(t, o));
  }
  if (unknown.length > 0) {
    if (opts.fieldValidation === 'Strict') {
      const list = unknown.map((u) => `unknown field "${u}"`).join(', ');
      throw badRequest(`${t.kind} in version "${t.version}" cannot be handled as a ${t.kind}: strict decoding error: ${list}`);
    }
    if (opts.fieldValidation === 'Warn') for (const u of unknown) opts.warnings.push(`unknown field "${u}"`);
  }
  if (t.kind === 'CustomResourceDefinition') causes.push(...crdCauses(o));
  causes.push(...semanticCauses(t, o));
  if (old) causes.push(...updateCauses(t, old, o));
  if (causes.length > 0) throw invalid(t.kind, t.group, nameOf(o), causes);
}
