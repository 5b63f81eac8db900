import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { z } from 'zod';
import { buildCrd, renderCrdYaml, schemaOf, toStructural, type JsonSchema } from './crd-generator.js';

const CHECKED_IN = fileURLToPath(new URL('../../../crds/collectors.alloy.dev.yaml', import.meta.url));

/** Every node of a structural schema states a type, or is int-or-string / preserve-unknown-fields. */
function nonStructuralPaths(node: JsonSchema, path: string): string[] {
  const bad: string[] = [];
  if (node['type'] === undefined && node['x-kubernetes-int-or-string'] !== true) bad.push(`${path}: no type`);
  for (const k of ['anyOf', 'oneOf', 'allOf', '$ref', '$schema', 'propertyNames']) if (k in node) bad.push(`${path}: ${k}`);
  if (node['properties'] !== undefined && node['additionalProperties'] !== undefined) bad.push(`${path}: properties with additionalProperties`);
  for (const [k, v] of Object.entries((node['properties'] ?? {}) as Record<string, JsonSchema>)) bad.push(...nonStructuralPaths(v, `${path}.${k}`));
  if (node['items'] !== undefined) bad.push(...nonStructuralPaths(node['items'] as JsonSchema, `${path}[]`));
  if (typeof node['additionalProperties'] === 'object') bad.push(...nonStructuralPaths(node['additionalProperties'] as JsonSchema, `${path}{}`));
  return bad;
}

describe('CRD generation', () => {
  it('GIVEN the checked-in CRD WHEN compared with the zod types THEN they have not drifted', () => {
    const onDisk = readFileSync(CHECKED_IN, 'utf8');
    // On failure run: node dist/operator/src/main.js crd > crds/collectors.alloy.dev.yaml (or bin/operator crd).
    expect(onDisk).toBe(renderCrdYaml());
  });

  it('GIVEN the generated openAPIV3Schema THEN every node is structural', () => {
    const crd = parse(renderCrdYaml()) as JsonSchema;
    const version = ((crd['spec'] as JsonSchema)['versions'] as JsonSchema[])[0]!;
    const schema = (version['schema'] as JsonSchema)['openAPIV3Schema'] as JsonSchema;
    expect(nonStructuralPaths(schema, '')).toStrictEqual([]);
  });

  it('GIVEN an int-or-string union WHEN converted THEN it becomes x-kubernetes-int-or-string', () => {
    const out = schemaOf(z.object({ n: z.union([z.int(), z.string()]).meta({ description: 'd' }) }));
    expect(out['properties']).toStrictEqual({ n: { description: 'd', 'x-kubernetes-int-or-string': true } });
  });

  it('GIVEN z.int() THEN the safe-integer bounds are dropped but explicit bounds stay', () => {
    expect(schemaOf(z.int().min(0))).toStrictEqual({ type: 'integer', minimum: 0 });
  });

  it('GIVEN a union of unrelated types THEN conversion throws naming the union', () => {
    expect(() => toStructural({ anyOf: [{ type: 'boolean' }, { type: 'string' }] })).toThrow(/unsupported union/);
  });

  it('GIVEN the CRD THEN it has status and scale subresources and printer columns', () => {
    const version = ((buildCrd()['spec'] as JsonSchema)['versions'] as JsonSchema[])[0]!;
    expect(version['subresources']).toStrictEqual({
      status: {},
      scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
    expect((version['additionalPrinterColumns'] as JsonSchema[]).map((c) => c['name'])).toStrictEqual([
      'Replicas',
      'Ready-Replicas',
      'Ready',
      'Config-Valid',
      'Age',
    ]);
  });
});
