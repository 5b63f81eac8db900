/**
 * Generates the `collectors.alloy.dev` CustomResourceDefinition from the zod types in
 * `api/v1alpha1`. zod's JSON Schema (draft 2020-12) is converted into a structural OpenAPI v3
 * schema as the API server requires: no `$schema`/`propertyNames`/`additionalProperties: false`,
 * int-or-string unions become `x-kubernetes-int-or-string`, the safe-integer bounds zod adds to
 * `z.int()` are dropped. The checked-in `crds/collectors.alloy.dev.yaml` must equal
 * `renderCrdYaml()`; `bin/operator crd > crds/collectors.alloy.dev.yaml` regenerates it.
 */
import { z } from 'zod';
import { stringify } from 'yaml';
import {
  API_VERSION,
  CollectorSpecSchema,
  CollectorStatusSchema,
  GROUP,
  KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from '../api/v1alpha1/collector-types.js';

export type JsonSchema = { [key: string]: unknown };

const SAFE_INT = Number.MAX_SAFE_INTEGER;

/** Converts one zod JSON Schema node (recursively) into a structural OpenAPI v3 schema node. */
export function toStructural(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  const anyOf = node['anyOf'];
  if (Array.isArray(anyOf)) {
    const types = new Set(anyOf.map((s: JsonSchema) => s['type']));
    if (types.size === 2 && types.has('integer') && types.has('string')) {
      if (typeof node['description'] === 'string') out['description'] = node['description'];
      out['x-kubernetes-int-or-string'] = true;
      return out;
    }
    throw new Error(`unsupported union in CRD schema (${JSON.stringify(anyOf)}): use one type or int-or-string`);
  }
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'propertyNames':
        break;
      case 'minimum':
      case 'maximum':
        if (Math.abs(value as number) !== SAFE_INT) out[key] = value;
        break;
      case 'properties':
        out[key] = Object.fromEntries(Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, toStructural(v)]));
        break;
      case 'items':
        out[key] = toStructural(value as JsonSchema);
        break;
      case 'additionalProperties': {
        const ap = value as JsonSchema | boolean;
        if (node['x-kubernetes-preserve-unknown-fields'] === true || ap === false) break;
        if (typeof ap === 'object' && Object.keys(ap).length > 0) out[key] = toStructural(ap);
        else throw new Error('additionalProperties of unknown values needs x-kubernetes-preserve-unknown-fields');
        break;
      }
      default:
        out[key] = value;
    }
  }
  return out;
}

export function schemaOf(schema: z.ZodType): JsonSchema {
  return toStructural(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as JsonSchema);
}

const conditionColumn = (name: string, type: string) => ({
  name,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
});

export function buildCrd(): JsonSchema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'alloy', 'app.kubernetes.io/component': 'operator' },
    },
    spec: {
      group: GROUP,
      names: { kind: KIND, listKind: `${KIND}List`, plural: PLURAL, singular: SINGULAR, shortNames: [...SHORT_NAMES] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              description: `${KIND} runs Grafana Alloy-compatible collectors as a StatefulSet managed by the alloy operator (${API_VERSION}).`,
              type: 'object',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: schemaOf(CollectorSpecSchema),
                status: schemaOf(CollectorStatusSchema),
              },
            },
          },
          subresources: {
            status: {},
            scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
          },
          additionalPrinterColumns: [
            { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
            { name: 'Ready-Replicas', type: 'integer', jsonPath: '.status.readyReplicas' },
            conditionColumn('Ready', 'Ready'),
            conditionColumn('Config-Valid', 'ConfigValid'),
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

export const CRD_HEADER = '# Generated from operator/src/api/v1alpha1/collector-types.ts by `bin/operator crd`. Do not edit.\n';

export function renderCrdYaml(): string {
  return CRD_HEADER + stringify(buildCrd(), { lineWidth: 0 });
}
